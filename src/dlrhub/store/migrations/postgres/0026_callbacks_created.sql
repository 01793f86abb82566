-- `callbacks_created` without `state` (issue 16), as on SQLite, where a callback's end moved its entry in this
-- index. The pruner's walk and the lists' date ranges read `created_at` alone from it; the state is checked on the
-- row, which they read anyway. (PostgreSQL writes a new entry in every index for such an update either way.)
DROP INDEX callbacks_created;
CREATE INDEX callbacks_created ON callbacks (created_at);
