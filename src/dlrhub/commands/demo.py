"""`dlrhub demo`: a few hundred sends through both dialects' front doors to the Zalo simulator, watched live."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import secrets
import socket
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import aiohttp
import orjson
import typer
import uvicorn
from aiohttp import web
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dlrhub import runtime, settings
from dlrhub.api import app as app_
from dlrhub.core import models
from dlrhub.dialects.nxcloud import signing
from dlrhub.services import accounts
from dlrhub.services import hub as hub_
from dlrhub.simulator import modes as simulator_modes

#: The mix of simulator modes, by position in a cycle of 20 sends per dialect (sends alternate between the
#: dialects); the rest succeed and are delivered.
MIX = {
    0: simulator_modes.Mode.ERROR_118,
    1: simulator_modes.Mode.ERROR_114,
    2: simulator_modes.Mode.NO_ANSWER,
    3: simulator_modes.Mode.ERROR_124,
    4: simulator_modes.Mode.RECEIPT_TWICE,
    5: simulator_modes.Mode.RECEIPT_FIRST,
    6: simulator_modes.Mode.NO_RECEIPT,
    7: simulator_modes.Mode.OUT_OF_QUOTA,
}
_SUFFIX = {rule.mode: rule.suffix for rule in simulator_modes.MODES}
_FINAL = {models.MessageState.DELIVERED, models.MessageState.FAILED}


@dataclasses.dataclass
class Summary:
    """What a demo run saw."""

    sent: int
    states: dict[tuple[str, str], int]
    callbacks: dict[models.CallbackState, int]
    received: int
    #: Seconds from each send request to each of its callbacks arriving, and to its first one.
    latencies: list[float]
    first_latencies: list[float]
    finished: bool


def _phone(i: int, dialect: models.Dialect) -> tuple[str, simulator_modes.Mode]:
    mode = MIX.get((i // 2) % 20, simulator_modes.Mode.OK)
    suffix = _SUFFIX.get(mode, f"3{i % 100:02d}")
    stem = f"09{i:05d}" if dialect is models.Dialect.ESMS else f"849{i:05d}"
    return stem + suffix, mode


class _Receiver:
    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = collections.defaultdict(list)
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        key = request.query.get("SMSID") or (orjson.loads(raw).get("requestId") if raw else None)
        self.arrivals[str(key)].append(time.monotonic())
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def _dlrhub(workdir: Path) -> AsyncIterator[tuple[hub_.Hub, str]]:
    """dlrhub in this process: API, simulator and workers on a fresh SQLite file and a free loopback port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = settings.Settings(
        database_url=f"sqlite:///{workdir / 'demo.sqlite3'}",
        host="127.0.0.1",
        port=sock.getsockname()[1],
        admin_token=secrets.token_urlsafe(24),
        zalo_mode="simulator",
        zalo_timeout_s=2.0,
        simulator_receipt_delay_s=0.2,
        callback_allow=("127.0.0.1",),
        demo_account=False,
        log_level="warning",
    )
    hub = hub_.Hub.open(config)
    await hub.store.migrate()
    server = uvicorn.Server(
        uvicorn.Config(app_.create_app(hub), log_level="warning", ws="none", lifespan="on", access_log=False)
    )
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stop = asyncio.Event()
    workers = [asyncio.create_task(w(hub, stop)) for w in runtime.workers()]
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0.02)
        yield hub, f"http://127.0.0.1:{config.port}"
    finally:
        stop.set()
        await asyncio.gather(*workers, return_exceptions=True)
        server.should_exit = True
        await serving
        await hub.close()
        sock.close()


async def _send_all(
    http: aiohttp.ClientSession,
    new: accounts.NewAccount,
    count: int,
    callback_base: str,
    started: dict[str, float],
) -> dict[str, simulator_modes.Mode]:
    modes: dict[str, simulator_modes.Mode] = {}
    limit = asyncio.Semaphore(16)

    async def one(i: int) -> None:
        dialect = models.Dialect.ESMS if i % 2 == 0 else models.Dialect.NXCLOUD
        phone, mode = _phone(i, dialect)
        async with limit:
            t0 = time.monotonic()
            if dialect is models.Dialect.ESMS:
                e = new.credentials()["esms"]
                assert isinstance(e, dict)
                body = {
                    "ApiKey": e["ApiKey"],
                    "SecretKey": e["SecretKey"],
                    "OAID": e["OAID"],
                    "TempID": e["TempIDs"][0],
                    "TempData": {"name": "An"},
                    "Phone": phone,
                    "CallbackUrl": f"{callback_base}/esms",
                }
                async with http.post("/MainService.svc/json/SendZaloMessage_V6/", json=body) as answer:
                    message_id = (await answer.json(content_type=None)).get("SMSID")
            else:
                raw = orjson.dumps(
                    {
                        "appkey": new.app.appkey,
                        "phone": phone,
                        "functionType": "template",
                        "messageData": {"templateId": "100001", "templateData": {"name": "An"}},
                        "drWebhook": f"{callback_base}/nx",
                    }
                )
                headers = signing.sign_headers(new.account.nx_access_key, new.account.nx_access_secret, raw)
                async with http.post(
                    "/v1/zalo/mt", data=raw, headers=headers | {"Content-Type": "application/json"}
                ) as answer:
                    message_id = ((await answer.json(content_type=None)).get("data") or {}).get("requestId")
        if message_id:
            started[message_id] = t0
            modes[message_id] = mode

    await asyncio.gather(*(one(i) for i in range(count)))
    return modes


def _done(message: models.Message, mode: simulator_modes.Mode) -> bool:
    if mode is simulator_modes.Mode.NO_RECEIPT:
        return message.state is models.MessageState.SUCCESS
    return message.state in _FINAL


async def run_demo(count: int, within_s: float, console: Console) -> Summary:
    """Run the demo; returns what it saw (also printed)."""
    receiver = _Receiver()
    await receiver.start()
    started: dict[str, float] = {}
    finished = False
    try:
        with tempfile.TemporaryDirectory() as tmp:
            async with _dlrhub(Path(tmp)) as (hub, base):
                new = await accounts.create(hub, "demo", balance=Decimal(10**9))
                async with aiohttp.ClientSession(
                    base_url=base, timeout=aiohttp.ClientTimeout(total=30)
                ) as http:
                    # The OA's templates come from Zalo (here the simulator) as an operator's would.
                    admin = {"Authorization": f"Bearer {hub.settings.admin_token}"}
                    async with http.post(f"/v1/admin/oas/{new.oa.oa_id}/templates/sync", headers=admin) as r:
                        r.raise_for_status()
                    with Progress(
                        TextColumn("[bold]{task.description}"),
                        BarColumn(),
                        MofNCompleteColumn(),
                        TimeElapsedColumn(),
                        console=console,
                    ) as progress:
                        sending = progress.add_task("sent", total=count)
                        settled = progress.add_task("settled", total=count)
                        sender = asyncio.create_task(_send_all(http, new, count, receiver.url, started))
                        deadline = time.monotonic() + within_s
                        while time.monotonic() < deadline:
                            await asyncio.sleep(0.25)
                            progress.update(sending, completed=len(started))
                            if not sender.done():
                                continue
                            modes = sender.result()
                            found = await hub.store.get_messages(new.account.id, list(modes))
                            done = sum(_done(m, modes[m.id]) for m in found)
                            pending = (await hub.store.count_callbacks()).get(models.CallbackState.PENDING, 0)
                            progress.update(settled, completed=done)
                            if done == len(modes) and pending == 0:
                                finished = True
                                break
                        modes = await sender
                found = await hub.store.get_messages(new.account.id, list(modes))
                states = collections.Counter((m.dialect.value, m.state.value) for m in found)
                callbacks = await hub.store.count_callbacks()
    finally:
        if receiver.runner is not None:
            await receiver.runner.cleanup()
    latencies = [t - started[k] for k, ts in receiver.arrivals.items() if k in started for t in ts]
    firsts = [min(ts) - started[k] for k, ts in receiver.arrivals.items() if k in started and ts]
    return Summary(
        sent=len(started),
        states=dict(states),
        callbacks=callbacks,
        received=sum(len(v) for v in receiver.arrivals.values()),
        latencies=latencies,
        first_latencies=firsts,
        finished=finished,
    )


def _pct(values: list[float], q: int) -> str:
    if len(values) < 2:
        return f"{values[0] * 1000:.0f} ms" if values else "-"
    return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.0f} ms"


def print_summary(summary: Summary, console: Console) -> None:
    """The statuses, callbacks and latency tables."""
    states = Table(title=f"{summary.sent} messages by status")
    for column in ("dialect", "status", "messages"):
        states.add_column(column)
    for (dialect, state), n in sorted(summary.states.items()):
        states.add_row(dialect, state, str(n))
    console.print(states)
    delivery = Table(title="callbacks")
    delivery.add_column("what")
    delivery.add_column("value", justify="right")
    for state, n in sorted(summary.callbacks.items()):
        delivery.add_row(f"callbacks {state.value}", str(n))
    delivery.add_row("received by the local receiver", str(summary.received))
    delivery.add_row(
        "send → first callback p50 / p99",
        f"{_pct(summary.first_latencies, 50)} / {_pct(summary.first_latencies, 99)}",
    )
    delivery.add_row(
        "send → any callback p50 / p99", f"{_pct(summary.latencies, 50)} / {_pct(summary.latencies, 99)}"
    )
    console.print(delivery)
    if not summary.finished:
        console.print("[yellow]not everything settled in time[/yellow]")


def demo(
    count: Annotated[
        int, typer.Option("--count", "-n", min=1, max=5000, help="How many messages to send.")
    ] = 300,
    within: Annotated[
        float, typer.Option("--within", help="Seconds to wait for everything to settle.")
    ] = 120.0,
) -> None:
    """Send COUNT messages through the eSMS and NXCloud front doors to the built-in Zalo simulator (errors, timeouts
    and late receipts included, by number), with a local receiver; show progress, then statuses, callbacks and
    latency. Runs on a throwaway SQLite file and free loopback ports: no network, nothing kept."""
    console = Console()
    result: list[Summary] = []

    async def main() -> None:
        result.append(await run_demo(count, within, console))

    runtime.start(main)
    print_summary(result[0], console)
    if not result[0].finished:
        raise typer.Exit(1)
