-- Events that belong to nothing kept are pruned by age (store/sqlite/retention.py, DELETE_OWNERLESS_EVENTS): an
-- event with no message (`message_id` NULL: a journey's time-out, or an event stored with no owner at all) whose
-- journey is not stored was never deleted, as nothing it belongs to is. This partial index walks those rows oldest
-- first; only events without a message have an entry, so a message's events (nearly all) cost it nothing.
CREATE INDEX IF NOT EXISTS events_ownerless ON events (recorded_at) WHERE message_id IS NULL;
