"""Group commit for accepted sends: requests that arrive together share one store transaction.

A send waits for no timer: when the store is idle its accept is written at once; while a transaction is being
written, the accepts that arrive meanwhile queue up and go together in the next one (`Store.accept_messages`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from dlrhub import store
from dlrhub.core import clock as clock_
from dlrhub.core import coalesce, errors
from dlrhub.planning import accepts

#: The most accepts written in one transaction.
MAX_BATCH = 256


class AcceptQueue:
    """The accept queue of one store, in one event loop (`core.coalesce`); `clock` gives each batch's time as it
    is written, and `observe` (if given) hears each batch's size."""

    def __init__(
        self,
        target: store.Ingest,
        clock: clock_.Clock,
        max_batch: int = MAX_BATCH,
        observe: Callable[[int], None] | None = None,
    ) -> None:
        self.store = target
        self.clock = clock
        self.observe = observe
        self._batches = coalesce.Coalescer(self._write, max_batch)

    async def accept(self, item: accepts.Accept) -> store.IngestResult:
        """Store one accept (as `Store.accept_message`); raises its refusal (DuplicateRequest, ...)."""
        result = await self._batches.call(item)
        if isinstance(result, errors.DlrhubError):
            raise result
        return result

    async def _write(self, batch: list[accepts.Accept]) -> list[store.IngestResult | errors.DlrhubError]:
        if self.observe is not None:
            self.observe(len(batch))
        return await self.store.accept_messages(batch, self.clock())


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
