"""The dispatcher's recording: attempts judged, callbacks given back or cancelled, written in batches by one task."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Callable, Iterable

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import endpoint_health

log = logging.getLogger("dlrhub.dispatch")

#: The error text of an attempt recorded without its own texts: the database refused a value of it.
NOT_STORABLE = "answer not storable"


def degraded(result: store.AttemptResult) -> list[store.AttemptResult]:
    """The forms to record `result` in when the database refuses it, safest last: its response and error texts
    replaced by NOT_STORABLE (their length or encoding is the usual fault), then its status code and Retry-After
    dropped too. Each keeps the attempt's number, time and outcome, and the callback's new state and due time."""
    texts = dataclasses.replace(result.attempt, response="", error=NOT_STORABLE)
    bare = dataclasses.replace(texts, status_code=None, retry_after_s=None)
    return [dataclasses.replace(result, attempt=form) for form in (texts, bare)]


class Recorder:
    """What one dispatcher decided and has not written yet.

    `run()` writes it in as few transactions as it can: up to `flush_window_s` after the first result, or once
    `flush_rows` results wait, it records them all, with the endpoint changes and the give-backs. What it wrote
    is forgotten from `holding` (the dispatcher's claimed callbacks) and `wake` is set: there is room in the
    backlog, and maybe a message's next callback is due. After `close()` it writes what is left and ends.

    A write that fails for an outage is tried again, all of it, until the store answers. A batch of attempts the
    database refuses for a value of a row (errors.Unstorable) is not: the rows it refuses are found by halving
    it, the others recorded as they are, and each refused one recorded `degraded` (docs/discussions/delivery-semantics.md).
    """

    def __init__(
        self,
        db: endpoint_health.HealthStore,
        owner: str,
        config: config_.DispatchConfig,
        judgements: endpoint_health.Judgements,
        clock: Callable[[], dt.datetime],
        holding: dict[str, models.Callback],
        wake: asyncio.Event,
    ) -> None:
        self.store, self.owner, self.config, self.judgements = db, owner, config, judgements
        self.clock, self.holding, self.wake = clock, holding, wake
        self.results: list[store.AttemptResult] = []
        #: `(callback id, due again at)`.
        self.released: list[tuple[str, dt.datetime]] = []
        self.cancelled: list[str] = []
        self._have = asyncio.Event()
        #: Set once `flush_rows` results wait: the flush need not wait out its window.
        self._full = asyncio.Event()
        self._closing = False

    def record(self, result: store.AttemptResult) -> None:
        """Queue one judged attempt."""
        self.results.append(result)
        if len(self.results) >= self.config.flush_rows:
            self._full.set()
        self._have.set()

    def give_back(self, release: Iterable[tuple[str, dt.datetime]], cancel: Iterable[str] = ()) -> None:
        """Queue callbacks to give back (`(id, due again at)`) and to cancel."""
        self.released.extend(release)
        self.cancelled.extend(cancel)
        self._have.set()

    def queued(self) -> set[str]:
        """The ids of the callbacks queued for any write."""
        return (
            {r.attempt.callback_id for r in self.results} | {c for c, _ in self.released} | {*self.cancelled}
        )

    def close(self) -> None:
        """Write what is queued, then let `run` end."""
        self._closing = True
        self._have.set()

    async def run(self) -> None:
        while True:
            await self._have.wait()
            await self._gather()
            self._have.clear()
            self._full.clear()
            try:
                await self._flush()
            except Exception as exc:
                if not isinstance(exc, errors.StoreUnavailable):  # the store logs an outage once
                    log.exception("dispatch: recording attempts failed; will retry")
                await asyncio.sleep(0.5)
                self._have.set()
                continue
            if self._closing and not self._have.is_set():
                return

    async def _gather(self) -> None:
        """Let answers that trickle in gather for one transaction: up to `flush_window_s`, or until `flush_rows`
        wait (at once when closing). The window is far below the lease, so nothing held is at risk meanwhile."""
        if self._closing or len(self.results) >= self.config.flush_rows or self.config.flush_window_s <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._full.wait(), self.config.flush_window_s)

    async def _flush(self) -> None:
        """Record every finished attempt, endpoint change and give-back in as few transactions as possible."""
        results, self.results = self.results, []
        released, self.released = self.released, []
        health = self.judgements.take()
        cancelled, self.cancelled = self.cancelled, []
        now = self.clock()
        try:
            if results:
                await self._record(results, now)
            if released:
                await self.store.release_callbacks(self.owner, released, now)
            if cancelled:
                await self.store.cancel_callbacks(cancelled, now)
            if health:
                await self.judgements.write(self.store, health, now)
        except BaseException:
            # Keep what is not written for the next flush (at least once: the leases still hold them).
            self.results[:0] = results
            self.released[:0] = released
            self.cancelled[:0] = cancelled
            self.judgements.give_back(health)
            raise
        self.judgements.stored()
        for cid in [*(cid for cid, _ in released), *cancelled]:
            self.holding.pop(cid, None)
        if released:
            self.wake.set()

    async def _record(self, left: list[store.AttemptResult], now: dt.datetime) -> None:
        """Record the attempts in `left`, taking each out of it, and out of `holding`, once written: what an
        outage leaves in it is still to write. A run of them that the database refuses is halved until each row
        it refuses is alone, and that row is recorded in its first `degraded` form the database takes."""
        sizes = [len(left)]  # a stack of the lengths of the runs of `left` to write, the next on top
        while sizes:
            size = sizes.pop()
            run = left[:size]
            try:
                await self.store.record_attempts(run, now)
            except errors.Unstorable as exc:
                if size > 1:
                    sizes += [size - size // 2, size // 2]
                    continue
                await self._record_refused(run[0], now, exc)
            del left[:size]
            for result in run:
                self.holding.pop(result.attempt.callback_id, None)
            self.wake.set()

    async def _record_refused(
        self, result: store.AttemptResult, now: dt.datetime, refusal: errors.Unstorable
    ) -> None:
        """Record the attempt the database refused as it was, in a `degraded` form. Logs no value of it: only
        the callback, the attempt's number and the driver's kind of refusal (its message may quote the value)."""
        attempt = result.attempt
        why = type(refusal.__cause__ or refusal).__name__
        for form in degraded(result):
            try:
                await self.store.record_attempts([form], now)
            except errors.Unstorable:
                continue
            log.warning(
                "dispatch: the database refused attempt %d of callback %s (%s); recorded as %r",
                attempt.number,
                attempt.callback_id,
                why,
                form.attempt.error,
            )
            return
        # Not even its bare outcome is taken: give it up, and the lease sends the callback again when it ends.
        log.error(
            "dispatch: the database refused attempt %d of callback %s (%s) in every form; not recorded, the "
            "callback is sent again when its lease ends",
            attempt.number,
            attempt.callback_id,
            why,
        )
