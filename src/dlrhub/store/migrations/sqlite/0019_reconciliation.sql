-- The reconciliation feed (docs/adr/0006): every event row names its account, and a position that never goes back
-- nor is reused (AUTOINCREMENT: pruning the newest rows cannot hand their numbers out again). SQLite commits one
-- writer at a time, so position order is commit order; `xact` stays 0 here (PostgreSQL's transaction id).
CREATE TABLE events_new (
    pos         integer PRIMARY KEY AUTOINCREMENT,
    id          text NOT NULL UNIQUE,
    account_id  text,
    xact        integer NOT NULL DEFAULT 0,
    message_id  text,
    journey_id  text,
    seq         integer NOT NULL,
    kind        text NOT NULL,
    code        integer,
    text        text,
    zalo_res    text,
    raw         text,
    applied     integer NOT NULL,
    occurred_at real NOT NULL,
    recorded_at real NOT NULL
);
INSERT INTO events_new (id, account_id, message_id, journey_id, seq, kind, code, text, zalo_res, raw, applied,
                        occurred_at, recorded_at)
SELECT e.id,
       COALESCE((SELECT m.account_id FROM messages m WHERE m.id = e.message_id),
                (SELECT j.account_id FROM journeys j WHERE j.journey_id = e.journey_id)),
       e.message_id, e.journey_id, e.seq, e.kind, e.code, e.text, e.zalo_res, e.raw, e.applied, e.occurred_at,
       e.recorded_at
FROM events e ORDER BY e.recorded_at, e.id;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_message ON events (message_id, seq);
CREATE INDEX events_journey ON events (journey_id) WHERE journey_id IS NOT NULL;
CREATE INDEX events_feed ON events (account_id, pos) WHERE applied = 1;
-- An account's callbacks not (yet) delivered, oldest first: GET /v1/callbacks/undelivered.
CREATE INDEX callbacks_undelivered ON callbacks (account_id, created_at, id) WHERE state <> 'succeeded';
