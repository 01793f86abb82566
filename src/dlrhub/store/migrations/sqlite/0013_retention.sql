-- Retention: the indexes the pruner's chunked deletes walk, oldest first, so that no delete scans a table.
-- (callbacks_created and events_message/events_journey already serve callbacks and events.)
CREATE INDEX attempts_started ON attempts (started_at);
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX messages_journey ON messages (journey_id) WHERE journey_id IS NOT NULL;
CREATE INDEX journeys_created ON journeys (created_at);
CREATE INDEX request_ids_created ON request_ids (created_at);
CREATE INDEX orphan_receipts_received ON orphan_receipts (received_at);
CREATE INDEX audit_log_at ON audit_log (at);
