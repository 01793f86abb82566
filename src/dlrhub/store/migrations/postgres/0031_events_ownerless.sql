-- Events that belong to nothing kept are pruned by age (store/postgres/retention.py, DELETE_OWNERLESS_EVENTS). An
-- event with no message (`message_id` NULL: a journey's time-out, or an event stored with no owner at all) whose
-- journey is not stored is kept by nothing; in a day's partition it goes with its day, but in `events_default`
-- (a day with no partition of its own) nothing took it. This partial index walks those rows oldest first; only
-- events without a message have an entry, so a message's events (nearly all) cost it nothing. It is built on every
-- partition (only the default's is read): a read of each, under a lock that holds their writes back meanwhile.
-- IF NOT EXISTS: on a large database an operator may build it first, partition by partition, without holding
-- writes back (docs/howto/operate.md).
CREATE INDEX IF NOT EXISTS events_ownerless ON events (recorded_at) WHERE message_id IS NULL;
