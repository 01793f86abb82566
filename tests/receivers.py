"""The one loopback receiver every test layer uses: it records each request and answers as the test scripts it."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

#: A scripted answer that holds the request open until `Receiver.release` is set.
HANG = 0


@dataclasses.dataclass(frozen=True)
class Answer:
    """A scripted answer with its own body or headers (a bare int is that status with a short body)."""

    status: int
    body: str | bytes = ""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Hit:
    """One request the receiver saw."""

    method: str
    path: str
    #: The query string exactly as it arrived (not decoded).
    query: str
    #: The decoded query parameters.
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes
    #: The status it was answered with (HANG for a held request).
    status: int
    #: `time.monotonic()` when the request arrived.
    arrived: float

    @property
    def raw_path(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    @property
    def key(self) -> str:
        """What identifies the callback: its `webhook-id`, or its body when it is unsigned."""
        return self.headers.get("webhook-id") or self.body.decode()

    def json(self) -> Any:
        """The body as JSON (None when empty)."""
        return json.loads(self.body) if self.body else None


class Receiver:
    """A real HTTP server on 127.0.0.1 that answers `/{path}` by its script and records every request.

    A script is a list of answers used in turn (the last one repeats); unscripted paths answer `status` (200).
    A script keyed by a path with its query (`/dr?from=a`) answers that exact request before the path's own.
    An answer is a status, an `Answer`, or HANG. A 429 carries `Retry-After: retry_after`; a 3xx points at `/`.
    `delay_s` holds every request that long before it is recorded and answered. The receiver can be stopped and
    started again on the same port, to play an endpoint that is down for a while.
    """

    def __init__(self, port: int = 0, delay_s: float = 0.0) -> None:
        self.port = port
        self.delay_s = delay_s
        self.scripts: dict[str, list[int | Answer]] = {}
        self.status = 200
        self.retry_after = "1"
        self.hits: list[Hit] = []
        self.by_path: collections.Counter[str] = collections.Counter()
        self.release = asyncio.Event()
        self.hanging = 0
        self.max_hanging = 0
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> Receiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self.handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop answering (held requests are released first); `start` again reuses the port."""
        self.release.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.release = asyncio.Event()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *answers: int | Answer) -> None:
        """Answer `path` with `answers` in turn (the last one repeats)."""
        self.scripts[path] = list(answers)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        body = await request.read()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        path = request.path
        if request.query_string and request.path_qs in self.scripts:
            path = request.path_qs
        script = self.scripts.get(path) or [self.status]
        answer = script[min(self.by_path[path], len(script) - 1)]
        self.by_path[path] += 1
        path = request.path
        status = answer.status if isinstance(answer, Answer) else answer
        hit = Hit(
            request.method,
            path,
            request.raw_path.partition("?")[2],
            dict(request.query),
            dict(request.headers),
            body,
            status,
            arrived,
        )
        async with self._changed:
            self.hits.append(hit)
            self._changed.notify_all()
        if status == HANG:
            return await self._hang()
        if isinstance(answer, Answer):
            return web.Response(status=status, body=answer.body, headers=answer.headers)
        headers = {"Retry-After": self.retry_after} if status == 429 else {}
        if 300 <= status < 400:
            headers["Location"] = "/"
        return web.Response(status=status, text="ok" if status < 300 else "no", headers=headers)

    async def _hang(self) -> web.Response:
        self.hanging += 1
        self.max_hanging = max(self.max_hanging, self.hanging)
        async with self._changed:
            self._changed.notify_all()
        try:
            await self.release.wait()
        finally:
            self.hanging -= 1
        return web.Response(text="late")

    async def wait(
        self, pick: Callable[[Hit], bool] = lambda hit: True, count: int = 1, within_s: float = 30
    ) -> list[Hit]:
        """The hits `pick` accepts, once there are `count` of them (fails the test after `within_s`)."""
        try:
            async with asyncio.timeout(within_s), self._changed:
                await self._changed.wait_for(lambda: len([h for h in self.hits if pick(h)]) >= count)
        except TimeoutError:
            raise AssertionError(f"expected {count} requests; got {self.hits}") from None
        return [h for h in self.hits if pick(h)]

    async def wait_hanging(self, count: int, within_s: float = 10) -> None:
        """Wait until `count` requests are held open at the same time."""
        async with asyncio.timeout(within_s), self._changed:
            await self._changed.wait_for(lambda: self.hanging >= count)

    def bodies(self, path: str) -> list[bytes]:
        return [h.body for h in self.hits if h.path == path]

    def counts(self) -> collections.Counter[str]:
        """How many times each callback arrived, by its `webhook-id` (or its body when unsigned)."""
        return collections.Counter(h.key for h in self.hits)
