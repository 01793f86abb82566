"""Fixtures: a hub on each backend with one eSMS customer, and its front door over in-process HTTP."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import fastapi
import httpx
import orjson
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.api import esms as esms_api
from dlrhub.services import accounts
from dlrhub.services import hub as hub_

SEND = "/MainService.svc/json/"


@dataclasses.dataclass
class Customer:
    """One eSMS customer of a running dlrhub."""

    hub: hub_.Hub
    api: fastapi.FastAPI
    http: httpx.AsyncClient
    new: accounts.NewAccount

    @property
    def creds(self) -> dict[str, str]:
        return {"ApiKey": self.new.account.esms_api_key, "SecretKey": self.new.account.esms_secret_key}

    @property
    def oa_id(self) -> str:
        return self.new.oa.oa_id

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
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return await self.http.post(path, content=content, headers={"content-type": "application/json"})


async def open_customer(db: store.Store, **config: Any) -> tuple[Customer, fastapi.FastAPI]:
    hub = hub_.Hub(settings=settings.Settings(**{"max_body_bytes": 1_048_576, **config}), store=db)
    api = app_.create_app(hub)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://dlrhub.test")
    new = await accounts.create(hub, "shop")
    return Customer(hub=hub, api=api, http=http, new=new), api


@pytest.fixture
async def customer(db: store.Store) -> AsyncIterator[Customer]:
    c, api = await open_customer(db)
    try:
        yield c
    finally:
        await c.http.aclose()
        await esms_api.close_limiter(api)
