"""The dispatcher's endpoint judgements against the store's rows, on each backend, in an explicit order: a row read
from the store never replaces a judgement it predates (one not stored yet, or made while the read was on its way).

Otherwise an endpoint healed by this process but read back as paused is sent to early, and its heal, judged
during the pause the store keeps, is never stored: the endpoint stays paused although everything was delivered.
With two dispatchers on one store, one that heals the endpoint before seeing the other's pause takes the pause the
store kept instead of its heal, so both hold the endpoint's callbacks until the probe at its end.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

from dlrhub import store
from dlrhub.core import breaker, models
from dlrhub.workers import dispatch_cache as cache_
from dlrhub.workers import endpoint_health
from tests.integration.engine import test_sender
from tests.integration.engine.test_dispatcher import config

S = models.EndpointState
A = breaker.Admission
BREAKER = breaker.BreakerConfig(failures=3, pause=dt.timedelta(seconds=30), max_pause=dt.timedelta(minutes=5))
#: Every read of an endpoint's health goes to the store: the widest window for a stale row.
CFG = config(breaker=BREAKER, endpoint_cache_s=0)


def callback(url: str = "http://a.example/hook") -> models.Callback:
    return endpoint_health.keyed(
        dataclasses.replace(test_sender.callback(url), endpoint="http://a.example:80")
    )


def attempt(outcome: models.AttemptOutcome, status: int | None = None) -> models.Attempt:
    return models.Attempt("cb_test", 1, dt.datetime.now(dt.UTC), 1.0, outcome, status)


FAILED = attempt(models.AttemptOutcome.CONNECT)
OK = attempt(models.AttemptOutcome.OK, 200)


async def store_now(db: store.Store, judgements: endpoint_health.Judgements, now: dt.datetime) -> None:
    """What the dispatcher's flush does with its judgements, in one go."""
    await judgements.write(db, judgements.take(), now)
    judgements.stored()


async def test_a_judgement_being_stored_is_not_read_back_from_the_older_row(db):
    cb = callback()
    judgements = endpoint_health.Judgements(cache_.DispatchCache(db, CFG))
    now = dt.datetime.now(dt.UTC)
    # An earlier flush stored the first pause, now over; the dispatcher read it.
    first = models.Endpoint(
        cb.health_key, S.PAUSED, 3, now - dt.timedelta(seconds=40), now, now - dt.timedelta(seconds=30)
    )
    await db.put_endpoints([first])
    seen = await judgements.health({cb.health_key}, now)
    assert breaker.admission(seen[cb.health_key], now) is A.PROBE
    # Its probe fails: paused again, for twice as long.
    _, again = judgements.judge(cb, FAILED, now, BREAKER, gone_disables=True)
    assert again.paused_until == now + dt.timedelta(seconds=60)
    changes = judgements.take()
    # A claim reads the endpoint's health while the flush is storing the new pause: the store still holds the
    # first one, over. Read back, it would send a second probe at once, and its heal would never be stored.
    seen = await judgements.health({cb.health_key}, now)
    assert seen[cb.health_key] == again
    assert breaker.admission(seen[cb.health_key], now) is A.WAIT
    await judgements.write(db, changes, now)
    judgements.stored()
    # Stored: read from the store again, as an operator's resume would be.
    seen = await judgements.health({cb.health_key}, now)
    assert (seen[cb.health_key].state, seen[cb.health_key].paused_until) == (S.PAUSED, again.paused_until)
    # The probe at the pause's end heals the endpoint, in the store too.
    healed_at = again.paused_until
    assert healed_at is not None
    assert breaker.admission(seen[cb.health_key], healed_at) is A.PROBE
    _, healed = judgements.judge(cb, OK, healed_at, BREAKER, gone_disables=True)
    assert healed.state is S.HEALTHY
    await store_now(db, judgements, healed_at)
    assert (await db.get_endpoints([cb.health_key]))[cb.health_key].state is S.HEALTHY


class HeldReads:
    """A store whose endpoint reads wait, once `hold` is set, until the test lets them go."""

    def __init__(self, db: store.Store) -> None:
        self.db = db
        self.hold = False
        self.reading = asyncio.Event()
        self.go = asyncio.Event()

    async def get_endpoints(self, endpoints: list[str]) -> dict[str, models.Endpoint]:
        found = await self.db.get_endpoints(endpoints)
        if self.hold:
            self.reading.set()
            await self.go.wait()
        return found

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)


async def test_a_key_judged_while_its_health_is_being_read_keeps_the_judgement(db):
    cb = callback()
    held = HeldReads(db)
    judgements = endpoint_health.Judgements(cache_.DispatchCache(held, CFG))  # type: ignore[arg-type]
    now = dt.datetime.now(dt.UTC)
    # Two failures judged and stored.
    for _ in range(2):
        judgements.judge(cb, FAILED, now, BREAKER, gone_disables=True)
    await store_now(db, judgements, now)
    held.hold = True
    reading = asyncio.create_task(judgements.health({cb.health_key}, now))
    await held.reading.wait()
    # The third failure answers while a claim's read of the endpoint is on its way: the breaker opens.
    _, paused = judgements.judge(cb, FAILED, now, BREAKER, gone_disables=True)
    assert paused.state is S.PAUSED
    held.go.set()
    # The row read (two failures, healthy) predates the pause: the pause stands.
    assert (await reading)[cb.health_key] == paused
    assert judgements.caches.endpoint(cb.health_key, now) == paused
    await store_now(db, judgements, now)
    assert (await db.get_endpoints([cb.health_key]))[cb.health_key].state is S.PAUSED


async def test_a_success_sent_before_the_pause_leaves_the_dispatcher_and_the_store_agreeing(db):
    cb = callback()
    judgements = endpoint_health.Judgements(cache_.DispatchCache(db, CFG))
    now = dt.datetime.now(dt.UTC)
    for _ in range(3):
        _, paused = judgements.judge(cb, FAILED, now, BREAKER, gone_disables=True)
    await store_now(db, judgements, now)
    # An attempt in flight when the breaker opened succeeds during the pause. The store keeps a running pause
    # against the dispatcher's writes: a heal judged now would be dropped there, and the endpoint left paused
    # for good while this dispatcher, believing it healthy, delivers everything.
    during = now + dt.timedelta(seconds=1)
    judgements.judge(cb, OK, during, BREAKER, gone_disables=True)
    await store_now(db, judgements, during)
    stored = (await db.get_endpoints([cb.health_key]))[cb.health_key]
    assert judgements.caches.endpoint(cb.health_key, during).state is stored.state is S.PAUSED
    assert paused.paused_until is not None
    _, healed = judgements.judge(cb, OK, paused.paused_until, BREAKER, gone_disables=True)
    await store_now(db, judgements, paused.paused_until)
    assert (await db.get_endpoints([cb.health_key]))[cb.health_key].state is healed.state is S.HEALTHY


async def test_a_heal_judged_before_seeing_another_dispatchers_pause_leaves_both_agreeing_with_the_store(db):
    cb = callback()
    # Two dispatchers on one store; the second trusts what it read for a while (as with `endpoint_cache_s`).
    first = endpoint_health.Judgements(cache_.DispatchCache(db, CFG))
    second = endpoint_health.Judgements(
        cache_.DispatchCache(db, config(breaker=BREAKER, endpoint_cache_s=60))
    )
    now = dt.datetime.now(dt.UTC)
    await second.health({cb.health_key}, now)
    second.judge(cb, FAILED, now, BREAKER, gone_disables=True)
    await store_now(db, second, now)
    # The first dispatcher's failures open the breaker; the second has not read the endpoint since.
    for _ in range(3):
        _, paused = first.judge(cb, FAILED, now, BREAKER, gone_disables=True)
    assert paused.paused_until is not None
    await store_now(db, first, now)
    # An attempt the second sent before it knew of the pause succeeds: judged from its view, a heal.
    during = now + dt.timedelta(seconds=1)
    _, healed = second.judge(cb, OK, during, BREAKER, gone_disables=True)
    assert healed.state is S.HEALTHY
    await store_now(db, second, during)
    # The store keeps the running pause, as the breaker does within one dispatcher (the probe at its end decides),
    # and the second dispatcher now holds the endpoint's callbacks too, instead of sending on to a paused endpoint.
    stored = (await db.get_endpoints([cb.health_key]))[cb.health_key]
    assert (stored.state, stored.paused_until) == (S.PAUSED, paused.paused_until)
    assert second.caches.endpoint(cb.health_key, during) == stored
    seen = await second.health({cb.health_key}, during)
    assert breaker.admission(seen[cb.health_key], during) is A.WAIT
    # The probe at the pause's end heals it, whichever dispatcher sends it.
    _, probed = second.judge(cb, OK, paused.paused_until, BREAKER, gone_disables=True)
    assert probed.state is S.HEALTHY
    await store_now(db, second, paused.paused_until)
    assert (await db.get_endpoints([cb.health_key]))[cb.health_key].state is S.HEALTHY
