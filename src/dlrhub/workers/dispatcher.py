"""The dispatcher loop: claim due callbacks under a lease, send them, record attempts in batches, apply retries."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import os
import random
import socket
import time
import typing
import uuid
from collections.abc import Awaitable, Callable

from dlrhub import store
from dlrhub.adapters import metrics, sender
from dlrhub.core import breaker, errors, models, retry
from dlrhub.core import clock as clock_
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatch_config as config_

log = logging.getLogger("dlrhub.dispatch")

_DECIDED = {
    retry.DecisionKind.SUCCEEDED: models.CallbackState.SUCCEEDED,
    retry.DecisionKind.RETRY: models.CallbackState.PENDING,
    retry.DecisionKind.GIVE_UP: models.CallbackState.FAILED,
    retry.DecisionKind.DISABLE_ENDPOINT: models.CallbackState.FAILED,
}


def owner_id() -> str:
    """A name for this dispatcher's leases: host, process and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class DispatchStore(store.Outbox, store.Endpoints, store.Accounts, typing.Protocol):
    """What the dispatcher uses of the store: the outbox, endpoint health, and accounts' signing secrets."""


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
    ) -> None:
        self.store = db
        self.sender = snd
        self.config = config or config_.DispatchConfig()
        self.clock = clock
        self.metrics = meter
        self.owner = owner or owner_id()
        self.rand = rand
        #: Claimed and not yet recorded (or given back), by callback id.
        self.holding: dict[str, models.Callback] = {}
        self._load: collections.Counter[str] = collections.Counter()
        self._results: list[store.AttemptResult] = []
        self._released: list[tuple[str, dt.datetime]] = []
        self._have_results = asyncio.Event()
        self._wake = asyncio.Event()
        self._endpoints: dict[str, tuple[models.Endpoint, float]] = {}
        self._dirty: dict[str, models.Endpoint] = {}
        self._disable: set[str] = set()
        self._pause: dict[str, dt.datetime] = {}
        self._probing: set[str] = set()
        self._secrets: dict[str, tuple[tuple[str, ...], float]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    # -- the loop -------------------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Claim and send until `stop` is set; then wait for attempts in flight and record them."""
        flusher = asyncio.create_task(self._flush_loop(), name="dlrhub-dispatch-flush")
        try:
            while not stop.is_set():
                claimed = await self._guarded(self.tick())
                if claimed is None:
                    # The store failed: back off instead of spinning on it.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self.config.idle_s)
                elif claimed < self.config.batch_size:
                    await self._idle(stop)
        finally:
            await self._drain()
            self._closing = True
            self._have_results.set()
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

    async def _idle(self, stop: asyncio.Event) -> None:
        if stop.is_set():
            return
        waits = [
            asyncio.ensure_future(self._store_wake()),
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        try:
            await asyncio.wait(waits, timeout=self.config.idle_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def _store_wake(self) -> None:
        try:
            await self.store.wait_for_callbacks(self.config.idle_s)
        except Exception as exc:
            if not isinstance(exc, errors.StoreUnavailable):  # the store logs an outage once
                log.warning("dispatch: waiting for new callbacks failed (%s); polling", type(exc).__name__)
            await asyncio.sleep(self.config.idle_s)

    async def tick(self) -> int:
        """Claim one batch (as much as the backlog allows) and start sending it; return how many were claimed."""
        # Cleared before claiming, so a flush during the claim still wakes the next round.
        self._wake.clear()
        room = self.config.max_backlog - len(self.holding)
        if room <= 0:
            return 0
        now = self.clock()
        claimed = await self.store.claim_due_callbacks(
            self.owner, now, min(self.config.batch_size, room), self.config.lease_s
        )
        if not claimed:
            return 0
        for cb in claimed:
            self.holding[cb.id] = cb
        await self._admit(claimed, now)
        return len(claimed)

    async def _admit(self, claimed: list[models.Callback], now: dt.datetime) -> None:
        health = await self._health({cb.endpoint for cb in claimed}, now)
        secrets = await self._account_secrets({cb.account_id for cb in claimed})
        release: list[tuple[str, dt.datetime]] = []
        cancel: list[str] = []
        later = now + dt.timedelta(seconds=self.config.defer_s)
        for cb in claimed:
            endpoint = health[cb.endpoint]
            admission = breaker.admission(endpoint, now)
            if admission is breaker.Admission.REFUSE:
                cancel.append(cb.id)
            elif admission is breaker.Admission.WAIT:
                release.append((cb.id, max(endpoint.paused_until or later, cb.due_at)))
            elif (admission is breaker.Admission.PROBE and cb.endpoint in self._probing) or self._load[
                cb.endpoint
            ] >= 2 * self.config.per_endpoint:
                # One probe at a time to a recovering destination; a bounded queue to a busy one.
                release.append((cb.id, later))
            else:
                if admission is breaker.Admission.PROBE:
                    self._probing.add(cb.endpoint)
                self._load[cb.endpoint] += 1
                task = asyncio.create_task(self._deliver(cb, secrets.get(cb.account_id, ())))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        # Forget them first: if giving them back fails, their leases expire and they come due again anyway.
        for cid in cancel:
            self.holding.pop(cid, None)
        for cid, _ in release:
            self.holding.pop(cid, None)
        if release:
            await self.store.release_callbacks(self.owner, release, now)
        if cancel:
            await self.store.cancel_callbacks(cancel, now)

    async def _deliver(self, cb: models.Callback, secrets: tuple[str, ...]) -> None:
        try:
            attempt = await self.sender.send(cb, secrets)
        except Exception:
            # A bug or a malformed secret: give the callback back rather than lose it.
            log.exception("dispatch: sending %s failed", cb.id)
            self._released.append((cb.id, self.clock() + dt.timedelta(seconds=self.config.defer_s)))
            self._have_results.set()
            return
        finally:
            self._unload(cb.endpoint)
        self.judge(cb, attempt)

    def _unload(self, endpoint: str) -> None:
        left = self._load[endpoint] - 1
        if left <= 0:
            del self._load[endpoint]
            self._probing.discard(endpoint)
        else:
            self._load[endpoint] = left

    def judge(self, cb: models.Callback, attempt: models.Attempt) -> None:
        """Apply the retry policy and the circuit breaker to one finished attempt; queue it for recording."""
        now = self.clock()
        policy = self.config.policies[cb.dialect]
        retry_after = None if attempt.retry_after_s is None else dt.timedelta(seconds=attempt.retry_after_s)
        decision = retry.decide(
            policy,
            attempt.number - cb.retry_from,
            attempt.outcome,
            attempt.status_code,
            retry_after,
            now,
            self.rand,
        )
        self._results.append(store.AttemptResult(attempt, _DECIDED[decision.kind], decision.due_at))
        before = self._endpoint(cb.endpoint, now)
        after = breaker.record(
            before,
            attempt.outcome,
            attempt.status_code,
            now,
            self.config.breaker,
            gone_disables=policy.disable_on_gone,
        )
        self._probing.discard(cb.endpoint)
        if after is not before:
            self._endpoints[cb.endpoint] = (after, time.monotonic())
            self._dirty[cb.endpoint] = after
            if (
                after.state is models.EndpointState.DISABLED
                and before.state is not models.EndpointState.DISABLED
            ):
                log.warning("dispatch: endpoint %s disabled after %s", cb.endpoint, attempt.outcome)
                self._disable.add(cb.endpoint)
            elif after.state is models.EndpointState.PAUSED and after.paused_until != before.paused_until:
                assert after.paused_until is not None
                log.info("dispatch: endpoint %s paused until %s", cb.endpoint, after.paused_until.isoformat())
                self._pause[cb.endpoint] = after.paused_until
        if self.metrics is not None:
            self.metrics.attempt_judged(cb, attempt, after)
        self._have_results.set()

    # -- recording ------------------------------------------------------------------------------------------
    async def _flush_loop(self) -> None:
        while True:
            await self._have_results.wait()
            self._have_results.clear()
            try:
                await self._flush()
            except Exception as exc:
                if not isinstance(exc, errors.StoreUnavailable):  # the store logs an outage once
                    log.exception("dispatch: recording attempts failed; will retry")
                await asyncio.sleep(0.5)
                self._have_results.set()
                continue
            if self._closing and not self._have_results.is_set():
                return

    async def _flush(self) -> None:
        """Record every finished attempt, endpoint change and give-back in as few transactions as possible."""
        results, self._results = self._results, []
        released, self._released = self._released, []
        dirty, self._dirty = self._dirty, {}
        disable, self._disable = self._disable, set()
        pause, self._pause = self._pause, {}
        now = self.clock()
        try:
            if results:
                await self.store.record_attempts(results, now)
            if released:
                await self.store.release_callbacks(self.owner, released, now)
            if dirty:
                await self.store.put_endpoints(list(dirty.values()))
            for endpoint in disable:
                await self.store.cancel_endpoint_callbacks(endpoint, now)
            for endpoint, until in pause.items():
                # Its whole backlog at once, rather than claiming and giving it back a batch at a time.
                await self.store.defer_endpoint_callbacks(endpoint, until, now)
        except BaseException:
            # Keep them for the next flush (at least once: the leases still hold them).
            self._results[:0] = results
            self._released[:0] = released
            self._dirty = {**dirty, **self._dirty}
            self._disable |= disable
            self._pause = {**pause, **self._pause}
            raise
        for result in results:
            self.holding.pop(result.attempt.callback_id, None)
        for cid, _ in released:
            self.holding.pop(cid, None)
        if results or released:
            # Room in the backlog, and maybe a message's next callback is now due.
            self._wake.set()

    async def _drain(self) -> None:
        """Wait for attempts in flight (up to the sender's timeout), then give back what was never sent."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self.sender.config.timeout_s + 1.0)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        done = {r.attempt.callback_id for r in self._results} | {cid for cid, _ in self._released}
        unsent = [(cid, self.clock()) for cid in self.holding if cid not in done]
        self._released.extend(unsent)

    # -- caches ---------------------------------------------------------------------------------------------
    def _endpoint(self, endpoint: str, now: dt.datetime) -> models.Endpoint:
        cached = self._endpoints.get(endpoint)
        return cached[0] if cached is not None else breaker.fresh(endpoint, now)

    async def _health(self, endpoints: set[str], now: dt.datetime) -> dict[str, models.Endpoint]:
        fresh_after = time.monotonic() - self.config.endpoint_cache_s
        stale = [
            e
            for e in endpoints
            if e not in self._dirty and self._endpoints.get(e, (None, -1.0))[1] < fresh_after
        ]
        if stale:
            stored = await self.store.get_endpoints(stale)
            stamp = time.monotonic()
            for e in stale:
                self._endpoints[e] = (stored.get(e) or self._endpoint(e, now), stamp)
            if len(self._endpoints) > 50_000:
                self._endpoints = {e: v for e, v in self._endpoints.items() if v[1] >= fresh_after}
        return {e: self._endpoint(e, now) for e in endpoints}

    async def _account_secrets(self, account_ids: set[str]) -> dict[str, tuple[str, ...]]:
        fresh_after = time.monotonic() - self.config.account_cache_s
        for account_id in account_ids:
            cached = self._secrets.get(account_id)
            if cached is not None and cached[1] >= fresh_after:
                continue
            try:
                secrets = (await self.store.get_account(account_id)).signing_secrets
            except errors.UnknownAccount:
                secrets = ()
            self._secrets[account_id] = (tuple(secrets), time.monotonic())
        if len(self._secrets) > 50_000:
            self._secrets = {a: v for a, v in self._secrets.items() if v[1] >= fresh_after}
        return {a: self._secrets[a][0] for a in account_ids}


async def run(hub: hub_.Hub, stop: asyncio.Event) -> None:
    """The worker `dlrhub serve` and `dlrhub worker` start: one sender, one dispatcher, until `stop`."""
    config = config_.DispatchConfig.from_settings(hub.settings)
    async with sender.Sender(config_.sender_config(hub.settings), clock=hub.clock) as snd:
        dispatcher = Dispatcher(hub.store, snd, config, clock=hub.clock, meter=hub.metrics)
        log.info("dispatch: started as %s", dispatcher.owner)
        await dispatcher.run(stop)
