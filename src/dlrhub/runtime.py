"""Running dlrhub: the HTTP server and the supervised background workers of one process, until a signal stops them.

A worker that raises is restarted after a backoff that doubles; one that keeps crashing takes the process down
(`WorkerGaveUp`, exit status 3), so a process never stays up sending nothing. `/readyz` names a worker while it
is down.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import logging
import signal
import socket
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import uvicorn

from dlrhub.adapters import collector
from dlrhub.api import app as app_
from dlrhub.api import ops
from dlrhub.core import errors
from dlrhub.services import hub as hub_
from dlrhub.workers import alert_watch, dispatcher, pruner
from dlrhub.workers import zalo_channel as zalo_worker

log = logging.getLogger("dlrhub")

#: A background worker: runs until `stop` is set, then returns.
Worker = Callable[[hub_.Hub, asyncio.Event], Coroutine[Any, Any, None]]


def workers() -> list[Worker]:
    """The background workers of a process: the callback dispatcher, the Zalo channel, the alert watch and the
    pruner."""
    return [dispatcher.run, zalo_worker.run, alert_watch.run, pruner.run]


def worker_name(worker: Worker) -> str:
    """The name logs and `/readyz` give a worker: its module's (`dispatcher`, `zalo_channel`, `pruner`)."""
    return str(getattr(worker, "__module__", "worker")).rsplit(".", 1)[-1]


class WorkerGaveUp(Exception):
    """A background worker kept crashing, so the process stops (exit status 3) for its supervisor to see."""


@dataclasses.dataclass(frozen=True, slots=True)
class Restarts:
    """How a crashed worker is restarted: after `backoff_s`, doubling with each crash within `window_s` up to
    `max_backoff_s`; the `max_crashes`-th crash within `window_s` gives up instead."""

    max_crashes: int = 5
    window_s: float = 300.0
    backoff_s: float = 1.0
    max_backoff_s: float = 60.0

    def delay(self, crashes: int) -> float:
        """Seconds to wait before restarting a worker that crashed `crashes` times within the window."""
        return float(min(self.max_backoff_s, self.backoff_s * 2 ** max(0, crashes - 1)))


#: Waits the seconds given, or until the event is set, whichever comes first.
Sleep = Callable[[float, asyncio.Event], Awaitable[None]]


async def _sleep(delay: float, stop: asyncio.Event) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), delay)


class _Returned(Exception):
    """The worker returned although it was not told to stop."""


async def supervise(
    name: str,
    work: Callable[[asyncio.Event], Awaitable[None]],
    stop: asyncio.Event,
    health: hub_.Health,
    restarts: Restarts = Restarts(),
    *,
    sleep: Sleep = _sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run `work(stop)` until `stop` is set, restarting it when it raises (or returns early).

    Logs a line when the worker starts and when it stops. Each crash is logged with its exception and marks
    `name` down in `health` until the restart. Returns once `stop` is set; raises WorkerGaveUp at the
    `restarts.max_crashes`-th crash within `restarts.window_s`.
    """
    crashes: collections.deque[float] = collections.deque()
    about = {"worker": name}
    log.info("worker %s started", name, extra={"event": "worker.started", **about})
    while not stop.is_set():
        try:
            await work(stop)
            if stop.is_set():
                break
            raise _Returned(f"worker {name} returned before it was told to stop")
        except Exception as exc:
            now = clock()
            crashes.append(now)
            while now - crashes[0] > restarts.window_s:
                crashes.popleft()
            health.down[name] = type(exc).__name__
            if len(crashes) >= restarts.max_crashes:
                message = (
                    f"worker {name} crashed {len(crashes)} times within {restarts.window_s:g} s"
                    f" (last: {type(exc).__name__}: {exc})"
                )
                log.critical(
                    "%s; stopping the process",
                    message,
                    exc_info=exc,
                    extra={"event": "worker.gave_up", **about},
                )
                raise WorkerGaveUp(message) from exc
            delay = restarts.delay(len(crashes))
            log.error(
                "worker %s crashed (%d within %g s); restarting it in %g s",
                *(name, len(crashes), restarts.window_s, delay),
                exc_info=exc,
                extra={"event": "worker.crashed", **about},
            )
            await sleep(delay, stop)
            health.down.pop(name, None)
    log.info("worker %s stopped", name, extra={"event": "worker.stopped", **about})


def stop_on_signals() -> asyncio.Event:
    """An event that SIGINT or SIGTERM sets (where the platform lets the running loop catch them)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on `host:port` for the worker's ops routes; raises errors.ConfigError naming
    `worker_port` when it cannot (the port is taken, or the address is not this host's: see `worker_host`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise errors.ConfigError(
            f"setting worker_port (DLRHUB_WORKER_PORT): cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from exc


def _server(hub: hub_.Hub, *, http: bool) -> tuple[uvicorn.Server | None, list[socket.socket] | None]:
    """The HTTP server of a process: the whole API on `port`, or (a worker) only the ops routes on
    `worker_port`, or none when that is 0. The worker's socket is bound here, before any worker starts."""
    settings = hub.settings
    if http:
        app: Any = app_.create_app(hub)
        sockets = None
    elif settings.worker_port:
        app = ops.create_app(hub)
        host = settings.worker_host or settings.host
        sockets = [listen(host, settings.worker_port)]
        log.info("worker: /metrics, /healthz and /readyz on %s:%d", host, sockets[0].getsockname()[1])
    else:
        return None, None
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # uvicorn's lines go to the root logger's one handler (`adapters.logs.configure`), in its format.
        log_config=None,
        access_log=False,
        lifespan="on" if http else "off",
    )
    return uvicorn.Server(config), sockets


async def run(
    hub: hub_.Hub, *, http: bool = True, background: bool = True, restarts: Restarts = Restarts()
) -> None:
    """Serve HTTP and/or run the supervised workers until SIGINT or SIGTERM; then stop them and close the store.

    Without `http`, the ops routes (`/metrics`, `/healthz`, `/readyz`) are served on `worker_port` unless it is 0.
    Raises errors.ConfigError when that port cannot be bound (before any worker starts), and WorkerGaveUp, once
    everything is stopped, when a worker kept crashing (see `supervise`).
    """
    try:
        server, sockets = _server(hub, http=http)
    except BaseException:
        await hub.close()
        raise
    stop = stop_on_signals()
    tasks: list[asyncio.Task[None]] = []
    if background:
        for w in workers():
            name = worker_name(w)
            work = functools.partial(w, hub)
            task = asyncio.create_task(supervise(name, work, stop, hub.health, restarts), name=name)
            # A supervisor ends only on `stop` or by giving up: then the whole process stops.
            task.add_done_callback(lambda _: stop.set())
            tasks.append(task)
    try:
        if server is not None:
            serving = asyncio.create_task(server.serve(sockets=sockets))
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
            except WorkerGaveUp:
                pass  # logged when it gave up; raised below
            except Exception:
                log.exception("worker %s failed while stopping", task.get_name())
        await hub.close()
    for task in tasks:
        failure = task.exception() if task.done() and not task.cancelled() else None
        if isinstance(failure, WorkerGaveUp):
            raise failure


def start(main: Callable[[], Coroutine[Any, Any, None]], *, server: bool = False) -> None:
    """Run `main` on uvloop when it is installed, else on asyncio's own loop. A `server` (a process that runs
    until stopped: `serve`, `api`, `worker`) first tunes the garbage collector (`adapters.collector`)."""
    if server:
        collector.tune()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    uvloop.run(main())
