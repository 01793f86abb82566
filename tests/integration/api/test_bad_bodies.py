"""A native or admin body that is not a JSON object gets 400 in the native error shape, as the HTTP reference
says; a JSON object with a wrong field gets 422."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.services import hub as hub_

AUTH = {"Authorization": "Bearer test-admin-token-0123456789"}
JSON = {"content-type": "application/json"}


@pytest.fixture
async def client(db: store.Store) -> AsyncIterator[httpx.AsyncClient]:
    hub = hub_.Hub(settings=settings.Settings(admin_token="test-admin-token-0123456789"), store=db)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app_.create_app(hub)), base_url="http://t"
    ) as c:
        yield c


@pytest.mark.parametrize("path", ["/v1/events", "/v1/admin/accounts"])
@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"{not json", JSON),
        (b"", JSON),
        (b"[1, 2]", JSON),
        (b'"text"', JSON),
        (b'{"name": "acme"}', {"content-type": "text/plain"}),
    ],
)
async def test_a_body_that_is_not_a_json_object_gets_400(
    client: httpx.AsyncClient, path: str, body: bytes, headers: dict[str, str]
) -> None:
    r = await client.post(path, content=body, headers={**AUTH, **headers})
    assert r.status_code == 400, r.text
    assert r.json() == {
        "error": "bad_request",
        "message": "body: not a JSON object (send one with Content-Type: application/json)",
    }


async def test_a_json_object_with_a_wrong_field_gets_422(client: httpx.AsyncClient) -> None:
    r = await client.post("/v1/events", json={"event_id": "x"}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"
    assert {f["field"] for f in r.json()["fields"]} >= {"message_id", "account"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field", "limit"),
    [
        ("POST", "/v1/events", {"callback_url": "https://x.example/" + "a" * 3000}, "callback_url", 2048),
        ("POST", "/v1/events", {"request_id": "r" * 51}, "request_id", 50),
        ("POST", "/v1/events", {"text": "t" * 1001}, "text", 1000),
        (
            "POST",
            "/v1/admin/accounts",
            {"name": "acme", "dr_url": "https://x.example/" + "a" * 300},
            "dr_url",
            256,
        ),
        ("PATCH", "/v1/admin/accounts/acc_x", {"name": "n" * 201}, "name", 200),
        (
            "PATCH",
            "/v1/admin/accounts/acc_x",
            {"notify_url": "https://x.example/" + "a" * 3000},
            "notify_url",
            2048,
        ),
        ("POST", "/v1/callbacks/replay", {"since": "2026-01-01T00:00:00Z", "url": "h" * 3000}, "url", 2048),
    ],
)
async def test_an_optional_text_over_its_limit_is_refused_in_characters(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, str], field: str, limit: int
) -> None:
    """Not pydantic's "Value should have at most N items after validation" for a string that may be null."""
    event = {"event_id": "e", "message_id": "m", "account": "acc_x", "type_id": 2, "status": "success"}
    r = await client.request(
        method, path, json={**event, **body} if path == "/v1/events" else body, headers=AUTH
    )
    assert r.status_code == 422, r.text
    [problem] = [f for f in r.json()["fields"] if f["field"] == field]
    assert problem["problem"] == f"String should have at most {limit} characters", r.text
