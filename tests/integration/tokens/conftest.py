"""An in-process dlrhub on each backend with a settable clock, and a way to make tokens through its admin API."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import fastapi
import httpx
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.services import hub as hub_

#: The bootstrap admin token (DLRHUB_ADMIN_TOKEN) of the test hub.
BOOT = "bootstrap-admin-token-0123456789"
T0 = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)


class Clock:
    """A clock the test moves by hand (token lookups are cached by it)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@dataclasses.dataclass
class Api:
    """One in-process dlrhub: its hub, app, HTTP client and clock."""

    hub: hub_.Hub
    app: fastapi.FastAPI
    http: httpx.AsyncClient
    clock: Clock

    async def token(self, name: str, kind: str, account_id: str | None = None, as_: str = BOOT) -> str:
        """A new token made through the admin API (by the bootstrap admin unless `as_` says otherwise)."""
        body = {"name": name, "kind": kind} | ({"account_id": account_id} if account_id else {})
        made = await self.http.post("/v1/admin/tokens", json=body, headers=bearer(as_))
        assert made.status_code == 201, made.text
        secret: str = made.json()["token"]
        return secret


async def open_api(db: store.Store) -> tuple[Api, httpx.AsyncClient]:
    clock = Clock()
    hub = hub_.Hub(settings=settings.Settings(admin_token=BOOT), store=db, clock=clock)
    app = app_.create_app(hub)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    return Api(hub, app, http, clock), http


@pytest.fixture
async def api(db: store.Store) -> AsyncIterator[Api]:
    made, http = await open_api(db)
    async with http:
        yield made
