-- The dashboard's overview (issue 13) reads the last hour by time ranges, each over an index that answers it alone:
-- * callbacks delivered per minute: attempts by `started_at` with their `outcome` (an index-only scan); it replaces
--   `attempts_started`, whose walks (retention) it serves as well;
-- * callbacks given up or cancelled per minute: a partial index on the few callbacks in those states;
-- * Zalo sends by result: the messages that went to the Zalo channel, by creation time (a partial index, so a
--   range never walks the other dialects' messages).
-- IF NOT EXISTS: on a large database an operator may build them first with CREATE INDEX CONCURRENTLY (same names),
-- so that this migration does not hold writes back while it builds them (docs/howto/operate.md).
CREATE INDEX IF NOT EXISTS attempts_started_outcome ON attempts (started_at, outcome);
DROP INDEX IF EXISTS attempts_started;
CREATE INDEX IF NOT EXISTS callbacks_finished_badly ON callbacks (updated_at) WHERE state IN ('failed', 'cancelled');
CREATE INDEX IF NOT EXISTS messages_channel_created ON messages (created_at) WHERE channel_state <> 'none';
