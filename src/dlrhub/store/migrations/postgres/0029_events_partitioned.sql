-- Events partitioned by UTC day of `recorded_at` (docs/adr/0009), as 0025 did for attempts: retention drops a whole
-- day's partition (keeping the few rows whose message or journey is still kept) instead of deleting its rows in
-- chunks with their messages. The old table is not copied: it becomes the partition `events_legacy`, for every time
-- up to the end of the migration's day (attaching it checks its rows against that bound, one read of the table,
-- under the lock this transaction already holds). The next seven days get a partition each now; the pruner keeps
-- creating them a week ahead; `events_default` takes any row no partition covers, so an insert never fails.
--
-- A partitioned table's primary key must hold the partition key: it becomes (id, recorded_at). An event id stays
-- unique for its message or journey: `apply_event` looks it up under that row's lock before it inserts, and under
-- an advisory lock on the id for an event that has neither (docs/adr/0009).
ALTER TABLE events RENAME TO events_legacy;
ALTER TABLE events_legacy DROP CONSTRAINT events_pkey;
ALTER INDEX events_message RENAME TO events_legacy_message;
ALTER INDEX events_journey RENAME TO events_legacy_journey;
ALTER INDEX events_feed RENAME TO events_legacy_feed;
CREATE TABLE events (
    id          text NOT NULL,
    message_id  text,
    journey_id  text,
    seq         integer NOT NULL,
    kind        text NOT NULL,
    code        integer,
    text        text,
    zalo_res    jsonb,
    raw         jsonb,
    applied     boolean NOT NULL,
    occurred_at timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL,
    account_id  text,
    xact        xid8 NOT NULL DEFAULT pg_current_xact_id(),
    pos         bigint NOT NULL DEFAULT nextval('events_pos_seq'),
    PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);
-- The sequence goes with the new table, so dropping `events_legacy` later does not drop it.
ALTER SEQUENCE events_pos_seq OWNED BY events.pos;
ALTER TABLE events_legacy ALTER COLUMN pos DROP DEFAULT;
-- Attaching the old table adopts its three indexes as partitions of these (same definitions, no rebuild); its old
-- key on `id` alone went first, and attaching builds its part of the new key.
CREATE INDEX events_message ON events (message_id, seq);
CREATE INDEX events_journey ON events (journey_id) WHERE journey_id IS NOT NULL;
CREATE INDEX events_feed ON events (account_id, xact, pos) WHERE applied;
DO $$
DECLARE
    today timestamptz := date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    day timestamptz;
BEGIN
    EXECUTE format('ALTER TABLE events ATTACH PARTITION events_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
                   today + interval '1 day');
    FOR i IN 1..7 LOOP
        day := today + make_interval(days => i);
        EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
                       'events_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD'), day, day + interval '1 day');
    END LOOP;
END
$$;
CREATE TABLE events_default PARTITION OF events DEFAULT;
