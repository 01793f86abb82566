-- The reconciliation feed (docs/adr/0006): every event row names its account, the transaction that wrote it and a
-- position. A position is handed out before its transaction commits, so positions commit out of order; the feed
-- reads in (xact, pos) order and only rows whose transaction is older than every running one
-- (pg_snapshot_xmin), which can no longer be joined by a row sorting before them.
ALTER TABLE events ADD COLUMN account_id text;
-- Rows stored before this migration sort first (transaction id 0), by position.
ALTER TABLE events ADD COLUMN xact xid8 NOT NULL DEFAULT '0';
ALTER TABLE events ALTER COLUMN xact SET DEFAULT pg_current_xact_id();
ALTER TABLE events ADD COLUMN pos bigserial;
UPDATE events e SET account_id = m.account_id FROM messages m WHERE m.id = e.message_id;
UPDATE events e SET account_id = j.account_id FROM journeys j
 WHERE e.account_id IS NULL AND j.journey_id = e.journey_id;
CREATE INDEX events_feed ON events (account_id, xact, pos) WHERE applied;
-- An account's callbacks not (yet) delivered, oldest first: GET /v1/callbacks/undelivered.
CREATE INDEX callbacks_undelivered ON callbacks (account_id, created_at, id) WHERE state <> 'succeeded';
