"""The native API over HTTP: events in, messages out, admin accounts, ops endpoints, bad input."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.core import models
from dlrhub.services import hub as hub_
from tests.integration.store import test_contract as contract

TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(db: store.Store) -> AsyncIterator[httpx.AsyncClient]:
    hub = hub_.Hub(settings=settings.Settings(admin_token=TOKEN, max_body_bytes=64_000), store=db)
    transport = httpx.ASGITransport(app=app_.create_app(hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://dlrhub.test") as c:
        yield c


async def new_account(client: httpx.AsyncClient) -> str:
    r = await client.post("/v1/admin/accounts", json={"name": "acme"}, headers=AUTH)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body["esms"]) >= {"ApiKey", "SecretKey"}
    assert set(body["nxcloud"]) == {"accessKey", "accessSecret", "appkey"}
    account_id: str = body["id"]
    return account_id


def event(account: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "event_id": "e-1",
        "message_id": "m-1",
        "account": account,
        "type_id": 2,
        "status": "success",
        "code": 0,
        "text": "sent",
        "price": "800",
        "recipient": "0901888484",
        "callback_url": "https://customer.example/cb?x=1",
        "dialect": "esms",
        "raw": {"upstream": {"ok": True}},
    }
    body.update(changes)
    return body


async def test_event_shows_at_message(client: httpx.AsyncClient) -> None:
    account = await new_account(client)
    r = await client.post("/v1/events", json=event(account), headers=AUTH)
    assert r.status_code == 202, r.text
    assert r.json()["state"] == "success" and len(r.json()["callbacks"]) == 1
    r = await client.get("/v1/messages/m-1", headers=AUTH)
    assert r.status_code == 200
    body = r.json()
    assert (body["state"], body["price"], body["recipient"]) == ("success", "800.0000", "0901888484")
    assert [(e["kind"], e["seq"]) for e in body["events"]] == [("success", 1)]


async def test_event_is_idempotent_by_id(client: httpx.AsyncClient) -> None:
    account = await new_account(client)
    assert (await client.post("/v1/events", json=event(account), headers=AUTH)).status_code == 202
    again = await client.post("/v1/events", json=event(account), headers=AUTH)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    delivered = event(account, event_id="e-2", status="delivered")
    assert (await client.post("/v1/events", json=delivered, headers=AUTH)).json()["state"] == "delivered"
    stale = event(account, event_id="e-3", status="failed")
    r = await client.post("/v1/events", json=stale, headers=AUTH)
    assert r.json()["applied"] is False and r.json()["state"] == "delivered"
    history = (await client.get("/v1/messages/m-1", headers=AUTH)).json()["events"]
    assert [(e["kind"], e["applied"]) for e in history] == [
        ("success", True),
        ("delivered", True),
        ("failed", False),
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type_id": 99}, "type_id"),
        ({"status": "bogus"}, "status"),
        ({"price": "-1"}, "price"),
        ({"callback_url": "ftp://x.example/"}, "callback_url"),
        ({"callback_url": "https://x.example/" + "a" * 3000}, "callback_url"),
        ({"event_id": ""}, "event_id"),
        ({"message_id": "ünïcode id"}, "message_id"),
        ({"occurred_at": "2024-05-01T10:00:00"}, "occurred_at"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_event_names_the_field_and_writes_nothing(
    client: httpx.AsyncClient, db: store.Store, changes: dict[str, object], field: str
) -> None:
    account = await new_account(client)
    r = await client.post("/v1/events", json=event(account, **changes), headers=AUTH)
    assert r.status_code == 422
    assert field in r.json()["message"]
    assert await db.get_messages(account, ["m-1"]) == []


async def test_unknown_account_and_message(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/events", json=event("acc_nope"), headers=AUTH)
    assert r.status_code == 404
    assert (await client.get("/v1/messages/nope", headers=AUTH)).status_code == 404


async def test_non_json_and_huge_bodies(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v1/events", content=b"\xff{not json", headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["message"].startswith("body: not valid JSON")
    huge = b'{"event_id":"' + b"a" * 70_000 + b'"}'
    r = await client.post("/v1/events", content=huge, headers={**AUTH, "content-type": "application/json"})
    assert r.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit holds while streaming
        for _ in range(10):
            yield b" " * 10_000

    r = await client.post(
        "/v1/events", content=chunks(), headers={**AUTH, "content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_every_route_caps_its_body_before_it_checks_the_token(client: httpx.AsyncClient) -> None:
    """FastAPI reads a body before a route's dependencies run: a route the cap missed let anyone, token or not,
    make the process hold a body of any size."""
    huge = b'{"endpoint":"https://x.example","rate_per_s":1,"pad":"' + b"a" * 70_000 + b'"}'
    json_ = {"content-type": "application/json"}

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 10_000

    for path in ("/v1/endpoint-limits", "/v1/feed/events", "/v1/no-such-route"):
        r = await client.put(path, content=huge, headers=json_)
        assert r.status_code == 413, (path, r.status_code)
    # Without a Content-Length, the cap holds as the body streams in.
    r = await client.put("/v1/endpoint-limits", content=chunks(), headers=json_)
    assert r.status_code == 413
    small = await client.put("/v1/endpoint-limits", json={"endpoint": "https://x.example", "rate_per_s": 1})
    assert small.status_code == 401


async def test_admin_needs_the_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/v1/admin/accounts")).status_code == 401
    bad = {"Authorization": "Bearer wrong"}
    assert (await client.get("/v1/admin/accounts", headers=bad)).status_code == 401
    assert (await client.post("/v1/events", json={}, headers=bad)).status_code == 401
    account = await new_account(client)
    listed = (await client.get("/v1/admin/accounts", headers=AUTH)).json()["accounts"]
    assert [a["id"] for a in listed] == [account]
    assert "esms_secret_key" not in listed[0] and "nx_access_secret" not in listed[0]
    r = await client.post("/v1/admin/accounts", json={"name": "", "currency": "dong"}, headers=AUTH)
    assert r.status_code == 422
    assert "name" in r.json()["message"] and "currency" in r.json()["message"]


async def test_ops_endpoints(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}
    account = await new_account(client)
    await client.post("/v1/events", json=event(account), headers=AUTH)
    text = (await client.get("/metrics")).text
    assert 'dlrhub_events_ingested_total{dialect="esms",kind="success"} 1.0' in text
    assert 'dlrhub_callbacks{state="pending"} 1.0' in text
    assert 'dlrhub_http_requests_total{method="POST",route="/v1/events",status="202"} 1.0' in text
    spec = (await client.get("/openapi.json")).json()
    assert "/v1/events" in spec["paths"]


async def test_the_esms_delivered_callback_is_an_account_choice_off_by_default(
    client: httpx.AsyncClient,
) -> None:
    made = await client.post("/v1/admin/accounts", json={"name": "plain"}, headers=AUTH)
    opted = await client.post(
        "/v1/admin/accounts", json={"name": "opted", "esms_delivered_callback": True}, headers=AUTH
    )
    assert (made.json()["esms_delivered_callback"], opted.json()["esms_delivered_callback"]) == (False, True)
    listed = (await client.get("/v1/admin/accounts", headers=AUTH)).json()["accounts"]
    assert {a["name"]: a["esms_delivered_callback"] for a in listed} == {"plain": False, "opted": True}


async def test_an_event_id_of_the_zalo_channels_own_is_refused(
    client: httpx.AsyncClient, db: store.Store
) -> None:
    """`<message id>:success`, `:failed` and `:delivered` are the ids the Zalo channel records a message it sends
    under: from the native door, for that message or another, they are refused (422 naming `event_id`), so the
    channel's own outcome is never taken for a repeat or a clash. The same form for a message the channel does not
    send is an engine's own id, taken as before."""
    account = await db.get_account(await new_account(client))
    queued = contract.new_message(account, "zm-1")
    await db.accept_message(
        queued,
        contract.event("zm-1", models.EventKind.ACCEPTED),
        contract.inputs(account),
        now=contract.NOW,
        channel_due_at=contract.NOW,
    )
    for changes in (
        {"event_id": "zm-1:success", "message_id": "zm-1", "dialect": "native"},
        {"event_id": "zm-1:failed", "message_id": "m-other"},
        {"event_id": "zm-1:delivered", "message_id": "m-other", "status": "delivered"},
    ):
        r = await client.post("/v1/events", json=event(account.id, **changes), headers=AUTH)
        assert r.status_code == 422, r.text
        assert (r.json()["error"], r.json()["field"]) == ("invalid_request", "event_id"), r.json()
        assert "reserved" in r.json()["message"]
    assert await db.get_messages(account.id, ["m-other"]) == []
    assert [e.id for e in await db.list_events("zm-1")] == ["zm-1:accepted"]
    # The channel's own outcome is then recorded, and moves the message.
    sent = models.StatusEvent(id="zm-1:success", kind=models.EventKind.SUCCESS, occurred_at=contract.NOW)
    result = await db.apply_event(
        dataclasses.replace(sent, message_id="zm-1"), contract.inputs(account), now=contract.NOW
    )
    assert not result.duplicate and result.message is not None
    assert result.message.state is models.MessageState.SUCCESS
    # An engine's own message: the same form is its id to choose.
    mine = event(account.id, event_id="m-2:success", message_id="m-2")
    assert (await client.post("/v1/events", json=mine, headers=AUTH)).status_code == 202


async def test_an_event_id_of_zalos_journey_events_is_refused(client: httpx.AsyncClient) -> None:
    """`journey:<journey id>:journey_acknowledged` and `:journey_time_out` are the ids dlrhub records Zalo's journey
    events under (`services/zalo_inbound.py`): taken first from the native door, the webhook's event would clash
    with it (stored for another message) and be ignored, the journey's acknowledgement or time-out lost. They are
    refused whatever the journey (no lookup: nothing is told of another account's)."""
    account = await new_account(client)
    for kind in ("journey_acknowledged", "journey_time_out"):
        body = event(account, event_id=f"journey:j-1:{kind}", message_id="m-j")
        r = await client.post("/v1/events", json=body, headers=AUTH)
        assert r.status_code == 422, r.text
        assert (r.json()["error"], r.json()["field"]) == ("invalid_request", "event_id"), r.json()
    # Other ids of that shape are the engine's own.
    mine = event(account, event_id="journey:j-1:success", message_id="m-j")
    assert (await client.post("/v1/events", json=mine, headers=AUTH)).status_code == 202
