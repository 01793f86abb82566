-- `callbacks_created` without `state` (issue 16): a callback's end (pending to succeeded, failed or cancelled)
-- changed the key, so recording each finished callback moved its entry in this index too (about a sixth of the
-- recording's CPU per row in a microbenchmark). The pruner's walk and the lists' date ranges read `created_at`
-- alone from it; the state is checked on the row, which they read anyway. PostgreSQL keeps the index as it was
-- (its 0026 says why).
DROP INDEX callbacks_created;
CREATE INDEX callbacks_created ON callbacks (created_at);
