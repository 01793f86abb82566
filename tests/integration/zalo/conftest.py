"""Fixtures: the Zalo simulator in uvicorn on an ephemeral loopback port, and a real aiohttp receiver."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn
from aiohttp import web

from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config


@dataclasses.dataclass
class Posted:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A real HTTP server on 127.0.0.1 that records every POST and answers `status`."""

    def __init__(self) -> None:
        self.posts: list[Posted] = []
        self.status = 200
        self.url = ""
        self._arrived = asyncio.Condition()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        async with self._arrived:
            self.posts.append(Posted(dict(request.headers), body))
            self._arrived.notify_all()
        return web.Response(status=self.status, text="ok")

    async def wait_for(self, count: int) -> list[Posted]:
        """Wait until `count` posts arrived (fails the test after 10 s)."""
        async with asyncio.timeout(10), self._arrived:
            await self._arrived.wait_for(lambda: len(self.posts) >= count)
        return self.posts


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    rec.url = f"http://{host}:{port}/zalo/webhook"
    try:
        yield rec
    finally:
        await runner.cleanup()


@dataclasses.dataclass
class RunningSimulator:
    sim: simulator.Simulator
    url: str


async def serve(app: Any) -> tuple[uvicorn.Server, asyncio.Task[None], str]:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_level="warning",
        ws="none",
        lifespan="on",
        timeout_graceful_shutdown=2,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, task, f"http://127.0.0.1:{port}"


@pytest.fixture
async def start_simulator(
    receiver: Receiver,
) -> AsyncIterator[Callable[..., Any]]:
    """Start a simulator posting to the receiver; keyword arguments override SimulatorConfig fields."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> RunningSimulator:
        fields: dict[str, Any] = {"webhook_url": receiver.url, "receipt_delay": 0.05, "retry_delay": 0.05}
        fields.update(overrides)
        sim = simulator.Simulator(simulator_config.SimulatorConfig(**fields))
        server, task, url = await serve(sim.app)
        running.append((server, task))
        return RunningSimulator(sim, url)

    try:
        yield start
    finally:
        for server, task in running:
            server.should_exit = True
            await task
