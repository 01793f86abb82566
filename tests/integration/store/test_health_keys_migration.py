"""Migration 0021 gives callbacks their account's health key and moves host-wide endpoint health to the accounts'
endpoints that failed there, on both backends."""

from __future__ import annotations

import datetime as dt

from dlrhub import store
from dlrhub.core import models, urls
from tests.integration.store.test_endpoint_rekey import endpoint, execute

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
MIGRATION = "0021_endpoint_health_keys"
#: Its index on `callbacks.health_key`, applied after it.
FAILED_INDEX = "0022_callbacks_health_failed"
H, P, D = models.EndpointState.HEALTHY, models.EndpointState.PAUSED, models.EndpointState.DISABLED

INSERT_CALLBACK = """
INSERT INTO callbacks (id, event_id, account_id, dialect, order_key, seq, method, url, body, endpoint, state,
                       due_at, created_at, updated_at, last_outcome)
VALUES ($1, 'e', $2, 'native', $1, 1, 'POST', $3, $4, $5, $6, $7, $7, $7, $8)
"""
#: id -> (account, url, state, last outcome, updated at), stored before 0021 (host-wide health).
CALLBACKS = {
    # A's endpoint answered 410 and disabled the host; B's callbacks there were its victims (no attempt).
    "a1": ("acc_a", "http://gw.example/dr?id=1", "failed", "http_status", NOW),
    "b1": ("acc_b", "http://gw.example/another", "pending", None, NOW - MIN),
    "b2": ("acc_b", "http://gw.example/dr?id=2", "cancelled", None, NOW),
    # C's endpoint failed until its host was paused; an old failure of C's elsewhere on it predates the streak.
    "c1": ("acc_c", "http://slow.example/p", "pending", "timeout", NOW - MIN),
    "c0": ("acc_c", "http://slow.example/old", "failed", "timeout", NOW - 10 * 24 * 60 * MIN),
    "d1": ("acc_d", "http://ok.example/x", "succeeded", "ok", NOW),
}


async def unmigrate(db: store.Store) -> None:
    """Put the schema back as it was before 0021 (its column and the indexes on it gone), keeping the rows."""
    await execute(db, "DROP INDEX callbacks_health_failed")
    await execute(db, "DROP INDEX callbacks_health")
    await execute(db, "ALTER TABLE callbacks DROP COLUMN health_key")
    await execute(db, "CREATE INDEX callbacks_endpoint ON callbacks (endpoint) WHERE state = 'pending'")
    await execute(db, "DELETE FROM schema_migrations WHERE name = $1 OR name = $2", MIGRATION, FAILED_INDEX)


async def test_migration_keys_callbacks_and_gives_host_health_to_the_endpoints_that_failed(db: store.Store):
    await unmigrate(db)
    for cid, (account, url, state, outcome, at) in CALLBACKS.items():
        await execute(
            db, INSERT_CALLBACK, cid, account, url, b"{}", urls.endpoint_key(url), state, at, outcome
        )
    await db.put_endpoints(
        [
            endpoint("http://gw.example:80", D, 0, updated_at=NOW - 2 * MIN),
            endpoint("http://slow.example:80", P, 20, failing_since=NOW - 30 * MIN, paused_until=NOW + MIN),
            endpoint("http://fine.example:80", H, 2, failing_since=NOW - MIN),
        ]
    )

    assert await db.migrate() == [MIGRATION, FAILED_INDEX]

    keys = {r[0]: r[1] for r in await execute(db, "SELECT id, health_key FROM callbacks")}
    assert keys == {
        "a1": "acc_a:http://gw.example:80/dr",
        "b1": "acc_b:http://gw.example:80/another",
        "b2": "",  # finished, never attempted: no key needed (the API derives one)
        "c1": "acc_c:http://slow.example:80/p",
        "c0": "acc_c:http://slow.example:80/old",
        "d1": "",
    }
    assert {e.endpoint: e for e in await db.list_endpoints()} == {
        "acc_a:http://gw.example:80/dr": endpoint(
            "acc_a:http://gw.example:80/dr", D, 0, updated_at=NOW - 2 * MIN
        ),
        "acc_c:http://slow.example:80/p": endpoint(
            "acc_c:http://slow.example:80/p", P, 20, failing_since=NOW - 30 * MIN, paused_until=NOW + MIN
        ),
    }
    # B's pending callback on the disabled host is its own endpoint's, healthy: cancelling A's leaves it be.
    assert await db.cancel_endpoint_callbacks("acc_a:http://gw.example:80/dr", NOW) == 0
    assert await db.cancel_endpoint_callbacks("acc_b:http://gw.example:80/another", NOW) == 1
    assert await db.migrate() == []
