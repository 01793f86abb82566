"""Calls that arrive together share one statement: a call waits for no timer, and the calls made while a
statement is in flight go together in the next one."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

#: The most calls one statement takes.
MAX_GROUP = 256


class Coalescer(Generic[ItemT, ResultT]):
    """Runs `run(items)` (one result per item, in order) for the items `call`ed meanwhile, in one event loop.

    A failure of `run` is raised to every call of its group; a caller that goes away leaves its group running.
    """

    def __init__(
        self, run: Callable[[list[ItemT]], Awaitable[list[ResultT]]], max_group: int = MAX_GROUP
    ) -> None:
        self._run = run
        self._max_group = max_group
        self._pending: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def call(self, item: ItemT) -> ResultT:
        future: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._pending:
            group, self._pending = self._pending[: self._max_group], self._pending[self._max_group :]
            try:
                results = await self._run([item for item, _ in group])
            except BaseException as exc:
                for _, future in group:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                continue
            for (_, future), result in zip(group, results, strict=True):
                if not future.done():
                    future.set_result(result)
