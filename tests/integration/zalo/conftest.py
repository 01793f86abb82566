"""Fixtures: the Zalo simulator in uvicorn on an ephemeral loopback port, posting to the shared receiver."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvicorn

from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config
from tests import receivers

#: Where the simulator posts its webhook events.
WEBHOOK = "/zalo/webhook"


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
    receiver: receivers.Receiver,
) -> AsyncIterator[Callable[..., Any]]:
    """Start a simulator posting to the receiver; keyword arguments override SimulatorConfig fields."""
    running: list[tuple[uvicorn.Server, asyncio.Task[None]]] = []

    async def start(**overrides: Any) -> RunningSimulator:
        fields: dict[str, Any] = {
            "webhook_url": receiver.url(WEBHOOK),
            "receipt_delay": 0.05,
            "retry_delay": 0.05,
        }
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
