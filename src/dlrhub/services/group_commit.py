"""Group commit for accepted sends: requests that arrive together share one store transaction.

A send waits for no timer: when the store is idle its accept is written at once; while a transaction is being
written, the accepts that arrive meanwhile queue up and go together in the next one (`Store.accept_messages`).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable

from dlrhub import store
from dlrhub.core import clock as clock_
from dlrhub.core import errors
from dlrhub.planning import accepts

#: The most accepts written in one transaction.
MAX_BATCH = 256


class AcceptQueue:
    """The accept queue of one store, in one event loop; `clock` gives each batch's time as it is written, and
    `observe` (if given) hears each batch's size."""

    def __init__(
        self,
        target: store.Ingest,
        clock: clock_.Clock,
        max_batch: int = MAX_BATCH,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self.store = target
        self.clock = clock
        self.max_batch = max_batch
        self.observe = observe
        self._pending: list[tuple[accepts.Accept, asyncio.Future[store.IngestResult]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def accept(self, item: accepts.Accept) -> store.IngestResult:
        """Store one accept (as `Store.accept_message`); raises its refusal (DuplicateRequest, ...)."""
        future: asyncio.Future[store.IngestResult] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await future

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch :]
            if self.observe is not None:
                self.observe(len(batch))
            try:
                results = await self.store.accept_messages([item for item, _ in batch], self.clock())
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # the caller went away
                    continue
                if isinstance(result, errors.DlrhubError):
                    future.set_exception(result)
                else:
                    future.set_result(result)


_queues: weakref.WeakKeyDictionary[store.Ingest, AcceptQueue] = weakref.WeakKeyDictionary()


async def accept(
    target: store.Ingest,
    item: accepts.Accept,
    clock: clock_.Clock,
    observe: Callable[[int], None] | None = None,
) -> store.IngestResult:
    """Accept `item` through `target`'s shared queue (see the module docstring); a new queue keeps `clock`, the
    clock of the hub that owns `target`, and `observe`, which hears each batch's size."""
    queue = _queues.get(target)
    if queue is None:
        queue = _queues[target] = AcceptQueue(target, clock, observe=observe)
    return await queue.accept(item)
