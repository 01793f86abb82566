-- Endpoint health per account's endpoint (issue 15): a pause, a disable or a 410 belongs to one account's URL
-- (`urls.health_key`: `account_id:scheme://host:port/path`), not to every account sending to that host. The
-- connection cap stays per host (`endpoint`). The prelude (store/migrations/__init__.py) fills migration_map
-- (old = a URL, new = its `urls.health_target`) for the callbacks that are pending or whose last attempt failed.
ALTER TABLE callbacks ADD COLUMN health_key text NOT NULL DEFAULT '';

UPDATE callbacks SET health_key = callbacks.account_id || ':' || m.new
FROM migration_map m WHERE m.old = callbacks.url;

-- Pausing or cancelling one account's endpoint reads its pending callbacks by health key; the host-wide index
-- only served that.
DROP INDEX callbacks_endpoint;
CREATE INDEX callbacks_health ON callbacks (health_key) WHERE state = 'pending';

-- A stored row judged a whole host, maybe on another account's answers. Each paused or disabled one goes to the
-- health keys of the callbacks whose last attempt there failed during its failing streak (the endpoints that
-- failed); other accounts and paths on that host start healthy, and healthy rows go.
CREATE TEMP TABLE endpoint_rows AS
SELECT DISTINCT c.health_key, e.state, e.consecutive_failures, e.failing_since, e.paused_until, e.updated_at
FROM endpoints e JOIN callbacks c ON c.endpoint = e.endpoint
WHERE e.state <> 'healthy' AND c.health_key <> '' AND c.last_outcome IS NOT NULL AND c.last_outcome <> 'ok'
  AND c.updated_at >= coalesce(e.failing_since, e.updated_at);

DELETE FROM endpoints;

INSERT INTO endpoints (endpoint, state, consecutive_failures, failing_since, paused_until, updated_at)
SELECT health_key, state, consecutive_failures, failing_since, paused_until, updated_at FROM endpoint_rows;

DROP TABLE endpoint_rows;
DROP TABLE migration_map;
