"""The runtime's supervisor: a crashed worker is restarted after a doubling backoff, logged each time; one that
keeps crashing takes the process down."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dlrhub import runtime, settings
from dlrhub.services import hub as hub_

FAST = runtime.Restarts(max_crashes=3, window_s=60.0, backoff_s=0.001, max_backoff_s=0.004)


async def test_a_worker_that_keeps_crashing_gives_up(caplog: pytest.LogCaptureFixture) -> None:
    health = hub_.Health()
    calls: list[int] = []

    async def worker(stop: asyncio.Event) -> None:
        calls.append(1)
        raise ValueError(f"crash {len(calls)}")

    with pytest.raises(
        runtime.WorkerGaveUp, match=r"worker zalo_channel crashed 3 times within 60 s .*crash 3"
    ):
        await runtime.supervise("zalo_channel", worker, asyncio.Event(), health, FAST)
    assert len(calls) == 3
    assert health.down == {"zalo_channel": "ValueError"}
    restarting = [r for r in caplog.records if "restarting it in" in r.getMessage()]
    assert [r.levelno for r in restarting] == [logging.ERROR, logging.ERROR]
    assert all(r.exc_info is not None for r in restarting), "each crash is logged with its exception"
    assert "stopping the process" in caplog.records[-1].getMessage()


async def test_crashes_outside_the_window_do_not_add_up() -> None:
    now = [0.0]
    calls: list[int] = []
    stop = asyncio.Event()

    async def worker(stop_: asyncio.Event) -> None:
        calls.append(1)
        now[0] += 100.0  # each crash comes 100 s after the last: never 3 within 60 s
        if len(calls) == 6:
            stop.set()
            return
        raise OSError("flaky")

    await runtime.supervise("dispatcher", worker, stop, hub_.Health(), FAST, clock=lambda: now[0])
    assert len(calls) == 6


async def test_a_worker_that_returns_early_counts_as_a_crash() -> None:
    async def worker(stop: asyncio.Event) -> None:
        return None

    with pytest.raises(runtime.WorkerGaveUp, match="_Returned"):
        await runtime.supervise("dispatcher", worker, asyncio.Event(), hub_.Health(), FAST)


def test_the_backoff_doubles_up_to_its_cap() -> None:
    restarts = runtime.Restarts(backoff_s=1.0, max_backoff_s=8.0)
    assert [restarts.delay(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


async def test_run_stops_everything_and_raises_when_a_worker_gives_up(monkeypatch) -> None:
    closed: list[bool] = []

    class Store:
        async def close(self) -> None:
            closed.append(True)

    async def broken(hub: hub_.Hub, stop: asyncio.Event) -> None:
        raise RuntimeError("dead")

    async def healthy(hub: hub_.Hub, stop: asyncio.Event) -> None:
        await stop.wait()

    monkeypatch.setattr(runtime, "workers", lambda: [broken, healthy])
    hub = hub_.Hub(settings=settings.Settings(worker_port=0), store=Store())  # type: ignore[arg-type]
    with pytest.raises(runtime.WorkerGaveUp):
        await asyncio.wait_for(runtime.run(hub, http=False, restarts=FAST), 10)
    assert closed == [True]
