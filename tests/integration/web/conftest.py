"""An in-process dlrhub on each backend for the web door: log in with a token, then browse as that session."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from dlrhub import store
from dlrhub.web import session
from tests.integration.tokens.conftest import BOOT, Api, open_api

__all__ = ["BOOT", "Browser", "Web"]


@dataclasses.dataclass
class Browser:
    """One logged-in browser: its own cookie jar, and the CSRF token its pages carry."""

    http: httpx.AsyncClient
    csrf: str = ""

    async def get(self, path: str, **kw: object) -> httpx.Response:
        return await self.http.get(path, **kw)  # type: ignore[arg-type]

    async def post(self, path: str, data: dict[str, str] | None = None, **kw: object) -> httpx.Response:
        """A form POST carrying the session's CSRF token, as the page's form would."""
        return await self.http.post(path, data={session.CSRF_FIELD: self.csrf, **(data or {})}, **kw)  # type: ignore[arg-type]


@dataclasses.dataclass
class Web:
    api: Api

    async def login(self, token: str) -> Browser:
        """A new browser logged in with `token`; fails the test when the login is refused."""
        http = httpx.AsyncClient(transport=self.api.http._transport, base_url="http://t")
        answer = await http.post("/ui/login", data={"token": token})
        assert answer.status_code == 303, answer.text
        home = await http.get(answer.headers["location"])
        assert home.status_code == 200, home.text
        found = re.search(r'name="csrf" value="([0-9a-f]+)"', home.text)
        assert found, "a logged-in page carries the CSRF token"
        return Browser(http, found.group(1))


@pytest.fixture
async def web(db: store.Store) -> AsyncIterator[Web]:
    made, http = await open_api(db)
    async with http:
        yield Web(made)
