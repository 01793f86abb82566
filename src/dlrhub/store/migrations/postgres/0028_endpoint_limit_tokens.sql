-- Rate limits shared by every dispatcher (ADR 0008): each limited destination's token bucket lives in its row.
-- `tokens` is what was left at `tokens_at` (seconds since the epoch); NULL is a full bucket. Dispatchers lease a
-- few tokens at a time from it in one `UPDATE ... RETURNING` (`take_endpoint_tokens`).
ALTER TABLE endpoint_limits ADD COLUMN tokens double precision;
ALTER TABLE endpoint_limits ADD COLUMN tokens_at double precision;
