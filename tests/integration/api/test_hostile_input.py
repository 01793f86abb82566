"""Hostile text through every door, on both backends: refused in the dialect's own shape, never a 5xx, and
nothing written (docs/reference/http-api.md › Hostile input).

PostgreSQL cannot store NUL in `text` or `jsonb`, and neither driver can write a lone surrogate; SQLite stores
NUL. Before the doors refused these, the same request stored a row on SQLite and answered a bare 500 on
PostgreSQL. Bodies are written with `json.dumps` (ASCII escapes), so a lone surrogate reaches each door as the
`\\ud800` escape a client could send.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sqlite3
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dlrhub import settings as settings_
from dlrhub import store
from dlrhub.api import app as app_
from dlrhub.api import esms as esms_api
from dlrhub.core import chars
from dlrhub.dialects.nxcloud import signing
from dlrhub.dialects.zalo import webhook
from dlrhub.services import accounts
from dlrhub.services import hub as hub_

ADMIN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
ESMS = "/MainService.svc/json/"
#: A string stands in for "the hostile string" in the bodies below.
HOLE = "<hostile>"
#: Characters every door refuses in every field: C0 controls other than tab, LF and CR, and lone surrogates.
FORBIDDEN = [chr(c) for c in range(0x20) if chr(c) not in "\t\n\r"] + ["\ud800", "\udbff", "\udc00", "\udfff"]


def hostile_strings() -> st.SearchStrategy[str]:
    """Text holding at least one forbidden character, sometimes padded far past every length limit. The character
    sits between two letters: eSMS trims whitespace (which includes U+000B, U+000C and U+001C-U+001F) from its
    fields first, and a field left blank is a missing one, refused with that field's own code."""
    padding = st.sampled_from([0, 0, 0, 70_000])
    return st.builds(
        lambda before, pad, bad, after: before + "x" * pad + "a" + bad + "z" + after,
        st.text(max_size=8),
        padding,
        st.sampled_from(FORBIDDEN),
        st.text(max_size=8),
    )


@dataclasses.dataclass
class World:
    """A running dlrhub with one account, its in-process HTTP client, and the database it writes."""

    db_url: str
    hub: hub_.Hub
    http: httpx.AsyncClient
    new: accounts.NewAccount


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[World]:
    db = store.from_url(db_url)
    await db.migrate()
    hub = hub_.Hub(settings=settings_.Settings(admin_token=ADMIN, max_body_bytes=1_048_576), store=db)
    api = app_.create_app(hub)
    new = await accounts.create(hub, "shop", dr_url="https://customer.example/dr")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as http:
        yield World(db_url, hub, http, new)
    await esms_api.close_limiter(api)
    await db.close()


#: Kept on purpose for a refused request: an authenticated NXCloud signature is used up whatever the answer
#: (docs/reference/nxcloud.md › Replays), so that a refused request cannot be replayed later.
LEDGERS = {"nxcloud_signatures"}


async def row_count(db_url: str) -> int:
    """Rows in every table of the database (the migration ledger included), but the replay ledger."""
    if db_url.startswith("sqlite:///"):
        # closing(): a sqlite3 connection's own `with` ends the transaction but leaves the connection open, which
        # Python 3.13 reports as a ResourceWarning (an error under this suite's filterwarnings).
        with contextlib.closing(sqlite3.connect(db_url.removeprefix("sqlite:///"))) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return sum(
                conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in names
                if name not in LEDGERS
            )
    conn = await asyncpg.connect(db_url)
    try:
        names = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        return sum(
            [await conn.fetchval(f'SELECT count(*) FROM "{r[0]}"') for r in names if r[0] not in LEDGERS]
        )
    finally:
        await conn.close()


def fill(template: Any, value: str) -> Any:
    """`template` with every HOLE, as a value or a key, replaced by `value`."""
    if isinstance(template, dict):
        return {(value if k == HOLE else k): fill(v, value) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, value) for v in template]
    return value if template == HOLE else template


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=True).encode()


def query(value: str) -> str:
    """`value` percent-encoded for a URL (a lone surrogate as its UTF-8-style bytes), without the long padding
    (HTTP servers refuse such URLs before dlrhub sees them)."""
    short = value.replace("x" * 1000, "")
    return urllib.parse.quote(short.encode("utf-8", "surrogatepass"), safe="")


# --- eSMS: HTTP 200 and the result code of the door's table ---------------------------------------------------


def esms_bodies(w: World) -> list[tuple[str, dict[str, Any], str]]:
    """(path, body with one HOLE, the code a hostile string there gets)."""
    creds = {"ApiKey": w.new.account.esms_api_key, "SecretKey": w.new.account.esms_secret_key}
    v6 = {
        **creds,
        "OAID": w.new.oa.oa_id,
        "Phone": "0901888484",
        "TempID": "100001",
        "TempData": {"customer_name": "An", "order_code": "HD00001"},
        "CallbackUrl": "https://customer.example/esms",
    }
    v4 = {**creds, "OAID": w.new.oa.oa_id, "Phone": "0901888484", "TempID": "100001", "Params": ["An"]}
    v5 = {**v6, "TempData": [{"key": "customer_name", "value": "An"}]}
    send = ESMS + "SendZaloMessage_V6/"
    cases: list[tuple[str, dict[str, Any], str]] = [
        (send, v6 | {"TempData": {"customer_name": HOLE}}, "110"),
        (send, v6 | {"TempData": {HOLE: "An"}}, "110"),
        *((send, v6 | {name: HOLE}, "110") for name in ("OAID", "TempID", "RequestId", "campaignid")),
        (send, v6 | {"CallbackUrl": HOLE}, "110"),
        (send, v6 | {"ApiKey": HOLE}, "101"),
        (ESMS + "SendZaloMessage_V4_post_json/", v4 | {"Params": [HOLE]}, "110"),
        (ESMS + "SendZaloMessage_V4_post_json/", v4 | {"IsJourney": 1, "OrderId": HOLE}, "110"),
        (ESMS + "SendZaloMessage_V5_post/", v5 | {"TempData": [{"key": "n", "value": HOLE}]}, "110"),
        (ESMS + "SendZaloMessage_V5_post/", v5 | {"TempData": [{"key": HOLE, "value": "An"}]}, "110"),
        ("/ZaloCallback/GetCallback", creds | {"ListRefid": [HOLE]}, "110"),
        ("/ZaloCallback/GetCallback", creds | {"OAId": HOLE}, "110"),
        (ESMS + "QueryZnsStatus/", creds | {"SmsId": HOLE}, "851"),
        (ESMS + "GetZaloMessageStatus", creds | {"OAID": w.new.oa.oa_id, "MessageId": HOLE}, "851"),
        (ESMS + "GetBalance_json", creds | {"SecretKey": HOLE}, "101"),
    ]
    return cases


def esms_code(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    code = body.get("CodeResult", body.get("CodeResponse", body.get("Code")))
    return str(code)


def has_surrogate(value: str) -> bool:
    return any("\ud800" <= c <= "\udfff" for c in value)


async def esms_door(w: World, hostile: str) -> None:
    for path, template, code in esms_bodies(w):
        response = await w.http.post(path, content=dumps(fill(template, hostile)))
        # A lone surrogate escape makes the whole body "not JSON" to the door's parser: 110 in any field.
        expected = "110" if has_surrogate(hostile) else code
        assert esms_code(response) == expected, (path, template, response.text)
    creds = f"ApiKey={w.new.account.esms_api_key}&SecretKey={w.new.account.esms_secret_key}"
    response = await w.http.get(f"{ESMS}GetSendStatus?RefId={query(hostile)}&{creds}")
    assert esms_code(response) == "105", response.text


# --- NXCloud: HTTP 200 and code 9000 ----------------------------------------------------------------------------


async def nx_post(w: World, api: str, body: dict[str, Any]) -> httpx.Response:
    raw = dumps(body)
    headers = signing.sign_headers(
        w.new.account.nx_access_key,
        w.new.account.nx_access_secret,
        raw,
        action=api,
        ts_ms=int(w.hub.clock().timestamp() * 1000),
        algorithm="md5",
    )
    return await w.http.post(
        f"/v1/zalo/{api}", content=raw, headers=headers | {"Content-Type": "application/json"}
    )


def mt_body(w: World) -> dict[str, Any]:
    return {
        "appkey": w.new.app.appkey,
        "phone": "84901888484",
        "functionType": "template",
        "messageData": {"templateId": "100001", "templateData": {"name": "An", "order": "A-1"}},
    }


async def nxcloud_door(w: World, hostile: str) -> None:
    mt = mt_body(w)
    data = mt["messageData"]
    cases: list[tuple[str, dict[str, Any]]] = [
        ("mt", mt | {"appkey": HOLE}),
        ("mt", mt | {"ext": HOLE}),
        ("mt", mt | {"drWebhook": HOLE}),
        ("mt", mt | {"messageData": data | {"templateId": HOLE}}),
        ("mt", mt | {"messageData": data | {"journeyToken": HOLE}}),
        ("mt", mt | {"messageData": data | {"templateData": {"name": HOLE}}}),
        ("mt", mt | {"messageData": data | {"templateData": {HOLE: "An"}}}),
        ("mt", mt | {"messageData": data | {"templateData": {"items": [{"name": HOLE}]}}}),
        ("initJourneyToken", {"appkey": HOLE, "phone": "84901888484", "tokenType": "token_logistics_7"}),
        ("checkJourneyToken", {"appkey": w.new.app.appkey, "journeyToken": HOLE}),
        ("checkJourneyToken", {"appkey": HOLE, "journeyToken": "token"}),
    ]
    for api, template in cases:
        response = await nx_post(w, api, fill(template, hostile))
        assert response.status_code == 200, response.text
        assert response.json()["code"] == 9000, (api, template, response.text)


# --- native, admin and the Zalo webhook: dlrhub's own {"error", "message"} shape ------------------------------


def native_problem(response: httpx.Response) -> None:
    assert response.status_code in (400, 413, 422), response.text
    body = response.json()
    assert isinstance(body["error"], str) and isinstance(body["message"], str), body


def native_event(w: World) -> dict[str, Any]:
    return {
        "event_id": "e-1",
        "message_id": "m-1",
        "account": w.new.account.id,
        "type_id": 25,
        "status": "success",
        "text": "sent",
        "recipient": "0901888484",
        "callback_url": "https://customer.example/cb",
        "raw": {"upstream": {"ok": True}},
    }


async def native_door(w: World, hostile: str) -> None:
    event = native_event(w)
    fields = ["event_id", "message_id", "account", "text", "recipient", "request_id", "oa_id"]
    fields += ["template_id", "zalo_msg_id", "callback_url"]
    cases = [event | {name: HOLE} for name in fields]
    cases += [event | {"raw": {"upstream": HOLE}}, event | {"raw": {HOLE: 1}}, event | {"raw": {"a": [HOLE]}}]
    for template in cases:
        response = await w.http.post("/v1/events", content=dumps(fill(template, hostile)), headers=AUTH)
        native_problem(response)
    # A "/" would make another path (a redirect), not another id.
    in_path = query(hostile.replace("/", ""))
    for path in (f"/v1/messages/{in_path}", f"/v1/messages/{in_path}/callbacks", f"/v1/callbacks/{in_path}"):
        native_problem(await w.http.get(path, headers=AUTH))
    for path, template in [
        ("/v1/callbacks/replay", {"message_id": HOLE}),
        ("/v1/callbacks/replay", {"message_id": "m-1", "url": HOLE}),
        ("/v1/endpoints/reset", {"endpoint": HOLE}),
    ]:
        native_problem(await w.http.post(path, content=dumps(fill(template, hostile)), headers=AUTH))


async def admin_door(w: World, hostile: str) -> None:
    for template in ({"name": HOLE}, {"name": "acme", "dr_url": HOLE}):
        response = await w.http.post(
            "/v1/admin/accounts", content=dumps(fill(template, hostile)), headers=AUTH
        )
        native_problem(response)
    # Ids in a path or a query: PostgreSQL failed the store's read of a NUL with a bare 500.
    bad = query(hostile.replace("/", ""))
    for method, path in [
        ("GET", f"/v1/admin/accounts/{bad}/keys"),
        ("POST", f"/v1/admin/accounts/{bad}/signing-secrets"),
        ("GET", f"/v1/admin/apps/{bad}"),
        ("GET", f"/v1/admin/oas/{bad}"),
        ("POST", f"/v1/admin/oas/{bad}/deactivate"),
        ("GET", f"/v1/admin/oas/{bad}/templates"),
        ("DELETE", f"/v1/admin/tokens/{bad}"),
        ("GET", f"/v1/admin/oas?account_id={bad}"),
        ("DELETE", f"/v1/endpoint-limits?endpoint=https%3A%2F%2F{bad}.example"),
    ]:
        response = await w.http.request(method, path, headers=AUTH)
        if response.status_code < 500 and chars.id_fault(urllib.parse.unquote(bad)) is None:
            continue  # a lone surrogate's bytes are read as U+FFFD: an id like another
        native_problem(response)
    for path in ("/v1/endpoint-limits", "/v1/admin/endpoint-limits"):
        body = {"endpoint": f"https://{hostile}.example", "rate_per_s": 1}
        response = await w.http.put(path, content=dumps(body), headers=AUTH)
        native_problem(response)


def receipt(w: World, **changes: Any) -> dict[str, Any]:
    """A ZNS receipt for a message dlrhub does not know yet: accepted, it is kept as an orphan (a row)."""
    return {
        "app_id": w.new.oa.app_id,
        "sender": {"id": w.new.oa.oa_id},
        "recipient": {"id": "84901888484"},
        "event_name": webhook.USER_RECEIVED_MESSAGE,
        "message": {"msg_id": "abc123", "delivery_time": "1767323045000"},
        "timestamp": "1767323045000",
        **changes,
    }


async def zalo_post(w: World, body: dict[str, Any]) -> httpx.Response:
    raw = dumps(body)
    mac = webhook.signature(w.new.oa.app_id, raw, body["timestamp"], w.new.oa.oa_secret)
    headers = {webhook.SIGNATURE_HEADER: mac, webhook.SERVER_HEADER: webhook.SERVER_ZNS}
    return await w.http.post(
        "/zalo/webhook", content=raw, headers=headers | {"Content-Type": "application/json"}
    )


async def zalo_door(w: World, hostile: str) -> None:
    base = receipt(w)
    cases = [
        base | {"message": base["message"] | {"text": HOLE}},
        base | {HOLE: "x"},
        base | {"extra": {"list": [1, HOLE]}},
    ]
    for template in cases:
        native_problem(await zalo_post(w, fill(template, hostile)))


Door = Callable[[World, str], Awaitable[None]]
DOORS: dict[str, Door] = {
    "esms": esms_door,
    "nxcloud": nxcloud_door,
    "native": native_door,
    "admin": admin_door,
    "zalo": zalo_door,
}


@pytest.mark.parametrize("door", DOORS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hostile=hostile_strings())
@example(hostile="\x00")
@example(hostile="a\x00b")
@example(hostile="\ud800")
@example(hostile="a\x1f" + "x" * 70_000)
async def test_hostile_text_is_refused_in_the_doors_shape_and_nothing_is_written(
    world: World, door: str, hostile: str
) -> None:
    before = await row_count(world.db_url)
    await DOORS[door](world, hostile)
    assert await row_count(world.db_url) == before


async def test_the_bodies_above_are_accepted_without_the_hostile_text(world: World) -> None:
    """The templates are valid, so the refusals above are the hostile text's doing."""
    v6 = dict(esms_bodies(world)[0][1]) | {"TempData": {"customer_name": "An\tB\nC"}}
    assert esms_code(await world.http.post(ESMS + "SendZaloMessage_V6/", content=dumps(v6))) == "100"
    mt = mt_body(world) | {"ext": "line\r\nbreak"}
    assert (await nx_post(world, "mt", mt)).json()["code"] == 0
    event = native_event(world) | {"text": "tab\there", "raw": {"note": "a\nb"}}
    assert (await world.http.post("/v1/events", content=dumps(event), headers=AUTH)).status_code == 202
    made = await world.http.post("/v1/admin/accounts", content=dumps({"name": "acme"}), headers=AUTH)
    assert made.status_code == 201
    answer = await zalo_post(world, receipt(world) | {"note": "ok"})
    assert answer.status_code == 200 and answer.json()["result"] == "orphan", answer.text
