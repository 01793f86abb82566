"""The audit log on each backend: entries appended with the caller's actor, listed newest first with filters and a
cursor, and credential-named details never written."""

from __future__ import annotations

import datetime as dt

import orjson

from dlrhub import store
from dlrhub.services import audit
from tests import customers


async def test_entries_filter_and_page(db: store.Store) -> None:
    made = await customers.in_process(db)
    try:
        hub = made.hub
        for n in range(5):
            await audit.record(hub, "cli:ops", action="account.lock", target=f"acc_{n % 2}", details={"n": n})
        await audit.record(hub, "bootstrap", action="account.unlock", target="acc_0")

        newest = await audit.entries(hub, store.AuditFilter())
        assert [e.action for e in newest][:1] == ["account.unlock"]
        assert [e.id for e in newest] == sorted((e.id for e in newest), reverse=True)

        by_target = await audit.entries(hub, store.AuditFilter(target="acc_1", actor="cli:ops"))
        assert [e.details["n"] for e in by_target] == [3, 1]

        first = await audit.entries(hub, store.AuditFilter(action="account.lock", limit=2))
        rest = await audit.entries(hub, store.AuditFilter(action="account.lock", before_id=first[-1].id))
        assert [e.details["n"] for e in first + rest] == [4, 3, 2, 1, 0]

        later = hub.clock() + dt.timedelta(seconds=1)
        assert await audit.entries(hub, store.AuditFilter(since=later)) == []
        # The six above, and the customer's own `account.create`.
        assert len(await audit.entries(hub, store.AuditFilter(until=later))) == 7
    finally:
        await made.aclose()


async def test_credentials_are_never_written(db: store.Store) -> None:
    made = await customers.in_process(db)
    try:
        secret = "whsec_dGhpcyBpcyBub3QgdG8gYmUgd3JpdHRlbg=="
        details = {
            "SecretKey": secret,
            "app": {"refresh_token": secret, "app_id": "123"},
            "signing_key_id": "ab12cd34",
            "api_key": secret,
            "name": "kept",
        }
        entry = await audit.record(
            made.hub, "bootstrap", action="key.rotate", target="acc_x", details=details
        )
        (stored,) = await audit.entries(made.hub, store.AuditFilter(target="acc_x"))
        assert stored == entry
        assert secret not in orjson.dumps(stored.details).decode()
        assert stored.details["name"] == "kept"
        assert stored.details["signing_key_id"] == "ab12cd34"
        assert stored.details["app"] == {"refresh_token": audit.REDACTED, "app_id": "123"}
    finally:
        await made.aclose()
