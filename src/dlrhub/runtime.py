"""Running dlrhub: the HTTP server and the background workers of one process, until a signal stops them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import uvicorn

from dlrhub.api import app as app_
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatcher
from dlrhub.workers import zalo_channel as zalo_worker

log = logging.getLogger("dlrhub")

#: A background worker: runs until `stop` is set, then returns.
Worker = Callable[[hub_.Hub, asyncio.Event], Coroutine[Any, Any, None]]


def workers() -> list[Worker]:
    """The background workers of a process: the callback dispatcher and the Zalo channel."""
    return [dispatcher.run, zalo_worker.run]


def stop_on_signals() -> asyncio.Event:
    """An event that SIGINT or SIGTERM sets (where the platform lets the running loop catch them)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def run(hub: hub_.Hub, *, http: bool = True, background: bool = True) -> None:
    """Serve HTTP and/or run the workers until SIGINT or SIGTERM; then stop them and close the store."""
    stop = stop_on_signals()
    tasks: list[asyncio.Task[None]] = []
    if background:
        tasks = [
            asyncio.create_task(w(hub, stop), name=getattr(w, "__module__", "worker")) for w in workers()
        ]
    server: uvicorn.Server | None = None
    try:
        if http:
            config = uvicorn.Config(
                app_.create_app(hub),
                host=hub.settings.host,
                port=hub.settings.port,
                log_level=hub.settings.log_level,
                access_log=False,
                lifespan="on",
            )
            server = uvicorn.Server(config)
            serving = asyncio.create_task(server.serve())
            await asyncio.wait(
                [serving, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
            )
            stop.set()
            server.should_exit = True
            await serving
        else:
            await stop.wait()
    finally:
        stop.set()
        for task in tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception:
                log.exception("worker %s failed while stopping", task.get_name())
        await hub.close()


def start(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run `main` on uvloop when it is installed, else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    uvloop.run(main())
