"""The one test customer: an account of a running dlrhub that sends in both dialects over HTTP."""

from __future__ import annotations

import dataclasses
from typing import Any

import fastapi
import httpx
import orjson

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.api import esms as esms_api
from dlrhub.dialects.nxcloud import signing
from dlrhub.services import accounts, zalo_wiring
from dlrhub.services import hub as hub_

#: The admin token of in-process hubs.
ADMIN = "test-admin-token-0123456789"


@dataclasses.dataclass(frozen=True)
class Local:
    """What an in-process customer can also reach: the hub, its app and the account as made."""

    hub: hub_.Hub
    api: fastapi.FastAPI
    new: accounts.NewAccount


@dataclasses.dataclass
class Customer:
    """One customer of a running dlrhub: its credentials (as `POST /v1/admin/accounts` answers them) and a client."""

    http: httpx.AsyncClient
    credentials: dict[str, Any]
    admin_token: str = ADMIN
    local: Local | None = None

    @classmethod
    def of(
        cls, new: accounts.NewAccount, hub: hub_.Hub, api: fastapi.FastAPI, http: httpx.AsyncClient
    ) -> Customer:
        """An in-process customer for an account made by `accounts.create`."""
        return cls(http, new.credentials(), hub.settings.admin_token or ADMIN, Local(hub, api, new))

    @classmethod
    async def create(cls, http: httpx.AsyncClient, admin_token: str, dr_url: str, **choices: Any) -> Customer:
        """A new customer made through the admin API of the dlrhub `http` talks to; `choices` are more of the
        account's fields (`esms_delivered_callback`, ...)."""
        answer = await http.post(
            "/v1/admin/accounts",
            json={"name": "acceptance", "dr_url": dr_url, **choices},
            headers={"Authorization": f"Bearer {admin_token}"},
        )
        assert answer.status_code == 201, answer.text
        return cls(http, answer.json(), admin_token)

    def another(self, new: accounts.NewAccount) -> Customer:
        """Another customer of the same in-process dlrhub."""
        return Customer.of(new, self.hub, self.api, self.http)

    # -- in-process only --------------------------------------------------------------------------------------
    @property
    def hub(self) -> hub_.Hub:
        return self._local.hub

    @property
    def api(self) -> fastapi.FastAPI:
        return self._local.api

    @property
    def new(self) -> accounts.NewAccount:
        return self._local.new

    @property
    def _local(self) -> Local:
        assert self.local is not None, "only an in-process customer has a hub"
        return self.local

    # -- eSMS ---------------------------------------------------------------------------------------------------
    @property
    def creds(self) -> dict[str, str]:
        e = self.credentials["esms"]
        return {"ApiKey": e["ApiKey"], "SecretKey": e["SecretKey"]}

    @property
    def oa_id(self) -> str:
        oa_id: str = self.credentials["esms"]["OAID"]
        return oa_id

    def zns(self, **changes: Any) -> dict[str, Any]:
        """A valid V6 body; `...` removes a field."""
        body: dict[str, Any] = {
            **self.creds,
            "OAID": self.oa_id,
            "Phone": "0901888484",
            "TempID": "100001",
            "TempData": {"customer_name": "Đinh Thái Hà", "order_code": "HD00001"},
            "CallbackUrl": "https://customer.example/esms",
        }
        body.update(changes)
        return {k: v for k, v in body.items() if v is not ...}

    async def post(self, path: str, body: bytes | dict[str, Any]) -> httpx.Response:
        """POST an eSMS JSON request (its keys are in the body)."""
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return await self.http.post(path, content=content, headers={"content-type": "application/json"})

    async def esms(self, phone: str, callback_url: str) -> str:
        """An eSMS V6 ZNS send with the account's first template; returns its SMSID."""
        body = self.zns(
            Phone=phone,
            CallbackUrl=callback_url,
            TempID=self.credentials["esms"]["TempIDs"][0],
            TempData={"name": "An"},
        )
        answer = await self.post("/MainService.svc/json/SendZaloMessage_V6/", body)
        assert answer.json()["CodeResult"] == "100", answer.text
        sms_id: str = answer.json()["SMSID"]
        return sms_id

    # -- NXCloud ------------------------------------------------------------------------------------------------
    @property
    def appkey(self) -> str:
        appkey: str = self.credentials["nxcloud"]["appkey"]
        return appkey

    async def signed(
        self,
        path: str,
        body: bytes | dict[str, Any],
        *,
        action: str = "mt",
        secret: str | None = None,
        ts_ms: int | None = None,
        algorithm: str = "md5",
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """POST a signed NXCloud request (`appkey` added to a dict body); returns the JSON answer after checking it
        is HTTP 200 JSON. The signing time is the hub's clock in process, else now."""
        nx = self.credentials["nxcloud"]
        raw = body if isinstance(body, bytes) else orjson.dumps({"appkey": self.appkey} | body)
        if ts_ms is None and self.local is not None:
            ts_ms = int(self.hub.clock().timestamp() * 1000)
        signed = signing.sign_headers(
            nx["accessKey"],
            nx["accessSecret"] if secret is None else secret,
            raw,
            action=action,
            ts_ms=ts_ms,
            algorithm=algorithm,
        )
        sent = signed | {"Content-Type": "application/json"} | (headers or {})
        sent = {k: v for k, v in sent.items() if v is not None}
        response = await self.http.post(path, content=raw, headers=sent)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        answer: dict[str, Any] = response.json()
        return answer

    async def mt(self, phone: str, dr: str, journey_token: str | None = None) -> str:
        """An accepted NXCloud `mt` send; returns its requestId."""
        data: dict[str, Any] = {"templateId": "100001", "templateData": {"name": "An"}}
        if journey_token is not None:
            data["journeyToken"] = journey_token
        body = {"phone": phone, "functionType": "template", "messageData": data, "drWebhook": dr, "ext": "x"}
        answer = await self.signed("/v1/zalo/mt", body, action="mt")
        assert answer["code"] == 0, answer
        request_id: str = answer["data"]["requestId"]
        return request_id

    async def journey(self, phone: str) -> dict[str, Any]:
        """An issued journey token (`initJourneyToken`'s data)."""
        body = {"phone": phone, "tokenType": "token_logistics_7"}
        answer = await self.signed("/v1/zalo/initJourneyToken", body, action="initJourneyToken")
        assert answer["code"] == 0, answer
        found: dict[str, Any] = answer["data"]
        return found

    # -- native -------------------------------------------------------------------------------------------------
    async def native(self, message_id: str) -> dict[str, Any]:
        """The message as the native API shows it (with the admin token)."""
        response = await self.http.get(
            f"/v1/messages/{message_id}", headers={"Authorization": f"Bearer {self.admin_token}"}
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    async def aclose(self) -> None:
        """Close what an in-process customer opened (its client and the app's rate limiter)."""
        await self.http.aclose()
        if self.local is not None:
            await esms_api.close_limiter(self.local.api)
            await zalo_wiring.close(self.local.api)  # an ASGI transport runs no lifespan to close it


async def in_process(db: store.Store, config: dict[str, Any] | None = None, **account: Any) -> Customer:
    """A customer of a new in-process dlrhub on `db`; close it with `aclose`.

    `config` holds Settings fields; `account` holds `accounts.create` keyword arguments (`name` defaults to "shop").
    """
    fields = {"admin_token": ADMIN, "max_body_bytes": 1_048_576, **(config or {})}
    hub = hub_.Hub(settings=settings.Settings(**fields), store=db)
    api = app_.create_app(hub)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://dlrhub.test")
    new = await accounts.create(hub, **{"name": "shop", **account})
    return Customer.of(new, hub, api, http)
