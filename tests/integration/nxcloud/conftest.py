"""Fixtures: a hub on each backend with one NXCloud customer, its app over HTTP, and a signed-request helper."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import fastapi
import httpx
import orjson
import pytest
import uvicorn

from dlrhub import settings, store
from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.api import app as app_
from dlrhub.dialects.nxcloud import signing
from dlrhub.services import accounts
from dlrhub.services import hub as hub_
from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config
from tests.conftest import make_account

ADMIN = "test-admin-token"
APP_DR_URL = "https://customer.example/app-dr"


def mt_body(**changes: Any) -> dict[str, Any]:
    """A valid `mt` body (without `appkey`); `changes` replace or add fields, `...` removes one."""
    body: dict[str, Any] = {
        "phone": "84901888484",
        "functionType": "template",
        "messageData": {"templateId": "100001", "templateData": {"name": "An", "order": "A-1"}},
    }
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@dataclasses.dataclass
class Customer:
    """One NXCloud customer of a running dlrhub, talking to it over HTTP."""

    hub: hub_.Hub
    api: fastapi.FastAPI
    http: httpx.AsyncClient
    new: accounts.NewAccount

    @property
    def appkey(self) -> str:
        return self.new.app.appkey

    async def post(
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
        """POST a signed request; returns the JSON answer after checking it is HTTP 200 JSON."""
        raw = body if isinstance(body, bytes) else orjson.dumps({"appkey": self.appkey} | body)
        if ts_ms is None:
            ts_ms = int(self.hub.clock().timestamp() * 1000)
        signed = signing.sign_headers(
            self.new.account.nx_access_key,
            self.new.account.nx_access_secret if secret is None else secret,
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

    async def native(self, message_id: str) -> dict[str, Any]:
        response = await self.http.get(
            f"/v1/messages/{message_id}", headers={"Authorization": f"Bearer {ADMIN}"}
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found


async def _serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
async def zalo_sim() -> AsyncIterator[str]:
    """The Zalo simulator on a loopback port (posting no receipts); yields its base URL."""
    sim = simulator.Simulator(simulator_config.SimulatorConfig(webhook_url=None))
    server, task, url = await _serve(sim.app)
    try:
        yield url
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def hub(db: store.Store) -> hub_.Hub:
    await db.migrate()
    return hub_.Hub(settings=settings.Settings(admin_token=ADMIN, max_body_bytes=1_048_576), store=db)


@pytest.fixture
def api(hub: hub_.Hub) -> fastapi.FastAPI:
    return app_.create_app(hub)


@pytest.fixture
async def http(api: fastapi.FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api), base_url="http://t") as client:
        yield client


async def custom_customer(
    customer: Customer, apps: dict[str, dict[str, Any]], **account_changes: Any
) -> Customer:
    """Another customer with its own OA and apps made from `customer`'s app: appkey -> App field changes."""
    account = make_account(**account_changes)
    oa = dataclasses.replace(customer.new.oa, oa_id=f"oa-{account.id}", account_id=account.id)
    made = [
        dataclasses.replace(customer.new.app, account_id=account.id, oa_id=oa.oa_id, appkey=appkey)
        for appkey in apps
    ]
    made = [dataclasses.replace(app, **apps[app.appkey]) for app in made]
    await customer.hub.store.create_account(account, made)
    await customer.hub.store.put_oa(oa)
    return Customer(customer.hub, customer.api, customer.http, accounts.NewAccount(account, made[0], oa))


async def new_customer(customer: Customer, **kw: Any) -> Customer:
    """Another customer of the same dlrhub (`accounts.create` keyword arguments)."""
    new = await accounts.create(customer.hub, "another customer", **{"currency": "USD", **kw})
    return Customer(customer.hub, customer.api, customer.http, new)


@pytest.fixture
async def customer(hub: hub_.Hub, api: fastapi.FastAPI, http: httpx.AsyncClient) -> Customer:
    new = await accounts.create(
        hub,
        "nx customer",
        currency="USD",
        balance=Decimal("1000"),
        dr_url=APP_DR_URL,
        quotation=Decimal("0.0125"),
    )
    return Customer(hub, api, http, new)


@pytest.fixture
async def zalo_customer(customer: Customer, zalo_sim: str) -> AsyncIterator[Customer]:
    """The customer, with the app's Zalo client pointed at the simulator."""
    async with zalo_client.ZaloClient(api_base=zalo_sim, timeout=5.0) as zalo:
        customer.api.state.zalo_client = zalo
        yield customer
