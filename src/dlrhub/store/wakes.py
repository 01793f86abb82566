"""The outbox's wake-ups, shared by both backends: the event `wait_for_callbacks` waits on, and the dispatchers'
own events (`wake_with`), all set when callbacks were written (SQLite's commit, PostgreSQL's NOTIFY)."""

from __future__ import annotations

import asyncio
import weakref


class Wakes:
    """Set `_due()` and every event handed to `wake_with` by calling `_notify_callbacks()`."""

    _callbacks_due: asyncio.Event | None = None
    _wakes: weakref.WeakSet[asyncio.Event] | None = None

    def _due(self) -> asyncio.Event:
        if self._callbacks_due is None:
            self._callbacks_due = asyncio.Event()
        return self._callbacks_due

    def _notify_callbacks(self) -> None:
        self._due().set()
        if self._wakes is not None:
            for event in self._wakes:
                event.set()

    def wake_with(self, event: asyncio.Event) -> None:
        if self._wakes is None:
            self._wakes = weakref.WeakSet()
        self._wakes.add(event)
