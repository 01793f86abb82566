-- Retention: the indexes the pruner's chunked deletes walk, oldest first, so that no delete scans a table.
-- (callbacks_created and events_message/events_journey already serve callbacks and events.)
-- IF NOT EXISTS: on a large database an operator may build them first with CREATE INDEX CONCURRENTLY (same names),
-- so that this migration does not hold writes back while it builds them (docs/howto/operate.md).
CREATE INDEX IF NOT EXISTS attempts_started ON attempts (started_at);
CREATE INDEX IF NOT EXISTS messages_created ON messages (created_at);
CREATE INDEX IF NOT EXISTS messages_journey ON messages (journey_id) WHERE journey_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS journeys_created ON journeys (created_at);
CREATE INDEX IF NOT EXISTS request_ids_created ON request_ids (created_at);
CREATE INDEX IF NOT EXISTS orphan_receipts_received ON orphan_receipts (received_at);
CREATE INDEX IF NOT EXISTS audit_log_at ON audit_log (at);
