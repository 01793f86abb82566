"""Reads ahead of time: a cache's store read run in the background once an entry in use is past half its age,
so the claim that needs it seldom waits for it (docs/benchmarks.md "Fair claims"). At most one read of each
kind is in flight; a failed one leaves the entries to age, and the next use past their age reads them first."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("dlrhub.dispatch")


class ReadsAhead:
    """The background reads of one cache, by kind."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[None]] = {}

    def start(self, kind: str, read: Callable[[], Awaitable[None]]) -> None:
        """Run `read()` in the background unless a read of `kind` is in flight."""
        running = self._running.get(kind)
        if running is not None and not running.done():
            return

        async def quietly() -> None:
            try:
                await read()
            except Exception as exc:
                log.debug("dispatch: reading %s ahead failed (%s)", kind, type(exc).__name__)

        self._running[kind] = asyncio.create_task(quietly())

    def close(self) -> None:
        """Cancel the reads in flight (shutting down)."""
        for task in self._running.values():
            task.cancel()
