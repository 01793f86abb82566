"""A Zalo simulator served on loopback from a thread of its own, for tests whose dlrhub runs in another process or
its own event loop (the CLI), so that it stands where the real Zalo would."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator

import uvicorn

from dlrhub.simulator import app as simulator


@contextlib.contextmanager
def serving(sim: simulator.Simulator) -> Iterator[str]:
    """Serve `sim` until the block ends; yields its base URL."""
    config = uvicorn.Config(sim.app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="off")
    server = uvicorn.Server(config)

    async def serve() -> None:
        try:
            await server.serve()
        finally:
            await sim.aclose()  # its webhook poster's session lives on this thread's loop

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the simulator did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
