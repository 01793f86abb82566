"""Fixtures: the NXCloud customer's account, more customers of its dlrhub, and the Zalo simulator it may send to."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
import uvicorn

from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.services import accounts
from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config
from tests.conftest import make_account
from tests.customers import Customer

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
def customer_account() -> dict[str, Any]:
    return {
        "name": "nx customer",
        "currency": "USD",
        "balance": Decimal("1000"),
        "dr_url": APP_DR_URL,
        "quotation": Decimal("0.0125"),
    }


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
    return customer.another(accounts.NewAccount(account, made[0], oa))


async def new_customer(customer: Customer, **kw: Any) -> Customer:
    """Another customer of the same dlrhub (`accounts.create` keyword arguments)."""
    new = await accounts.create(customer.hub, "another customer", **{"currency": "USD", **kw})
    return customer.another(new)


@pytest.fixture
async def zalo_customer(customer: Customer, zalo_sim: str) -> AsyncIterator[Customer]:
    """The customer, with the app's Zalo client pointed at the simulator."""
    async with zalo_client.ZaloClient(api_base=zalo_sim, timeout=5.0) as zalo:
        customer.api.state.zalo_client = zalo
        yield customer
