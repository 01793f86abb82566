"""Migration 0002 re-keys endpoints stored before the one endpoint key, on both backends."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dlrhub import store
from dlrhub.core import models
from dlrhub.store.sqlite import core as sqlite_core

NOW = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
MIGRATION = "0002_endpoint_keys"

INSERT_CALLBACK = """
INSERT INTO callbacks (id, event_id, account_id, dialect, order_key, seq, method, url, body, endpoint, state,
                       due_at, created_at, updated_at)
VALUES ($1, 'e', 'a', 'native', 'm', 1, 'POST', $2, $3, $4, 'pending', $5, $5, $5)
"""

#: url -> (the key planning stored before 0002, the key it stores now).
CALLBACKS = {
    "http://Example.COM./cb": ("http://example.com.:80", "http://example.com:80"),
    "https://bücher.example/cb": ("https://bücher.example:443", "https://xn--bcher-kva.example:443"),
    "http://[0:0:0:0:0:0:0:1]:8080/": ("http://0:0:0:0:0:0:0:1:8080", "http://[::1]:8080"),
    "http://[::ffff:1.2.3.4]/": ("http://::ffff:1.2.3.4:80", "http://[::ffff:1.2.3.4]:80"),
    "https://ok.example/": ("https://ok.example:443", "https://ok.example:443"),
}


async def execute(db: store.Store, sql: str, *args: Any) -> list[Any]:
    """Run `sql` (PostgreSQL placeholders) on either backend, around the store's interface."""
    if isinstance(db, sqlite_core.SqliteCore):
        params = tuple(a.timestamp() if isinstance(a, dt.datetime) else a for a in args)
        return await db._tx(lambda conn: conn.execute(re.sub(r"\$(\d+)", r"?\1", sql), params).fetchall())
    return list(await (await db.pool()).fetch(sql, *args))  # type: ignore[attr-defined]


def endpoint(
    key: str, state: models.EndpointState, failures: int, **times: dt.datetime | None
) -> models.Endpoint:
    return models.Endpoint(
        endpoint=key,
        state=state,
        consecutive_failures=failures,
        failing_since=times.get("failing_since"),
        paused_until=times.get("paused_until"),
        updated_at=times.get("updated_at") or NOW,
    )


async def test_migration_rekeys_callbacks_and_merges_endpoints(db: store.Store) -> None:
    for n, (url, (old, _new)) in enumerate(CALLBACKS.items()):
        await execute(db, INSERT_CALLBACK, f"cb{n}", url, b"{}", old, NOW)
    H, P, D = models.EndpointState.HEALTHY, models.EndpointState.PAUSED, models.EndpointState.DISABLED
    await db.put_endpoints(
        [
            # One destination under two old keys: merged into the worst.
            endpoint("http://example.com.:80", P, 5, failing_since=NOW - 120 * MIN, paused_until=NOW + MIN),
            endpoint("http://example.com:80", H, 3, failing_since=NOW - 60 * MIN, updated_at=NOW + MIN),
            # Two spellings of one IPv4-mapped address, both disabled: the later update wins.
            endpoint("http://::ffff:102:304:80", D, 1, updated_at=NOW - MIN),
            endpoint("http://::ffff:1.2.3.4:80", D, 2, failing_since=NOW - 9 * MIN),
            # Re-keyed alone, or not at all: unchanged but for the key.
            endpoint("https://bücher.example:443", D, 7, failing_since=NOW - 5 * MIN),
            endpoint("http://0:0:0:0:0:0:0:1:8080", H, 2, failing_since=NOW - 3 * MIN),
            endpoint(
                "https://ok.example:443", P, 20, failing_since=NOW - 30 * MIN, paused_until=NOW + 2 * MIN
            ),
        ]
    )
    await execute(db, "DELETE FROM schema_migrations WHERE name = $1", MIGRATION)

    assert await db.migrate() == [MIGRATION]

    found = await execute(db, "SELECT url, endpoint FROM callbacks")
    assert {r[0]: r[1] for r in found} == {url: new for url, (_old, new) in CALLBACKS.items()}
    assert {e.endpoint: e for e in await db.list_endpoints()} == {
        e.endpoint: e
        for e in [
            endpoint("http://example.com:80", P, 8, failing_since=NOW - 120 * MIN, paused_until=NOW + MIN),
            endpoint("http://[::ffff:1.2.3.4]:80", D, 3, failing_since=NOW - 9 * MIN),
            endpoint("https://xn--bcher-kva.example:443", D, 7, failing_since=NOW - 5 * MIN),
            endpoint("http://[::1]:8080", H, 2, failing_since=NOW - 3 * MIN),
            endpoint(
                "https://ok.example:443", P, 20, failing_since=NOW - 30 * MIN, paused_until=NOW + 2 * MIN
            ),
        ]
    }
    # The temporary tables are gone, and a second run finds nothing to do.
    assert await db.migrate() == []
    await execute(db, "DELETE FROM schema_migrations WHERE name = $1", MIGRATION)
    assert await db.migrate() == [MIGRATION]
    assert len(await db.list_endpoints()) == 5
