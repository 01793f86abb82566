-- The callbacks not (yet) delivered, newest first (issue 13): the dashboard's failed and pending lists and the
-- portal's read this instead of walking every delivered callback in `callbacks_created`. Small in steady state:
-- a callback leaves it when it succeeds.
CREATE INDEX callbacks_unsettled ON callbacks (created_at) WHERE state <> 'succeeded';
