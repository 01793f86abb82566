-- An endpoint's recent failures (issue 13, the dashboard's endpoints page): the callbacks to one account's
-- endpoint (`callbacks.health_key`, 0021) whose last attempt failed, newest first. Partial, so the many delivered
-- callbacks cost it nothing.
CREATE INDEX callbacks_health_failed ON callbacks (health_key, updated_at) WHERE last_outcome <> 'ok';
