-- A destination's recent failures (issue 13, the dashboard's endpoints page): its callbacks whose last attempt
-- failed, newest first. Partial, so the many delivered callbacks cost it nothing.
CREATE INDEX callbacks_endpoint_failed ON callbacks (endpoint, updated_at) WHERE last_outcome <> 'ok';
