"""Helpers for the channel tests: dlrhub's app (simulator mounted) in uvicorn on a pre-bound loopback port."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import uvicorn

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.core import models
from dlrhub.dialects.zalo import webhook
from dlrhub.services import accounts, nxcloud
from dlrhub.services import hub as hub_
from dlrhub.services import zalo_wiring as wiring
from dlrhub.simulator import app as simulator
from dlrhub.workers import zalo_channel as worker


class Clock:
    """A clock tests can move forward."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


@dataclasses.dataclass
class Running:
    hub: hub_.Hub
    clock: Clock
    url: str
    http: httpx.AsyncClient
    sim: simulator.Simulator
    new: accounts.NewAccount
    worker: worker.ChannelWorker

    async def send(self, phone: str, **extra: Any) -> models.Message:
        """Accept an NXCloud `mt` for `phone` (queued for the channel, not yet sent)."""
        body = {
            "appkey": self.new.app.appkey,
            "phone": phone,
            "functionType": "template",
            "messageData": {"templateId": "100001", "templateData": {"name": "An"}},
            **extra,
        }
        return await nxcloud.send_mt(self.hub, self.new.account, orjson.dumps(body))

    async def send_all(self) -> None:
        """Run the worker until the queue is empty, then wait for the sends and the receipts."""
        while await self.worker.run_once():
            pass
        await self.worker.drain()
        await self.sim.outbox.drain()

    async def kinds(self, message_id: str) -> list[tuple[str, int | None, bool]]:
        return [(e.kind.value, e.code, e.applied) for e in await self.hub.store.list_events(message_id)]

    async def post_event(
        self, body: dict[str, Any], *, secret: str | None = None, zns: bool = True
    ) -> httpx.Response:
        """POST a webhook event signed with the OA secret (or `secret`), as Zalo would."""
        raw = webhook.encode(body)
        oa = self.new.oa
        headers = {
            "Content-Type": "application/json",
            webhook.SIGNATURE_HEADER: webhook.signature(
                oa.app_id, raw, body["timestamp"], oa.oa_secret if secret is None else secret
            ),
        }
        if zns:
            headers[webhook.SERVER_HEADER] = "ZNS"
        return await self.http.post(wiring.WEBHOOK_PATH, content=raw, headers=headers)

    def receipt(self, msg_id: str, tracking_id: str | None, phone: str = "84900000300") -> dict[str, Any]:
        now = str(int(self.clock().timestamp() * 1000))
        return {
            "sender": {"id": self.new.oa.oa_id},
            "recipient": {"id": phone},
            "event_name": "user_received_message",
            "message": {"delivery_time": now, "msg_id": msg_id, "tracking_id": tracking_id},
            "app_id": self.new.oa.app_id,
            "timestamp": now,
        }


@asynccontextmanager
async def running(
    db: store.Store, *, account: dict[str, Any] | None = None, **overrides: Any
) -> AsyncIterator[Running]:
    """dlrhub's app over `db`, served on loopback with the simulator mounted, plus a worker (not looping);
    `overrides` are settings, `account` the account's choices (`accounts.create`'s keywords)."""
    await db.migrate()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    fields: dict[str, Any] = {
        "port": port,
        "zalo_mode": "simulator",
        "simulator_receipt_delay_s": 0.02,
        "zalo_timeout_s": 2.0,
    }
    fields.update(overrides)
    clock = Clock()
    hub = hub_.Hub(settings=settings.Settings(**fields), store=db, clock=clock)
    app = app_.create_app(hub)
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", ws="none", lifespan="on", timeout_graceful_shutdown=2)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        new = await accounts.create(hub, "zalo customer", **(account or {}))
        url = wiring.local_base(hub.settings)
        async with wiring.make_client(hub.settings) as zalo, httpx.AsyncClient(base_url=url) as http:
            yield Running(
                hub, clock, url, http, app.state.zalo_simulator, new, worker.ChannelWorker(hub, zalo)
            )
    finally:
        server.should_exit = True
        await task
        sock.close()
