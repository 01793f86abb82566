-- `callbacks_created` without `state` (issue 16): a callback's end (pending to succeeded, failed or cancelled)
-- changed the key, so every recorded attempt moved the row's entry in this index too (about a third of recording
-- a finished callback's CPU on SQLite). The pruner's walk and the lists' date ranges read `created_at` alone from
-- it; the state is checked on the row, which they read anyway.
DROP INDEX callbacks_created;
CREATE INDEX callbacks_created ON callbacks (created_at);
