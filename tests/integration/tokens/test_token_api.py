"""`/v1/admin/tokens` and bearer auth on each backend: bootstrap, named tokens, revocation, last use, scopes."""

from __future__ import annotations

import logging

import fastapi.routing
import orjson

from dlrhub import store
from dlrhub.services import tokens
from tests.conftest import make_account
from tests.integration.tokens.conftest import BOOT, bearer, open_api

CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


def api_routes(app) -> list[tuple[str, str, fastapi.routing.APIRoute]]:
    """Every (method, path template, route) the app serves, whichever router it came from."""
    found: list[tuple[str, str, fastapi.routing.APIRoute]] = []
    for context in fastapi.routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, fastapi.routing.APIRoute):
            found.extend(
                (method, context.path or route.path, route) for method in sorted(route.methods or ())
            )
    return found


def routes(app, prefix: str = "") -> list[tuple[str, str]]:
    """Every (method, path) of the app under `prefix`, path parameters filled with `x`."""
    found = []
    for method, path, route in api_routes(app):
        if path.startswith(prefix):
            for name in route.param_convertors:
                path = path.replace("{" + name + "}", "x")
            found.append((method, path))
    return found


async def test_the_bootstrap_token_makes_named_tokens_that_act_under_their_name(api) -> None:
    ci = await api.token("ci", "admin")
    assert ci.startswith("dlrh_a_")
    assert (await api.http.get("/v1/admin/accounts", headers=bearer(ci))).status_code == 200
    api.clock.advance(1)  # audit entries sort by time
    await api.token("grafana", "read", as_=ci)
    listed = (await api.http.get("/v1/admin/tokens", headers=bearer(ci))).json()["tokens"]
    assert [(t["name"], t["kind"], t["created_by"]) for t in listed] == [
        ("ci", "admin", "bootstrap"),
        ("grafana", "read", "ci"),
    ]
    entries = (await api.http.get("/v1/admin/audit", headers=bearer(ci))).json()["entries"]
    assert [(e["actor"], e["action"], e["details"]["name"]) for e in entries] == [
        ("ci", "token.create", "grafana"),
        ("bootstrap", "token.create", "ci"),
    ]


async def test_a_revoked_token_is_refused_here_at_once_and_elsewhere_within_two_seconds(api, db_url) -> None:
    ops = await api.token("ops", "read")
    api.clock.advance(1)  # audit entries sort by time
    other, other_http = await open_api(store.from_url(db_url))  # another process on the same database
    other.clock.now = api.clock.now
    async with other_http:
        assert (await other.http.get("/v1/admin/tokens", headers=bearer(ops))).status_code == 200
        [made] = (await api.http.get("/v1/admin/tokens", headers=bearer(BOOT))).json()["tokens"]
        revoked = await api.http.delete(f"/v1/admin/tokens/{made['id']}", headers=bearer(BOOT))
        assert revoked.status_code == 200
        assert revoked.json()["revoked_at"] is not None
        assert (await api.http.get("/v1/admin/tokens", headers=bearer(ops))).status_code == 401
        other.clock.advance(2.1)  # the other process's cached lookup expires
        assert (await other.http.get("/v1/admin/tokens", headers=bearer(ops))).status_code == 401
        again = await api.http.delete(f"/v1/admin/tokens/{made['id']}", headers=bearer(BOOT))
        assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
        await other.hub.store.close()
    actions = [(e.action, e.actor) for e in await api.hub.store.list_audit(store.AuditFilter())]
    assert actions == [("token.revoke", "bootstrap"), ("token.create", "bootstrap")]


async def test_last_use_is_written_at_most_once_a_minute(api) -> None:
    ops = await api.token("ops", "read")

    async def last_used() -> str | None:
        [t] = (await api.http.get("/v1/admin/tokens", headers=bearer(BOOT))).json()["tokens"]
        when: str | None = t["last_used_at"]
        return when

    assert await last_used() is None
    first = api.clock.now
    await api.http.get("/v1/admin/accounts", headers=bearer(ops))
    assert await last_used() == first.isoformat()
    api.clock.advance(30)
    await api.http.get("/v1/admin/accounts", headers=bearer(ops))
    assert await last_used() == first.isoformat()
    api.clock.advance(31)
    await api.http.get("/v1/admin/accounts", headers=bearer(ops))
    assert await last_used() == api.clock.now.isoformat()


async def test_missing_unknown_and_malformed_tokens_get_401(api) -> None:
    for headers in ({}, bearer("nope"), bearer("dlrh_a_" + "x" * 43), {"authorization": f"Basic {BOOT}"}):
        answer = await api.http.get("/v1/admin/tokens", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"] == "not_authorized"


async def test_bad_token_requests_are_refused_and_write_nothing(api, db) -> None:
    account = make_account()
    await db.create_account(account, [])
    await api.token("taken", "admin")
    bad = [
        ({"name": "shop", "kind": "customer"}, 422),
        ({"name": "ops", "kind": "admin", "account_id": account.id}, 422),
        ({"name": "shop", "kind": "customer", "account_id": "acc_none"}, 404),
        ({"name": "taken", "kind": "read"}, 409),
        ({"name": "bootstrap", "kind": "admin"}, 422),
        ({"name": "has space", "kind": "admin"}, 422),
        ({"name": "x" * 65, "kind": "admin"}, 422),
        ({"name": "root", "kind": "root"}, 422),
        ({"name": "ops", "kind": "admin", "extra": 1}, 422),
    ]
    for body, status in bad:
        answer = await api.http.post("/v1/admin/tokens", json=body, headers=bearer(BOOT))
        assert answer.status_code == status, (body, answer.text)
        assert set(answer.json()) >= {"error", "message"}
    assert (await api.http.delete("/v1/admin/tokens/tok_none", headers=bearer(BOOT))).status_code == 404
    assert [t.name for t in await db.list_tokens()] == ["taken"]
    assert len(await db.list_audit(store.AuditFilter())) == 1


async def test_a_read_token_reads_the_admin_api_and_changes_nothing(api) -> None:
    ops = await api.token("ops", "read")
    everything = routes(api.app)
    changes = [(m, p) for m, p in everything if m in CHANGES and p.startswith("/v1/admin")]
    assert ("POST", "/v1/admin/tokens") in changes and ("DELETE", "/v1/admin/tokens/x") in changes
    # Outside the admin API, the state-changing routes a read token must not reach either.
    changes += [("POST", "/v1/events"), ("POST", "/v1/callbacks/replay"), ("POST", "/v1/endpoints/reset")]
    changes += [("POST", "/v1/endpoints/pause"), ("POST", "/v1/endpoints/resume")]
    for method, path in changes:
        answer = await api.http.request(method, path, json={}, headers=bearer(ops))
        assert answer.status_code == 403, (method, path, answer.text)
        assert answer.json()["error"] == "forbidden"
    reads = [(m, p) for m, p in everything if m == "GET" and p.startswith("/v1/admin")]
    for method, path in reads:
        answer = await api.http.request(method, path, headers=bearer(ops))
        assert answer.status_code not in (401, 403), (method, path, answer.text)
    assert (await api.http.get("/v1/endpoints", headers=bearer(ops))).status_code == 200


async def test_a_customer_token_reaches_no_admin_route_nor_the_engines_door(api, db) -> None:
    account = make_account()
    await db.create_account(account, [])
    shop = await api.token("shop", "customer", account.id)
    closed = [(m, p) for m, p in routes(api.app, "/v1/admin") if m != "HEAD"]
    closed += [("POST", "/v1/events"), ("GET", "/v1/endpoints"), ("POST", "/v1/endpoints/reset")]
    for method, path in closed:
        answer = await api.http.request(method, path, json={}, headers=bearer(shop))
        assert answer.status_code == 403, (method, path, answer.text)


async def test_no_token_value_reaches_the_audit_log_the_logs_or_a_listing(api, db, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    account = make_account()
    await db.create_account(account, [])
    secrets = [
        await api.token("ci", "admin"),
        await api.token("ops", "read"),
        await api.token("shop", "customer", account.id),
    ]
    for secret in secrets:
        await api.http.get("/v1/messages/none", headers=bearer(secret))
    listed = await api.http.get("/v1/admin/tokens", headers=bearer(BOOT))
    for t in listed.json()["tokens"]:
        await api.http.delete(f"/v1/admin/tokens/{t['id']}", headers=bearer(BOOT))
    audit = await api.http.get("/v1/admin/audit", headers=bearer(BOOT))
    stored = orjson.dumps([t.__repr__() for t in await db.list_tokens()]).decode()
    for secret in secrets:
        assert secret[:11] in listed.text  # the prefix tells them apart...
        for shown in (listed.text, audit.text, caplog.text):
            assert secret not in shown and secret[11:20] not in shown  # ...and nothing past it is shown
        assert secret not in stored
    assert len(audit.json()["entries"]) == 6


async def test_serve_drops_its_bootstrap_token_only_while_a_named_admin_is_live(api) -> None:
    assert not await tokens.has_live_admin(api.hub)
    await api.token("ops", "read")
    assert not await tokens.has_live_admin(api.hub)
    await api.token("ci", "admin")
    assert await tokens.has_live_admin(api.hub)
    [ci] = [t for t in await tokens.listing(api.hub) if t.name == "ci"]
    await tokens.revoke(api.hub, "bootstrap", ci.id)
    assert not await tokens.has_live_admin(api.hub)


async def test_a_deactivated_accounts_customer_token_stops_with_it(api, db) -> None:
    account = make_account()
    await db.create_account(account, [])
    shop = await api.token("shop", "customer", account.id)
    assert (await api.http.get("/v1/messages/none", headers=bearer(shop))).status_code == 404
    answer = await api.http.post(f"/v1/admin/accounts/{account.id}/deactivate", headers=bearer(BOOT))
    assert answer.status_code == 200, answer.text
    assert (await api.http.get("/v1/messages/none", headers=bearer(shop))).status_code == 401
