"""A callback URL that can never be delivered is refused at the door, in the dialect's own code, and nothing is
stored; names are left to the send-time check, and the allow-list opens literal addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.api import esms as esms_api
from dlrhub.dialects.nxcloud import signing
from dlrhub.services import accounts
from dlrhub.services import hub as hub_

TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEVER = [
    "ftp://customer.example/cb",
    "http://",
    "http://127.0.0.1:8080/cb",
    "http://[::1]/cb",
    "http://10.1.2.3/cb",
    "http://192.168.0.10/cb",
    "http://169.254.169.254/latest/meta-data",
    "http://[::ffff:127.0.0.1]/cb",
    # IDNA makes these the literals 169.254.169.254 and 192.168.0.10.
    "http://\uff11\uff16\uff19.\uff12\uff15\uff14.\uff11\uff16\uff19.\uff12\uff15\uff14/latest/meta-data",
    "http://192\u3002168\u30020\u300210/cb",
    # Numeric forms a resolver may read as an IPv4 address are no names.
    "http://127.1/cb",
    "http://2130706433/cb",
    "http://0x7f.1/cb",
    "http://0177.0.0.1/cb",
]
#: Host names are resolved only when the callback is sent: the door lets them through.
LATER = ["https://customer.example/cb", "http://localhost:8080/cb"]


class Door:
    def __init__(self, hub: hub_.Hub, http: httpx.AsyncClient, new: accounts.NewAccount) -> None:
        self.hub, self.http, self.new = hub, http, new

    async def esms(self, url: str) -> dict[str, Any]:
        a = self.new.account
        body = {"ApiKey": a.esms_api_key, "SecretKey": a.esms_secret_key, "OAID": self.new.oa.oa_id,
                "TempID": "100001", "Phone": "0901888484", "TempData": {"name": "An"}, "CallbackUrl": url}  # fmt: skip
        r = await self.http.post(esms_api.PREFIX + "SendZaloMessage_V6/", json=body)
        assert r.status_code == 200
        answer: dict[str, Any] = r.json()
        return answer

    async def nxcloud(self, url: str) -> dict[str, Any]:
        a = self.new.account
        body = orjson.dumps({"appkey": self.new.app.appkey, "phone": "84901888484", "functionType": "template",
                             "messageData": {"templateId": "100001", "templateData": {"name": "An"}},
                             "drWebhook": url})  # fmt: skip
        headers = signing.sign_headers(a.nx_access_key, a.nx_access_secret, body)
        r = await self.http.post("/v1/zalo/mt", content=body, headers=headers)
        assert r.status_code == 200
        answer: dict[str, Any] = r.json()
        return answer

    async def native(self, url: str, message_id: str) -> httpx.Response:
        body = {"event_id": f"e-{message_id}", "message_id": message_id, "account": self.new.account.id,
                "type_id": 2, "status": "success", "dialect": "esms", "callback_url": url}  # fmt: skip
        return await self.http.post("/v1/events", json=body, headers=AUTH)

    async def balance(self) -> object:
        return (await self.hub.store.get_account(self.new.account.id)).balance


@pytest.fixture(params=[(), ("127.0.0.1", "::1", "10.0.0.0/8")], ids=["no-allow-list", "allow-list"])
async def door(request: pytest.FixtureRequest, db: store.Store) -> AsyncIterator[Door]:
    config = settings.Settings(admin_token=TOKEN, callback_allow=request.param)
    hub = hub_.Hub(settings=config, store=db)
    app = app_.create_app(hub)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        yield Door(hub, http, await accounts.create(hub, "urls"))
        await esms_api.close_limiter(app)


async def test_never_deliverable_urls_are_refused_up_front(door: Door) -> None:
    allowed = door.hub.settings.callback_allow
    before = await door.balance()
    for n, url in enumerate(NEVER):
        opened = allowed and url.startswith(("http://127.0.0.1:", "http://[::1]/", "http://10.1.2.3/"))
        esms, nx = await door.esms(url), await door.nxcloud(url)
        native = await door.native(url, f"m-{n}")
        if opened:
            assert esms["CodeResult"] == "100" and nx["code"] == 0 and native.status_code == 202, url
            continue
        assert esms["CodeResult"] == "110" and esms["ErrorMessage"].startswith(
            "Invalid request: CallbackUrl"
        ), url
        assert nx == {"code": 9000, "message": "Request parameter error"}, url
        assert native.status_code == 422 and native.json()["message"].startswith("callback_url"), native.text
        assert (await door.http.get(f"/v1/messages/m-{n}", headers=AUTH)).status_code == 404
    if not allowed:
        assert await door.balance() == before, "a refused send stores and charges nothing"


async def test_host_names_are_left_to_the_send_time_check(door: Door) -> None:
    for n, url in enumerate(LATER):
        assert (await door.esms(url))["CodeResult"] == "100", url
        assert (await door.nxcloud(url))["code"] == 0, url
        assert (await door.native(url, f"m-{n}")).status_code == 202, url
