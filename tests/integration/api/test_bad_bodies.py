"""A native or admin body that is not a JSON object gets 400 in the native error shape, as the HTTP reference
says; a JSON object with a wrong field gets 422."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.services import hub as hub_

AUTH = {"Authorization": "Bearer t"}
JSON = {"content-type": "application/json"}


@pytest.fixture
async def client(db: store.Store) -> AsyncIterator[httpx.AsyncClient]:
    hub = hub_.Hub(settings=settings.Settings(admin_token="t"), store=db)
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
