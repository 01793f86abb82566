-- Attempts partitioned by UTC day of `started_at` (docs/adr/0009): retention drops a whole day's partition instead
-- of deleting its rows in chunks. The old table is not copied: it becomes the partition `attempts_legacy`, for every
-- time up to the end of the migration's day (attaching it checks its rows against that bound, one read of the
-- table, under the lock this transaction already holds). The pruner keeps deleting its old rows in chunks, and
-- drops it once it is past retention as a whole. The next seven days get a partition each now; the pruner keeps
-- creating them a week ahead; `attempts_default` takes any row no partition covers, so an insert never fails.
--
-- A partitioned table's primary key must hold the partition key: it becomes (id, started_at). `id` stays unique
-- on its own: every id comes from the one sequence `attempts_id_seq`, and nothing writes an id of its own.
ALTER TABLE attempts RENAME TO attempts_legacy;
ALTER TABLE attempts_legacy DROP CONSTRAINT attempts_pkey;
ALTER INDEX attempts_callback RENAME TO attempts_legacy_callback;
ALTER INDEX attempts_started_outcome RENAME TO attempts_legacy_started_outcome;
CREATE TABLE attempts (
    id          bigint NOT NULL DEFAULT nextval('attempts_id_seq'),
    callback_id text NOT NULL,
    number      integer NOT NULL,
    started_at  timestamptz NOT NULL,
    duration_ms double precision NOT NULL,
    outcome     text NOT NULL,
    status_code integer,
    response    text NOT NULL DEFAULT '',
    error       text NOT NULL DEFAULT '',
    retry_after_s double precision,
    PRIMARY KEY (id, started_at)
) PARTITION BY RANGE (started_at);
-- The sequence goes with the new table, so dropping `attempts_legacy` later does not drop it.
ALTER SEQUENCE attempts_id_seq OWNED BY attempts.id;
ALTER TABLE attempts_legacy ALTER COLUMN id DROP DEFAULT;
-- Attaching the old table adopts its two indexes as partitions of these (same definitions, no rebuild); its old key
-- on `id` alone went first, and attaching builds its part of the new key.
CREATE INDEX attempts_callback ON attempts (callback_id, number);
CREATE INDEX attempts_started_outcome ON attempts (started_at, outcome);
DO $$
DECLARE
    today timestamptz := date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    day timestamptz;
BEGIN
    EXECUTE format('ALTER TABLE attempts ATTACH PARTITION attempts_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
                   today + interval '1 day');
    FOR i IN 1..7 LOOP
        day := today + make_interval(days => i);
        EXECUTE format('CREATE TABLE %I PARTITION OF attempts FOR VALUES FROM (%L) TO (%L)',
                       'attempts_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD'), day, day + interval '1 day');
    END LOOP;
END
$$;
CREATE TABLE attempts_default PARTITION OF attempts DEFAULT;
