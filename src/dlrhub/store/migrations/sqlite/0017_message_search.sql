-- The message search (store/message_search.py): one index per filter, each ending in (created_at, id), the order
-- of a page and its keyset; what each costs a write is written there. The two new (created_at, id) indexes replace
-- the (created_at) and (account_id, created_at) ones, which they serve as well (retention, eSMS reads).
-- IF NOT EXISTS: on a large database an operator may build them first with CREATE INDEX CONCURRENTLY (same names),
-- so that this migration does not hold writes back while it builds them (docs/howto/operate.md).
CREATE INDEX IF NOT EXISTS messages_created_id ON messages (created_at, id);
DROP INDEX IF EXISTS messages_created;
CREATE INDEX IF NOT EXISTS messages_account_created_id ON messages (account_id, created_at, id);
DROP INDEX IF EXISTS messages_account_created;
CREATE INDEX IF NOT EXISTS messages_recipient ON messages (recipient, created_at, id);
CREATE INDEX IF NOT EXISTS messages_request_id ON messages (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_state ON messages (state, created_at, id);
CREATE INDEX IF NOT EXISTS messages_dialect ON messages (dialect, created_at, id);
