-- SQLite only (issue 16): there `callbacks_created` loses `state`, since a callback's end moved its entry and
-- that was a sixth of recording a finished callback's CPU. PostgreSQL writes a new entry in every index of a row
-- whose indexed columns change (the partial indexes on `state` already rule out a HOT update), so dropping the
-- column gains nothing here, and rebuilding the index would lock `callbacks` for the build: nothing changes.
SELECT 1;
