-- The W3C traceparent a trace continues from across the outbox (tracing on); NULL: not traced.
ALTER TABLE messages ADD COLUMN traceparent text;
ALTER TABLE callbacks ADD COLUMN traceparent text;
