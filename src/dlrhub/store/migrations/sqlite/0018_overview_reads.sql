-- The dashboard's overview (issue 13) reads the last hour by time ranges, each over an index that answers it alone:
-- * callbacks delivered per minute: attempts by `started_at` with their `outcome` (the index covers both, so the
--   count never reads the table); it replaces `attempts_started`, whose walks (retention) it serves as well;
-- * callbacks given up or cancelled per minute: a partial index on the few callbacks in those states;
-- * Zalo sends by result: the messages that went to the Zalo channel, by creation time (a partial index, so a
--   range never walks the other dialects' messages).
CREATE INDEX attempts_started_outcome ON attempts (started_at, outcome);
DROP INDEX attempts_started;
CREATE INDEX callbacks_finished_badly ON callbacks (updated_at) WHERE state IN ('failed', 'cancelled');
CREATE INDEX messages_channel_created ON messages (created_at) WHERE channel_state <> 'none';
