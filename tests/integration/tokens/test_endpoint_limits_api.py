"""Rate limits through the API on each backend: the operator's (`/v1/admin/endpoint-limits`) and an account's own
(`/v1/endpoint-limits`, a customer token: only hosts of its own callbacks, never a limit someone else set)."""

from __future__ import annotations

from dlrhub import store
from dlrhub.core import models
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest
from tests.integration.tokens.conftest import BOOT, bearer

ADMIN = "/v1/admin/endpoint-limits"
OWN = "/v1/endpoint-limits"


async def test_the_operator_sets_lists_and_removes_a_limit_each_audited(api) -> None:
    auth = bearer(BOOT)
    made = await api.http.put(
        ADMIN, json={"endpoint": "https://GW.example/dr?x=1", "rate_per_s": 5, "burst": 2}, headers=auth
    )
    assert made.status_code == 200, made.text
    assert made.json() | {"updated_at": None} == {
        "endpoint": "https://gw.example:443",
        "rate_per_s": 5.0,
        "burst": 2,
        "set_by": "operator",
        "updated_at": None,
    }
    listed = await api.http.get(ADMIN, headers=auth)
    assert [x["endpoint"] for x in listed.json()["limits"]] == ["https://gw.example:443"]
    for bad in (
        {"rate_per_s": 0},
        {"rate_per_s": 10_001},
        {"rate_per_s": 1, "burst": 0},
        {"endpoint": "ftp://x"},
    ):
        body = {"endpoint": "https://gw.example", "rate_per_s": 1} | bad
        assert (await api.http.put(ADMIN, json=body, headers=auth)).status_code == 422, bad
    gone = await api.http.delete(ADMIN, params={"endpoint": "https://gw.example:443"}, headers=auth)
    assert gone.status_code == 200 and gone.json()["rate_per_s"] == 5.0
    again = await api.http.delete(ADMIN, params={"endpoint": "https://gw.example:443"}, headers=auth)
    assert again.status_code == 404
    assert (await api.http.get(ADMIN, headers=auth)).json()["limits"] == []
    audited = await api.hub.store.list_audit(store.AuditFilter(action="endpoint_limit.set"))
    assert [(e.target, e.actor) for e in audited] == [("https://gw.example:443", "bootstrap")]
    removed = await api.hub.store.list_audit(store.AuditFilter(action="endpoint_limit.remove"))
    assert len(removed) == 1
    read = await api.token("reader", "read")
    assert (
        await api.http.put(ADMIN, json={"endpoint": "https://x", "rate_per_s": 1}, headers=bearer(read))
    ).status_code == 403


async def test_a_customer_limits_only_hosts_of_its_own_callbacks_and_never_the_operators(api, db) -> None:
    a, b = make_account(name="a"), make_account(name="b")
    for account in (a, b):
        await db.create_account(account, [])
    await ingest(db, a, "ma", models.EventKind.SUCCESS, "https://a-only.example/a")
    await ingest(db, b, "mb2", models.EventKind.SUCCESS, "https://b-only.example/b")
    ta, tb = bearer(await api.token("a", "customer", a.id)), bearer(await api.token("b", "customer", b.id))

    # No callbacks of A's go to b-only.example: refused.
    refused = await api.http.put(
        OWN, json={"endpoint": "https://b-only.example", "rate_per_s": 1}, headers=ta
    )
    assert refused.status_code == 403
    # A limits its own host; B (no callbacks there) can neither change nor remove A's limit.
    mine = await api.http.put(OWN, json={"endpoint": "https://a-only.example/a", "rate_per_s": 3}, headers=ta)
    assert mine.status_code == 200 and mine.json()["set_by"] == f"account:{a.id}"
    body = {"endpoint": "https://a-only.example", "rate_per_s": 100}
    assert (await api.http.put(OWN, json=body, headers=tb)).status_code == 403
    own_host = {"endpoint": "https://a-only.example:443"}
    assert (await api.http.delete(OWN, params=own_host, headers=tb)).status_code == 403
    assert [x["rate_per_s"] for x in (await api.http.get(OWN, headers=ta)).json()["limits"]] == [3.0]
    assert (await api.http.get(OWN, headers=tb)).json()["limits"] == []
    # The operator's limit replaces it; A can then neither raise nor remove it.
    op = await api.http.put(
        ADMIN, json={"endpoint": "https://a-only.example", "rate_per_s": 10}, headers=bearer(BOOT)
    )
    assert op.status_code == 200
    assert (await api.http.put(OWN, json=body | {"rate_per_s": 1}, headers=ta)).status_code == 403
    assert (await api.http.delete(OWN, params=own_host, headers=ta)).status_code == 403
    limits = (await api.http.get(ADMIN, headers=bearer(BOOT))).json()["limits"]
    assert [(x["rate_per_s"], x["set_by"]) for x in limits] == [(10.0, "operator")]
    # B removes nothing of its own on b-only.example (none set), and may set one there.
    assert (
        await api.http.delete(OWN, params={"endpoint": "https://b-only.example"}, headers=tb)
    ).status_code == 404
    own = await api.http.put(OWN, json={"endpoint": "https://b-only.example", "rate_per_s": 2}, headers=tb)
    assert own.status_code == 200
    assert (
        await api.http.delete(OWN, params={"endpoint": "https://b-only.example"}, headers=tb)
    ).status_code == 200


async def test_a_customer_cannot_slow_down_a_host_another_account_sends_to(api, db) -> None:
    """A limit paces every account's callbacks to its host: one account set on a shared host would delay the
    others' (down to one callback in hours), so only the operator may limit a shared host."""
    a, b = make_account(name="a"), make_account(name="b")
    for account in (a, b):
        await db.create_account(account, [])
    await ingest(db, a, "ma", models.EventKind.SUCCESS, "https://shared.example/a")
    await ingest(db, b, "mb", models.EventKind.SUCCESS, "https://shared.example/b")
    ta = bearer(await api.token("a", "customer", a.id))
    crawl = {"endpoint": "https://shared.example/a", "rate_per_s": 0.0001, "burst": 1}
    refused = await api.http.put(OWN, json=crawl, headers=ta)
    assert refused.status_code == 403 and "other accounts" in refused.json()["message"]
    assert (await api.http.get(ADMIN, headers=bearer(BOOT))).json()["limits"] == []
    # A limit set while A was alone there cannot be tightened once B's callbacks go there too; it can go.
    await ingest(db, a, "ma2", models.EventKind.SUCCESS, "https://a-first.example/a")
    first = {"endpoint": "https://a-first.example", "rate_per_s": 5}
    assert (await api.http.put(OWN, json=first, headers=ta)).status_code == 200
    await ingest(db, b, "mb2", models.EventKind.SUCCESS, "https://a-first.example/b")
    assert (await api.http.put(OWN, json=first | {"rate_per_s": 0.0001}, headers=ta)).status_code == 403
    gone = await api.http.delete(OWN, params={"endpoint": "https://a-first.example"}, headers=ta)
    assert gone.status_code == 200
