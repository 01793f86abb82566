"""Loopback receivers for the engine's integration and acceptance tests: scripted answers per path."""

from __future__ import annotations

import asyncio
import collections
import dataclasses

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclasses.dataclass
class Hit:
    """One request the receiver saw."""

    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int


class Receiver:
    """Answers `/{name}` by its script: a list of statuses used in turn (the last one repeats).

    Status 0 means hang until `release` is set. Unscripted paths answer 200.
    """

    def __init__(self) -> None:
        self.scripts: dict[str, list[int]] = {}
        self.hits: list[Hit] = []
        self.by_path: collections.Counter[str] = collections.Counter()
        self.release = asyncio.Event()
        self.changed = asyncio.Event()
        self.hanging = 0
        app = web.Application()
        app.router.add_route("*", "/{name:.*}", self.handle)
        self.server = TestServer(app, host="127.0.0.1")

    async def __aenter__(self) -> Receiver:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await self.server.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.port}{path}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        script = self.scripts.get(path, [200])
        n = self.by_path[path]
        status = script[min(n, len(script) - 1)]
        self.by_path[path] += 1
        body = await request.read()
        self.hits.append(Hit(path, request.query_string, dict(request.headers), body, status))
        self.changed.set()
        if status == 0:
            self.hanging += 1
            try:
                await self.release.wait()
            finally:
                self.hanging -= 1
            return web.Response(text="late")
        headers = {"Retry-After": "1"} if status == 429 else {}
        return web.Response(status=status, text="ok" if status < 300 else "no", headers=headers)

    def bodies(self, path: str) -> list[bytes]:
        return [h.body for h in self.hits if h.path == path]
