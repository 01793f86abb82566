"""The pruner worker: started with the dispatcher and the Zalo channel, one logged round at start and then one
every `prune_interval_s`, counted in `dlrhub_pruned_rows_total`, a failed round waiting for the next."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from dlrhub import runtime, settings, store
from dlrhub.core import control
from dlrhub.services import hub as hub_
from dlrhub.services import retention
from dlrhub.workers import pruner

NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


async def no_pause(_took_s: float) -> None:
    """Tests take no time between chunks."""


def test_every_process_with_workers_runs_the_pruner() -> None:
    assert pruner.run in runtime.workers()
    assert runtime.worker_name(pruner.run) == "pruner"


async def test_a_round_logs_its_counts_and_feeds_the_metric(db: store.Store, caplog) -> None:
    for n in range(3):
        await db.append_audit(
            control.AuditEntry(f"a{n}", NOW - dt.timedelta(days=400), "cli:ops", "x.y", "t", {})
        )
    hub = hub_.Hub(settings=settings.Settings(prune_chunk_rows=2), store=db, clock=lambda: NOW)
    with caplog.at_level(logging.INFO, logger="dlrhub.prune"):
        await pruner.round_once(hub, asyncio.Event(), pause=no_pause)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "dlrhub.prune"]
    assert line.startswith("prune: deleted ") and "audit_log=3 " in line and "callbacks=0 " in line
    assert b'dlrhub_pruned_rows_total{kind="audit_log"} 3.0' in hub.metrics.render()


async def test_a_failed_round_is_logged_and_the_worker_goes_on(db: store.Store, caplog, monkeypatch) -> None:
    hub = hub_.Hub(settings=settings.Settings(prune_interval_s=0.01), store=db, clock=lambda: NOW)
    stop = asyncio.Event()
    rounds = []

    async def failing(_hub: hub_.Hub, **_kw: object) -> store.Pruned:
        rounds.append(1)
        if len(rounds) == 2:
            stop.set()
        raise RuntimeError("boom")

    monkeypatch.setattr(retention, "prune", failing)
    with caplog.at_level(logging.ERROR, logger="dlrhub.prune"):
        await asyncio.wait_for(pruner.run(hub, stop), timeout=10)
    assert len(rounds) == 2
    assert sum("prune: the round failed" in r.getMessage() for r in caplog.records) == 2


@pytest.mark.parametrize("name", ["prune_interval_s", "prune_chunk_rows"])
def test_the_pruner_settings_refuse_zero(name: str) -> None:
    with pytest.raises(Exception, match=name):
        settings.load({f"DLRHUB_{name.upper()}": "0"})
