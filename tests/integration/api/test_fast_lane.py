"""The send doors' fast lane (NXCloud mt, the eSMS sends) answers as the ordinary route would, and is counted the
same way."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.api import esms as esms_api
from dlrhub.dialects.nxcloud import signing
from dlrhub.services import accounts
from dlrhub.services import hub as hub_


@pytest.fixture
async def hub(db: store.Store) -> hub_.Hub:
    return hub_.Hub(settings=settings.Settings(admin_token="test-admin-token-0123456789"), store=db)


@pytest.fixture
async def client(hub: hub_.Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = app_.create_app(hub)
    assert ("POST", "/v1/zalo/mt") in app.fast_lane
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


async def test_fast_lane_sends_counts_and_leaves_other_methods_to_the_stack(
    hub: hub_.Hub, client: httpx.AsyncClient
) -> None:
    made = await accounts.create(hub, "lane")
    body = orjson.dumps(
        {
            "appkey": made.app.appkey,
            "phone": "84901888484",
            "functionType": "template",
            "messageData": {"templateId": "100001", "templateData": {"name": "An"}},
        }
    )
    headers = signing.sign_headers(made.account.nx_access_key, made.account.nx_access_secret, body)
    r = await client.post(
        "/v1/zalo/mt", content=body, headers={**headers, "content-type": "application/json"}
    )
    assert r.status_code == 200
    request_id = r.json()["data"]["requestId"]
    assert (await hub.store.get_message(request_id)).state.value == "accepted"
    bad = await client.post("/v1/zalo/mt", content=body, headers={**headers, "sign": "0" * 32})
    assert bad.json()["code"] == 1003
    assert (await client.get("/v1/zalo/mt")).status_code == 405
    metrics = (await client.get("/metrics")).text
    assert 'dlrhub_http_requests_total{method="POST",route="/v1/zalo/mt",status="200"} 2.0' in metrics
    assert "/v1/zalo/mt" in (await client.get("/openapi.json")).json()["paths"]


async def test_every_esms_send_path_is_on_the_fast_lane_and_answers_in_its_dialect(
    hub: hub_.Hub, client: httpx.AsyncClient
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    send_paths = [p for (m, p) in app.fast_lane if p.startswith(esms_api.PREFIX)]
    assert len(send_paths) == 2 * len(esms_api.SEND_ENDPOINTS)  # with and without the trailing slash
    made = await accounts.create(hub, "lane")
    a = made.account
    path = esms_api.PREFIX + "SendZaloMessage_V6/"
    body = {"ApiKey": a.esms_api_key, "SecretKey": a.esms_secret_key, "OAID": made.oa.oa_id, "TempID": "100001",
            "Phone": "0901888484", "TempData": {"name": "An"}}  # fmt: skip
    sent = (await client.post(path, json=body)).json()
    assert sent["CodeResult"] == "100"
    assert (await hub.store.get_message(sent["SMSID"])).state.value == "accepted"
    refused = (await client.post(path, json={**body, "SecretKey": "wrong"})).json()
    assert refused["CodeResult"] == "101"
    assert (await client.post(path, content=b"{not json")).json()["CodeResult"] != "100"
    metrics = (await client.get("/metrics")).text
    assert f'dlrhub_http_requests_total{{method="POST",route="{path}",status="200"}} 3.0' in metrics
