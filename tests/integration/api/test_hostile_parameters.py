"""Hostile values outside the JSON bodies' text, on both backends: path and query parameters holding NUL, times
that leave the years 1 to 9999 once in UTC, row ids past a BIGINT, secrets holding control characters. Each is a
422 in the native error shape and writes nothing (docs/reference/http-api.md › Hostile input).

Found by fuzzing every route with such values: before, PostgreSQL answered a bare 500 for NUL in a parameter
(`text` cannot be compared with NUL) and for a time like `0001-01-01T00:00:00+14:00` (asyncpg converts it to
UTC, year 0); both backends answered 500 for `?before=9223372036854775808` on the ledger.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import fastapi.routing
import httpx
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.core import control
from dlrhub.services import accounts, tokens
from dlrhub.services import hub as hub_
from dlrhub.web import routes as web_routes
from tests.integration.api.test_hostile_input import row_count

ADMIN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}"}
#: UTC-converted, these fall in year 0 and year 10000.
OUT_OF_RANGE = ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"]


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[tuple[str, hub_.Hub, httpx.AsyncClient, accounts.NewAccount]]:
    db = store.from_url(db_url)
    await db.migrate()
    hub = hub_.Hub(settings=settings.Settings(admin_token=ADMIN), store=db)
    new = await accounts.create(hub, "shop", dr_url="https://customer.example/dr")
    transport = httpx.ASGITransport(app=app_.create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield db_url, hub, http, new
    await db.close()


def native_event(new: accounts.NewAccount) -> dict[str, Any]:
    """A native `success` event of message `m-1` of `new`'s account."""
    return {
        "event_id": "e-1",
        "message_id": "m-1",
        "account": new.account.id,
        "type_id": 25,
        "status": "success",
    }


def refused(response: httpx.Response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_request", body
    # A service's refusal names its `field`; a pydantic one lists `fields` (a query's as `query.<name>`).
    named = (
        [body["field"]] if "field" in body else [f["field"].removeprefix("query.") for f in body["fields"]]
    )
    assert named == [field], body


def nul_requests(new: accounts.NewAccount) -> list[tuple[str, str, dict[str, Any] | None, str]]:
    """(method, URL with a NUL in one parameter, JSON body, the parameter's name)."""
    a, oa = new.account.id, new.oa.oa_id
    return [
        ("GET", "/v1/admin/accounts?name=a%00b", None, "name"),
        ("GET", "/v1/admin/accounts?after=%00", None, "after"),
        ("POST", "/v1/admin/accounts/a%00b/apps", {"name": "app"}, "account_id"),
        ("GET", "/v1/admin/apps?account_id=%00", None, "account_id"),
        ("GET", "/v1/admin/apps/a%00b", None, "appkey"),
        ("PATCH", "/v1/admin/apps/a%00b", {}, "appkey"),
        ("GET", "/v1/admin/accounts/a%00b/keys", None, "account_id"),
        ("POST", "/v1/admin/accounts/a%00b/keys/esms/rotate", {}, "account_id"),
        ("DELETE", "/v1/admin/tokens/a%00b", None, "token_id"),
        ("GET", "/v1/admin/audit?actor=%00", None, "actor"),
        ("GET", "/v1/admin/audit?cursor=%00", None, "cursor"),
        ("GET", "/v1/admin/oas?account_id=%00", None, "account_id"),
        ("GET", "/v1/admin/oas/a%00b", None, "oa_id"),
        ("POST", "/v1/admin/oas/a%00b/deactivate", None, "oa_id"),
        ("GET", "/v1/admin/oas/a%00b/templates", None, "oa_id"),
        ("POST", "/v1/admin/oas/a%00b/templates", {"template_id": "1"}, "oa_id"),
        ("GET", f"/v1/admin/oas/{oa}/templates/a%00b", None, "template_id"),
        ("GET", f"/v1/admin/accounts/{a}/ledger?before=1&limit=1&x=%00", None, "x"),
        ("DELETE", "/v1/endpoint-limits?endpoint=https://a%00.example/", None, "endpoint"),
    ]


async def test_nul_in_a_path_or_query_parameter_gets_422(world) -> None:
    db_url, _, http, new = world
    before = await row_count(db_url)
    for method, url, body, field in nul_requests(new):
        response = await http.request(method, url, json=body, headers=AUTH)
        refused(response, field)
    assert await row_count(db_url) == before


def every_route() -> list[tuple[str, str]]:
    """(method, path template) of every route but the dialect doors', the web door's included."""
    routers = [r for r in (*app_.ROUTERS, *web_routes.ROUTERS) if r not in app_.DIALECT_ROUTERS]
    return sorted(
        (method, route.path)
        for router in routers
        for route in router.routes
        if isinstance(route, fastapi.routing.APIRoute)
        for method in route.methods or ()
        if method != "HEAD"
    )


async def test_every_route_refuses_nul_in_its_parameters(world) -> None:
    """A route added later is covered too: every path parameter, then a query parameter, holds NUL."""
    db_url, _, http, _ = world
    before = await row_count(db_url)
    routes = every_route()
    assert len(routes) > 80, routes  # the walk finds the routers' routes
    wrong = []
    for method, path in routes:
        with_nul = re.sub(r"\{[^}]+\}", "a%00b", path)
        for url in ({with_nul} - {path}) | {f"{path}?probe=a%00b"}:
            answer = await http.request(method, url, headers=AUTH)
            if answer.status_code != 422:
                wrong.append((method, url, answer.status_code, answer.text[:100]))
    assert wrong == []
    assert await row_count(db_url) == before


async def test_a_customer_token_for_an_account_id_holding_nul_gets_422(world) -> None:
    db_url, _, http, _ = world
    before = await row_count(db_url)
    body = {"name": "shop", "kind": "customer", "account_id": "acc\x00"}
    refused(await http.post("/v1/admin/tokens", json=body, headers=AUTH), "account_id")
    assert await row_count(db_url) == before


async def test_a_customer_cannot_name_a_host_holding_nul(world) -> None:
    db_url, hub, http, new = world
    made = await tokens.create(hub, "ops", "shop", control.TokenKind.CUSTOMER, new.account.id)
    bearer = {"Authorization": f"Bearer {made.secret}"}
    before = await row_count(db_url)
    body = {"endpoint": "https://a\x00.customer.example/dr", "rate_per_s": 5}
    refused(await http.put("/v1/endpoint-limits", json=body, headers=bearer), "endpoint")
    refused(await http.put("/v1/admin/endpoint-limits", json=body, headers=AUTH), "endpoint")
    assert await row_count(db_url) == before


@pytest.mark.parametrize("when", OUT_OF_RANGE)
async def test_a_time_out_of_range_in_utc_gets_422(world, when: str) -> None:
    db_url, _, http, new = world
    event = native_event(new) | {"occurred_at": when}
    before = await row_count(db_url)
    refused(await http.post("/v1/events", json=event, headers=AUTH), "occurred_at")
    refused(await http.post("/v1/callbacks/replay", json={"since": when}, headers=AUTH), "since")
    refused(await http.post("/v1/callbacks/replay", json={"until": when}, headers=AUTH), "until")
    refused(await http.get("/v1/admin/audit", params={"since": when}, headers=AUTH), "since")
    refused(await http.get("/v1/admin/audit", params={"until": when}, headers=AUTH), "until")
    assert await row_count(db_url) == before


#: Times that UTC can hold but the account's zone cannot write (NXCloud's `sendTime`), with the account's offset.
UNWRITABLE = [
    ("9999-12-31T23:59:59Z", 480),
    ("9999-12-31T10:00:00Z", 840),
    ("0001-01-01T00:00:00Z", -720),
    ("0001-01-01T11:59:59Z", -720),
]


@pytest.mark.parametrize(("when", "offset"), UNWRITABLE)
async def test_an_event_time_the_accounts_zone_cannot_write_gets_422(world, when: str, offset: int) -> None:
    """Before, NXCloud's rendering of `sendTime` in the account's zone overflowed: a bare 500 on both backends."""
    db_url, hub, http, _ = world
    nx = await accounts.create(hub, "nx", utc_offset_minutes=offset)
    event = native_event(nx) | {"dialect": "nxcloud", "callback_url": "https://customer.example/nx"}
    before = await row_count(db_url)
    refused(await http.post("/v1/events", json=event | {"occurred_at": when}, headers=AUTH), "occurred_at")
    assert await row_count(db_url) == before


@pytest.mark.parametrize(
    ("when", "offset"), [("0001-01-02T00:00:00Z", -720), ("9999-12-30T23:59:59.999999Z", 840)]
)
async def test_the_first_and_last_writable_times_are_taken_and_written(world, when: str, offset: int) -> None:
    _, hub, http, _ = world
    nx = await accounts.create(hub, "nx", utc_offset_minutes=offset)
    event = native_event(nx) | {"dialect": "nxcloud", "callback_url": "https://customer.example/nx"}
    answer = await http.post("/v1/events", json=event | {"occurred_at": when}, headers=AUTH)
    assert (answer.status_code, len(answer.json()["callbacks"])) == (202, 1), answer.text


@pytest.mark.parametrize(
    "number", ["100000000000000000000000000000", "-9223372036854775809", "NaN", "-Infinity"]
)
async def test_a_number_in_raw_that_cannot_be_written_back_gets_422(world, number: str) -> None:
    """Python's JSON parser (the native door's) takes these; orjson, which writes `raw`, refused the integers
    with a bare 500 and wrote the others as `null`."""
    db_url, _, http, new = world
    event = native_event(new)
    raw = json.dumps(event | {"raw": {"upstream": [1, "NUMBER"]}}).replace('"NUMBER"', number)
    before = await row_count(db_url)
    answer = await http.post("/v1/events", content=raw, headers=AUTH | {"content-type": "application/json"})
    refused(answer, "raw")
    assert await row_count(db_url) == before
    # The numbers at the edges of what can be written back are kept as sent.
    edges = {"upstream": [2**64 - 1, -(2**63), 1.7976931348623157e308, -0.0]}
    assert (await http.post("/v1/events", json=event | {"raw": edges}, headers=AUTH)).status_code == 202


@pytest.mark.parametrize("before", [2**63, 10**30])
async def test_a_ledger_page_before_a_row_past_a_bigint_gets_422(world, before: int) -> None:
    _, _, http, new = world
    answer = await http.get(f"/v1/admin/accounts/{new.account.id}/ledger?before={before}", headers=AUTH)
    refused(answer, "before")
    last = await http.get(f"/v1/admin/accounts/{new.account.id}/ledger?before={2**63 - 1}", headers=AUTH)
    assert last.status_code == 200, last.text


@pytest.mark.parametrize("secret", ["a\x00b", "a\x01b", "a\nb"])
async def test_an_oa_secret_holding_a_control_character_gets_422_before_zalo_is_asked(
    world, secret: str
) -> None:
    db_url, hub, http, new = world
    before = await row_count(db_url)
    oa = new.oa.oa_id
    changed = await http.patch(f"/v1/admin/oas/{oa}/secrets", json={"oa_secret": secret}, headers=AUTH)
    refused(changed, "oa_secret")
    assert (await hub.store.get_oa(oa)) == new.oa
    # No Zalo answers here: a 503 would mean the refresh token was about to be spent on a secret not storable.
    body = {"oa_id": "123", "app_id": "456", "app_secret": "s", "oa_secret": secret, "refresh_token": "r"}
    registered = await http.post(f"/v1/admin/accounts/{new.account.id}/oas", json=body, headers=AUTH)
    refused(registered, "oa_secret")
    assert await row_count(db_url) == before
