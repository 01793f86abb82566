"""The simulator's outbound side: signed webhook posts, delayed and bounded, cancelled on shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping

import aiohttp

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class Outbox:
    """Runs delayed jobs (at most `max_pending` at once) and posts JSON with bounded concurrency and retries.

    A post that gets no 2xx is retried `retries` times, `retry_delay` seconds apart, doubling (Zalo retries
    too). `aclose` cancels whatever is still scheduled.
    """

    def __init__(
        self,
        *,
        max_pending: int = 10_000,
        max_concurrent: int = 16,
        timeout: float = 5.0,
        retries: int = 2,
        retry_delay: float = 1.0,
    ) -> None:
        self._max_pending = max_pending
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._timeout = timeout
        self._retries = retries
        self._retry_delay = retry_delay
        #: Each scheduled job's task and its due time (loop clock).
        self._tasks: dict[asyncio.Task[None], float] = {}
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        #: Counters for tests and the demo: posts answered 2xx, posts given up, jobs refused (no room).
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    @property
    def pending(self) -> int:
        """Jobs scheduled or running."""
        return len(self._tasks)

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self._session

    def schedule(self, delay: float, job: Job) -> bool:
        """Run `job` after `delay` seconds; False (and nothing scheduled) when full or closed."""
        if self._closed or len(self._tasks) >= self._max_pending:
            self.dropped += 1
            return False
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._run(delay, job))
        self._tasks[task] = loop.time() + delay
        task.add_done_callback(self._forget)
        return True

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._tasks.pop(task, None)

    async def _run(self, delay: float, job: Job) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("simulator job failed")

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> bool:
        """POST `body` to `url` until a 2xx or the retries run out; True on a 2xx. Never raises."""
        if self._closed:
            return False
        for attempt in range(self._retries + 1):
            if attempt:
                await asyncio.sleep(self._retry_delay * 2 ** (attempt - 1))
            try:
                async with self._semaphore, self._http().post(url, data=body, headers=dict(headers)) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        self.delivered += 1
                        return True
                    log.info("webhook %s answered %d", url, resp.status)
            except (TimeoutError, aiohttp.ClientError) as exc:
                log.info("webhook %s failed: %s", url, type(exc).__name__)
        self.failed += 1
        return False

    async def drain(self, horizon: float = 60.0) -> None:
        """Wait for every job due within `horizon` seconds, including jobs those schedule meanwhile."""
        loop = asyncio.get_running_loop()
        while due := [t for t, at in self._tasks.items() if at <= loop.time() + horizon]:
            await asyncio.wait(due)

    async def aclose(self) -> None:
        """Cancel every pending job and close the HTTP session."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._session is not None:
            await self._session.close()
            self._session = None
