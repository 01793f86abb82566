-- One index where the message search had two (issue 16, item 5): `messages_state (state, created_at, id)` and
-- `messages_dialect (dialect, created_at, id)` were each written by every send, and only the search reads them.
-- `(state, dialect, created_at, id)` serves a state, a dialect or both, one walk per (state, dialect) pair merged
-- (store/message_search.py), so a send writes one entry where it wrote two.
-- IF NOT EXISTS: on a large database an operator may build it first with CREATE INDEX CONCURRENTLY (same name),
-- so that this migration does not hold writes back while it builds it (docs/howto/operate.md).
CREATE INDEX IF NOT EXISTS messages_state_dialect ON messages (state, dialect, created_at, id);
DROP INDEX IF EXISTS messages_state;
DROP INDEX IF EXISTS messages_dialect;
-- No query reads messages by `tracking_id` (a Zalo receipt's tracking id is dlrhub's message id, read by the
-- primary key), so its partial index only cost the sends that carry one.
DROP INDEX IF EXISTS messages_tracking_id;
