"""The dispatcher's recording: attempts judged, callbacks given back or cancelled, written in batches by one task."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import endpoint_health

log = logging.getLogger("dlrhub.dispatch")


class Recorder:
    """What one dispatcher decided and has not written yet.

    `run()` writes it in as few transactions as it can: up to `flush_window_s` after the first result, or once
    `flush_rows` results wait, it records them all, with the endpoint changes and the give-backs. What it wrote
    is forgotten from `holding` (the dispatcher's claimed callbacks) and `wake` is set: there is room in the
    backlog, and maybe a message's next callback is due. After `close()` it writes what is left and ends.
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
                await self.store.record_attempts(results, now)
            if released:
                await self.store.release_callbacks(self.owner, released, now)
            if cancelled:
                await self.store.cancel_callbacks(cancelled, now)
            if health:
                await self.judgements.write(self.store, health, now)
        except BaseException:
            # Keep them for the next flush (at least once: the leases still hold them).
            self.results[:0] = results
            self.released[:0] = released
            self.cancelled[:0] = cancelled
            self.judgements.give_back(health)
            raise
        self.judgements.stored()
        for result in results:
            self.holding.pop(result.attempt.callback_id, None)
        for cid in [*(cid for cid, _ in released), *cancelled]:
            self.holding.pop(cid, None)
        if results or released:
            self.wake.set()
