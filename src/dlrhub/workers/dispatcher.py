"""The dispatcher loop: claim due callbacks under a lease, send them, record attempts in batches, apply retries."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import random
import time
import typing
from collections.abc import Awaitable, Callable

from dlrhub import store
from dlrhub.adapters import metrics, sender, tracing
from dlrhub.core import breaker, errors, models, retry
from dlrhub.core import clock as clock_
from dlrhub.services import alerts
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatch_cache as cache_
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatch_log, endpoint_health, gate, pacing, recorder
from dlrhub.workers import lanes as lanes_

log = logging.getLogger("dlrhub.dispatch")

#: Called with a callback, its endpoint's health (by health key) before its attempt and after, when it changed.
EndpointHook = Callable[[models.Callback, models.Endpoint, models.Endpoint], None]


class DispatchStore(store.Outbox, store.Endpoints, store.Accounts, store.EndpointLimits, typing.Protocol):
    """What the dispatcher uses of the store: the outbox, endpoint health and limits, accounts' signing secrets."""


class Dispatcher:
    """One process's dispatcher. `run(stop)` loops until `stop` is set, then drains what it holds."""

    def __init__(
        self,
        db: DispatchStore,
        snd: sender.Sender,
        config: config_.DispatchConfig | None = None,
        *,
        clock: Callable[[], dt.datetime] = clock_.utcnow,
        meter: metrics.Metrics | None = None,
        owner: str | None = None,
        rand: Callable[[], float] = random.random,
        on_endpoint: EndpointHook | None = None,
        demo_sender: sender.Sender | None = None,
    ) -> None:
        self.store = db
        self.sender = snd
        #: Sends the demo account's callbacks, with the addresses `Hub.demo_allow` opens to it alone.
        self.demo_sender = demo_sender
        self.config = config or config_.DispatchConfig()
        self.clock = clock
        self.metrics = meter
        self.owner = owner or config_.owner_id()
        self.rand = rand
        self.on_endpoint = on_endpoint
        #: Claimed and not yet recorded (or given back), by callback id.
        self.holding: dict[str, models.Callback] = {}
        #: Slots in flight and callbacks waiting for them, per destination host (health is per health key).
        self.lanes = lanes_.Lanes(self.config.per_endpoint)
        self._wake = asyncio.Event()
        self.caches = cache_.DispatchCache(db, self.config)
        self.judgements = endpoint_health.Judgements(self.caches)
        self.recorder = recorder.Recorder(
            db, self.owner, self.config, self.judgements, clock, self.holding, self._wake
        )
        #: Rate limits per destination: a callback waits in its lane's FIFO, slotless, for its token.
        self.pacer = pacing.Pacer(db, self.config.endpoint_cache_s)
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        #: Whether the last claim may have left due callbacks it could take now (claim again at once).
        self._more = False
        #: The destinations the last claim skipped.
        self._excluded: frozenset[str] = frozenset()
        #: `time.monotonic()` of the last claim, and until when a small claim is being held back (0: none).
        self._last_claim = 0.0
        self._claim_at = 0.0
        #: How long after its claim a waiting callback may still start: its attempt and recording must fit.
        self._fresh_s = self.config.lease_s - min(snd.config.timeout_s + 1.0, self.config.lease_s / 2)

    # -- the loop -------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Claim and send until `stop` is set; then wait for attempts in flight and record them."""
        flusher = asyncio.create_task(self.recorder.run(), name="dlrhub-dispatch-flush")
        # All that wakes it sets `_wake`, the store's wake-up too: a new callback reaches `tick` in one step of the
        # loop, a full turn of a loop busy sending a backlog (docs/benchmarks.md "Fair claims").
        self.store.wake_with(self._wake)
        watchers = [asyncio.create_task(self._watch_store()), asyncio.ensure_future(stop.wait())]
        watchers[1].add_done_callback(lambda _: self._wake.set())
        try:
            while not stop.is_set():
                claimed = await self._guarded(self.tick())
                if claimed is None:
                    # The store failed: back off instead of spinning on it.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.config.idle_s)
                elif not self._more:
                    await self._idle()
        finally:
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)
            await self._drain()
            self.recorder.close()
            try:
                await asyncio.wait_for(flusher, timeout=30.0)
            except TimeoutError:
                log.error("dispatch: could not record the last attempts; their leases will expire")

    async def _guarded(self, step: Awaitable[int]) -> int | None:
        try:
            return await step
        except errors.StoreUnavailable:
            return None  # the store logs the outage once
        except Exception:
            log.exception("dispatch: claiming failed; trying again")
            return None

    async def _idle(self) -> None:
        timeout = self.config.idle_s
        if self._claim_at:
            timeout = min(timeout, max(0.0, self._claim_at - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._wake.wait()

    async def _watch_store(self) -> None:
        """Keep the store's wake-up subscribed (LISTEN on PostgreSQL); it sets `_wake` itself (`wake_with`)."""
        while True:
            try:
                await self.store.wait_for_callbacks(self.config.idle_s)
            except Exception as exc:
                if not isinstance(exc, errors.StoreUnavailable):  # the store logs an outage once
                    log.warning(
                        "dispatch: waiting for new callbacks failed (%s); polling", type(exc).__name__
                    )
                await asyncio.sleep(self.config.idle_s)

    async def tick(self) -> int:
        """Claim one batch (as much as the backlog allows) and start sending it; return how many were claimed.

        A fair claim (turns over the accounts, `store.claims`) looks for due callbacks and starts them, skipping the
        destinations known to have a backlog; then those are refilled from their own callbacks as their queues run
        dry. No destination is claimed beyond its lane's cap, so nothing claimed is ever given back for want of a
        slot."""
        # Cleared before claiming, so a flush during the claim still wakes the next round.
        self._wake.clear()
        self._more = False
        room = self.config.max_backlog - len(self.holding)
        if self._hold_back(room):
            return 0
        lanes = self.lanes
        now = self.clock()
        refill: dict[str, int] = {}
        for endpoint in lanes.backlogged:
            if room > 0 and lanes.room(endpoint) >= lanes.quota:
                refill[endpoint] = min(lanes.room(endpoint), room)
                room -= refill[endpoint]
        skip = self._excluded = lanes.full() | lanes.backlogged
        taken = 0
        if room > 0:
            # Look no further than the destinations held could take, plus one more.
            limit = min(self.config.batch_size, room, lanes.quota * (lanes.destinations() + 1))
            self._last_claim = time.monotonic()
            found = await self.store.claim_due_callbacks(
                self.owner, now, limit, self.config.lease_s, quota=lanes.quota, exclude=skip
            )
            per_endpoint = collections.Counter(cb.endpoint for cb in found)
            lanes.backlogged |= {e for e, n in per_endpoint.items() if n >= lanes.quota}
            # A claim cut short by the quota says nothing about what else is due; one that came back short did.
            self._more = len(found) >= limit or any(n >= lanes.quota for n in per_endpoint.values())
            taken += await self._take(found, now)
            if found and refill:
                await asyncio.sleep(0)  # their attempts start before the refill (inline on SQLite)
        if refill:
            self._last_claim = time.monotonic()
            claimed = await self.store.claim_endpoint_callbacks(self.owner, now, refill, self.config.lease_s)
            got = collections.Counter(cb.endpoint for cb in claimed)
            lanes.backlogged -= {e for e, n in refill.items() if got[e] < n}
            taken += await self._take(claimed, now)
        return taken

    async def _take(self, claimed: list[models.Callback], now: dt.datetime) -> int:
        """Hold the callbacks just claimed and admit them to their lanes; return how many."""
        claimed = [endpoint_health.keyed(cb) for cb in claimed]
        self.holding.update((cb.id, cb) for cb in claimed)
        if claimed:
            await self._admit(claimed, now)
        return len(claimed)

    def _hold_back(self, room: int) -> bool:
        """Whether to leave a small `room` in the backlog for now: slots that free one by one are claimed for
        together, once `min_claim` are free or `claim_wait_s` after the last claim (when `_idle` wakes)."""
        self._claim_at = 0.0
        if room <= 0 or room >= self.config.min_claim:
            return False
        at = self._last_claim + self.config.claim_wait_s
        self._claim_at = at if time.monotonic() < at else 0.0
        return bool(self._claim_at)

    async def _admit(self, claimed: list[models.Callback], now: dt.datetime) -> None:
        health = await self.judgements.health({cb.health_key for cb in claimed}, now)
        secrets = await self.caches.secrets({cb.account_id for cb in claimed})
        await self.pacer.refresh()
        release: list[tuple[str, dt.datetime]] = []
        cancel: list[str] = []
        later = now + dt.timedelta(seconds=self.config.defer_s)
        for cb in claimed:
            endpoint = health[cb.health_key]
            admission = breaker.admission(endpoint, now)
            if admission is breaker.Admission.REFUSE:
                cancel.append(cb.id)
            elif admission is breaker.Admission.WAIT:
                release.append((cb.id, max(endpoint.paused_until or later, cb.due_at)))
            else:
                self.lanes.push(lanes_.Waiting(cb, secrets.get(cb.account_id, ())))
        for destination in {cb.endpoint for cb in claimed}:
            self._pump(destination)
        # Forget them first: if giving them back fails, their leases expire and they come due again anyway.
        for cid in [*cancel, *(cid for cid, _ in release)]:
            self.holding.pop(cid, None)
        if release:
            await self.store.release_callbacks(self.owner, release, now)
        if cancel:
            await self.store.cancel_callbacks(cancel, now)

    def _pump(self, endpoint: str, keep: bool = False) -> lanes_.Waiting | None:
        """Start waiting callbacks of destination `endpoint` while it has free slots, each as its own account's
        endpoint's breaker allows (`gate.open_lane`); with `keep`, return the first started instead of a task."""
        lanes, kept = self.lanes, None
        if not self._stopping and lanes.free(endpoint):
            now = self.clock()
            budget = self.pacer.allowance(endpoint)  # None: no rate limit on this destination
            opened = gate.open_lane(
                lanes, endpoint, lambda key: self.caches.endpoint(key, now), now, self._fresh_s, budget
            )
            self.pacer.took(endpoint, len(opened.start), lanes.waiting(endpoint))
            if budget is not None and len(opened.start) >= budget and lanes.free(endpoint):
                self.pacer.wake(endpoint, self._pump, lanes.waiting(endpoint))  # out: lease more, pump again
            if opened.release or opened.cancel:
                self.recorder.give_back(opened.release, opened.cancel)
            for waiting in opened.start:
                if keep and kept is None:
                    kept = waiting  # the caller's task sends it
                    continue
                task = asyncio.create_task(self._deliver(waiting))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if endpoint in self._excluded and lanes.room(endpoint) >= lanes.quota:
            self._wake.set()  # the next claim may take more of it
        return kept

    async def _deliver(self, waiting: lanes_.Waiting) -> None:
        """Send `waiting`, then the next callback its freed slot starts: no task per callback (about 5 % of CPU)."""
        going: lanes_.Waiting | None = waiting
        while going is not None:
            try:
                await self._send(going)
            except BaseException:
                self._pump(going.callback.endpoint)  # cancelled (draining): start nothing on this task
                raise
            going = self._pump(going.callback.endpoint, keep=True)

    def _sender_of(self, cb: models.Callback) -> sender.Sender:
        if self.demo_sender is not None and hub_.is_demo(cb.account_id):
            return self.demo_sender
        return self.sender

    async def _send(self, waiting: lanes_.Waiting) -> None:
        cb = waiting.callback
        try:
            try:
                with tracing.span("callback attempt", cb.traceparent, "client", callback_id=cb.id):
                    attempt = await self._sender_of(cb).send(cb, waiting.secrets)
            finally:
                self.lanes.finish(cb.endpoint)
                self.lanes.probing.discard(cb.health_key)  # judged below, or given back: either way answered
        except Exception:
            # A bug or a malformed secret: give the callback back rather than lose it.
            log.exception("dispatch: sending %s failed", cb.id)
            self.recorder.give_back([(cb.id, self.clock() + dt.timedelta(seconds=self.config.defer_s))])
        else:
            self.judge(cb, attempt)

    def judge(self, cb: models.Callback, attempt: models.Attempt) -> None:
        """Apply the retry policy and the circuit breaker to one finished attempt; queue it for recording."""
        now = self.clock()
        policy = self.config.policies[cb.dialect]
        retry_after = None if attempt.retry_after_s is None else dt.timedelta(seconds=attempt.retry_after_s)
        number, outcome, status = attempt.number - cb.retry_from, attempt.outcome, attempt.status_code
        decision = retry.decide(policy, number, outcome, status, retry_after, now, self.rand)
        self.recorder.record(store.AttemptResult(attempt, retry.STATE_AFTER[decision.kind], decision.due_at))
        dispatch_log.decided(cb, attempt, decision.kind)
        before, after = self.judgements.judge(
            cb, attempt, now, self.config.breaker, gone_disables=policy.disable_on_gone
        )
        self.lanes.probing.discard(cb.health_key)
        if after is not before and self.on_endpoint is not None:
            self.on_endpoint(cb, before, after)  # the alerts of a pause or a disable
        if self.metrics is not None:
            self.metrics.attempt_judged(cb, attempt, after)

    async def _drain(self) -> None:
        """Wait for attempts in flight (up to the sender's timeout), then give back what was never sent."""
        self._stopping = True
        self.pacer.close()
        self.caches.close()
        self.lanes.clear()
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self.sender.config.timeout_s + 1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        done = self.recorder.queued()
        self.recorder.give_back([(cid, self.clock()) for cid in self.holding if cid not in done])


async def run(hub: hub_.Hub, stop: asyncio.Event) -> None:
    """The worker `dlrhub serve` and `dlrhub worker` start: one sender (and the demo account's own, when
    `hub.demo_allow` opens addresses to it), one dispatcher, until `stop`."""
    config = config_.DispatchConfig.from_settings(hub.settings)
    config_.ensure_file_limit(config.concurrency)
    async with contextlib.AsyncExitStack() as senders:
        snd = await senders.enter_async_context(
            sender.Sender(config_.sender_config(hub.settings), clock=hub.clock)
        )
        demo = None
        if hub.demo_allow:  # its own guard and pool: no other account's callback goes through it
            demo_config = config_.sender_config(hub.settings, hub.demo_allow)
            demo = await senders.enter_async_context(sender.Sender(demo_config, clock=hub.clock))
        watch = alerts.EndpointAlerts(hub)
        dispatcher = Dispatcher(
            hub.store,
            snd,
            config,
            clock=hub.clock,
            meter=hub.metrics,
            on_endpoint=watch.changed,
            demo_sender=demo,
        )
        log.info("dispatch: started as %s", dispatcher.owner)
        try:
            await dispatcher.run(stop)
        finally:
            await watch.drain()
