"""A Zalo that does not answer (a worker started before its API) writes one `no answer` line per 10 s, not one
per call."""

from __future__ import annotations

import asyncio
import socket
import types
import typing

from aiohttp import web

from dlrhub import settings
from dlrhub.adapters.zalo import client
from dlrhub.services import hub as hub_
from dlrhub.workers import zalo_channel
from tests import log_lines


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_a_zalo_that_does_not_answer_is_logged_once_per_window() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with log_lines.captured("info") as lines:
        async with client.ZaloClient(api_base=base, oauth_base=base, timeout=2.0) as zalo:
            answers = [await zalo.quota("oa-access-token-not-logged") for _ in range(20)]
    assert all(a.timed_out for a in answers)
    no_answer = [line for line in lines.json() if line["message"].startswith("no answer from")]
    assert len(no_answer) == 1, lines.text
    assert "oa-access-token-not-logged" not in lines.text


class _Counting(client.ZaloClient):
    """Sets `missed` when a call found nothing listening."""

    missed = asyncio.Event()

    async def _call(self, *args: typing.Any, **kwargs: typing.Any) -> bytes:
        try:
            return await super()._call(*args, **kwargs)
        except Exception:
            self.missed.set()
            raise


async def _zalo_error(_: web.Request) -> web.Response:
    return web.json_response({"error": -216, "message": "Access token is invalid"})


async def test_serve_waiting_for_its_own_simulator_logs_no_answer_line() -> None:
    """`dlrhub serve` starts its workers before its server listens; the wait for its simulator is silent."""
    port = closed_port()
    base = f"http://127.0.0.1:{port}"
    config = settings.Settings(zalo_mode="simulator")
    app = web.Application()
    app.router.add_get("/{tail:.*}", _zalo_error)
    runner = web.AppRunner(app, access_log=None)
    with log_lines.captured("info") as lines:
        zalo = _Counting(api_base=base, oauth_base=base, timeout=2.0)
        zalo.missed = asyncio.Event()
        async with zalo:
            hub = typing.cast(hub_.Hub, types.SimpleNamespace(settings=config))
            waiting = asyncio.create_task(zalo_channel._wait_for_simulator(hub, zalo, asyncio.Event()))
            await zalo.missed.wait()  # the server is not listening yet: at least one miss
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            try:
                await waiting
            finally:
                await runner.cleanup()
    assert not [line for line in lines.json() if line["message"].startswith("no answer from")], lines.text


async def test_a_wait_for_the_simulator_that_outlasts_a_start_says_so_once(monkeypatch) -> None:
    """A `dlrhub worker` whose API (serving the simulator) is not running: silent, it would send nothing and say
    nothing; past SIMULATOR_QUIET_S one line names the simulator it waits for."""
    monkeypatch.setattr(zalo_channel, "SIMULATOR_QUIET_S", 0.0)
    base = f"http://127.0.0.1:{closed_port()}"
    config = settings.Settings(zalo_mode="simulator")
    stop = asyncio.Event()
    with log_lines.captured("info") as lines:
        zalo = _Counting(api_base=base, oauth_base=base, timeout=2.0)
        zalo.missed = asyncio.Event()
        async with zalo:
            hub = typing.cast(hub_.Hub, types.SimpleNamespace(settings=config))
            waiting = asyncio.create_task(zalo_channel._wait_for_simulator(hub, zalo, stop))
            for _ in range(3):  # three misses: the line comes after the first, and only once
                zalo.missed.clear()
                await zalo.missed.wait()
            stop.set()
            await waiting
    said = [line for line in lines.json() if "no answer from the Zalo simulator" in line["message"]]
    assert len(said) == 1, lines.text
    assert base in said[0]["message"]
