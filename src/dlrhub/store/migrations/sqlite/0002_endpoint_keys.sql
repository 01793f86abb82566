-- Re-key stored endpoints to `urls.endpoint_key` (issue 10): no trailing dot, non-ASCII hosts in punycode, IPv6
-- hosts bracketed and canonical. SQL cannot do IDNA, so the migration's prelude (store/migrations/__init__.py)
-- first fills the temporary table migration_map (old, new) with every stored key that changes.

-- A callback takes its endpoint's new key.
UPDATE callbacks SET endpoint = (SELECT new FROM migration_map WHERE old = callbacks.endpoint)
WHERE endpoint IN (SELECT old FROM migration_map);

-- Endpoint rows whose keys now collide (`http://example.com.:80` and `http://example.com:80`) were one destination
-- and become one row, the worst of them: state, pause and updated_at from the worst row (disabled, then paused,
-- then healthy, the latest updated among equals, so a pause keeps its length), failures summed (each counted
-- failures of the same destination), failing since the earliest. A re-keyed row that collides with nothing
-- moves to its new key unchanged.
CREATE TEMP TABLE endpoint_rows AS
SELECT coalesce(m.new, e.endpoint) AS new_key, e.endpoint, e.state, e.consecutive_failures, e.failing_since,
       e.paused_until, e.updated_at,
       CASE e.state WHEN 'disabled' THEN 2 WHEN 'paused' THEN 1 ELSE 0 END AS badness
FROM endpoints e LEFT JOIN migration_map m ON m.old = e.endpoint
WHERE coalesce(m.new, e.endpoint) IN (SELECT new FROM migration_map);

DELETE FROM endpoints WHERE endpoint IN (SELECT endpoint FROM endpoint_rows);

INSERT INTO endpoints (endpoint, state, consecutive_failures, failing_since, paused_until, updated_at)
SELECT w.new_key, w.state, t.failures, t.since, w.paused_until, w.updated_at
FROM (
    SELECT new_key, sum(consecutive_failures) AS failures, min(failing_since) AS since
    FROM endpoint_rows GROUP BY new_key
) t
JOIN (
    SELECT new_key, state, paused_until, updated_at,
           row_number() OVER (PARTITION BY new_key ORDER BY badness DESC, updated_at DESC, endpoint) AS n
    FROM endpoint_rows
) w ON w.new_key = t.new_key AND w.n = 1;

DROP TABLE endpoint_rows;
DROP TABLE migration_map;
