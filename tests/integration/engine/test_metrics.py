"""`/metrics` after real activity, on each backend: every family, the histograms, the backlog and its age, and the
failing endpoint named with its account (one process, as `dlrhub serve` runs)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import httpx

from dlrhub import settings
from dlrhub.adapters import metrics, sender
from dlrhub.api import app as app_
from dlrhub.core import models, urls
from dlrhub.services import events
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatcher
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import LOOPBACK, config, eventually, ingest, states
from tests.receivers import Receiver

S = models.CallbackState


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the series `name{labels}` in a scrape (labels in any order), or None."""
    for line in text.splitlines():
        found = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if found is None:
            continue
        have = dict(re.findall(r'(\w+)="([^"]*)"', found.group(1) or ""))
        if have == labels:
            return float(found.group(2))
    return None


def families(text: str) -> set[str]:
    """The families a scrape shows, named as `metrics.FAMILIES` names them (a counter without `_total`)."""
    return {name.removesuffix("_total") for name in re.findall(r"^# TYPE (\w+) ", text, flags=re.M)}


async def test_metrics_after_activity(db):
    hub = hub_.Hub(settings=settings.Settings(metrics_top_endpoints=5), store=db)
    account = make_account()
    await db.create_account(account, [])
    async with Receiver() as rec:
        rec.scripts["/down"] = [500] * 50
        await ingest(db, account, "ok1", models.EventKind.SUCCESS, rec.url("/ok"))
        cfg = config()
        scfg = sender.SenderConfig(timeout_s=2, pool_size=8, per_endpoint=4, allow=LOOPBACK)
        stop = asyncio.Event()
        async with sender.Sender(scfg) as snd:
            d = dispatcher.Dispatcher(db, snd, cfg, rand=lambda: 0.5, meter=hub.metrics)
            task = asyncio.create_task(d.run(stop))
            try:
                await eventually(lambda: _succeeded(db, "ok1"))
            finally:
                stop.set()
                await task
        # The failing destination on another port, so the healthy one stays out of it.
        async with Receiver() as down:
            down.scripts["/down"] = [500] * 50
            await ingest(db, account, "bad1", models.EventKind.SUCCESS, down.url("/down"))
            stop = asyncio.Event()
            async with sender.Sender(scfg) as snd:
                d = dispatcher.Dispatcher(db, snd, cfg, rand=lambda: 0.5, meter=hub.metrics)
                task = asyncio.create_task(d.run(stop))
                try:
                    await eventually(lambda: _attempted(down, 2))
                finally:
                    stop.set()
                    await task
            # Named by the label of the account's endpoint: its origin, its path only as a digest.
            bad_endpoint = urls.health_label((await db.list_callbacks("bad1"))[0].health_key)
    await ingest(
        db, account, "late", models.EventKind.SUCCESS, "http://127.0.0.1:9/hook"
    )  # due, never claimed
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app_.create_app(hub)), base_url="http://t"
    ) as http:
        text = (await http.get("/metrics")).text
    assert families(text) >= set(metrics.FAMILIES)
    assert sample(text, "dlrhub_callback_attempts_total", outcome="ok") == 1
    assert sample(text, "dlrhub_callback_attempt_duration_seconds_count", dialect="native", outcome="ok") == 1
    assert sample(text, "dlrhub_callback_first_attempt_delay_seconds_count", dialect="native") == 2
    assert sample(text, "dlrhub_callback_backlog", dialect="native") == 2  # "bad1" retries, "late" waits
    assert sample(text, "dlrhub_callback_backlog", dialect="esms") == 0
    assert sample(text, "dlrhub_callbacks", state="succeeded") == 1
    assert (sample(text, "dlrhub_callback_oldest_due_age_seconds") or 0) > 0
    failing = sample(
        text, "dlrhub_endpoint_failing", account_id=account.id, endpoint=bad_endpoint, state="healthy"
    )
    assert failing is not None and failing >= 2


async def _succeeded(db, mid: str) -> bool:
    return await states(db, mid) == [S.SUCCEEDED]


async def _attempted(rec: Receiver, n: int) -> bool:
    return len(rec.hits) >= n


async def test_send_to_final_is_observed_once_when_a_message_becomes_final(db):
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    account = make_account()
    await db.create_account(account, [])

    async def event(mid: str, kind: models.EventKind) -> None:
        await events.ingest_external(
            hub,
            events.ExternalEvent(
                event_id=f"{mid}:{kind.value}",
                message_id=mid,
                account_id=account.id,
                kind=kind,
                type_id=24,
                dialect=models.Dialect.NATIVE,
                occurred_at=dt.datetime.now(dt.UTC),
                callback_url="http://127.0.0.1:9/hook",
            ),
        )

    await event("f1", models.EventKind.SUCCESS)
    text = hub.metrics.render().decode()
    assert sample(text, "dlrhub_send_to_final_seconds_count", dialect="native") is None  # not final yet
    await event("f1", models.EventKind.DELIVERED)
    await event("f1", models.EventKind.DELIVERED)  # a duplicate observes nothing more
    await event("f2", models.EventKind.FAILED)  # a send that failed: final at once
    text = hub.metrics.render().decode()
    assert sample(text, "dlrhub_send_to_final_seconds_count", dialect="native") == 2
