"""Fixtures shared by every test layer: a store on each backend, and account factories."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from dlrhub import store
from dlrhub.core import ids, models
from tests import pg, receivers


@pytest.fixture(scope="session")
def pg_template() -> Iterator[pg.Template]:
    pg.require()
    template = pg.Template()
    asyncio.run(template.build())
    yield template
    asyncio.run(pg.Template.drop(template.name))


@pytest.fixture
def pg_url(pg_template: pg.Template) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database cloned from the run's template."""
    name = asyncio.run(pg_template.clone())
    yield pg.admin_dsn(name)
    asyncio.run(pg.Template.drop(name))


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file."""
    url = f"sqlite:///{tmp_path / 'dlrhub.sqlite3'}"

    async def migrate() -> None:
        s = store.from_url(url)
        await s.migrate()
        await s.close()

    asyncio.run(migrate())
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A database URL on each backend, migrated and empty."""
    url: str = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL on each backend with nothing behind it: a SQLite path with no file, or an empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    request.getfixturevalue("pg_template")  # skips (or fails in CI) without PostgreSQL
    name = asyncio.run(pg.create_empty())
    yield pg.admin_dsn(name)
    asyncio.run(pg.Template.drop(name))


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[store.Store]:
    """A migrated store on each backend."""
    s = store.from_url(db_url)
    yield s
    await s.close()


@pytest.fixture
async def receiver() -> AsyncIterator[receivers.Receiver]:
    """A loopback receiver that records every request and answers 200 unless the test scripts otherwise."""
    async with receivers.Receiver() as rec:
        yield rec


def signing_secret(key: bytes) -> str:
    """A Standard Webhooks `whsec_` secret with a chosen key (the product makes random ones: `ids.signing_secret`)."""
    return "whsec_" + base64.b64encode(key).decode("ascii")


def make_account(**changes: Any) -> models.Account:
    """An active account with fresh credentials and a VND price list."""
    account = models.Account(
        id=ids.account_id(),
        name="test",
        status=models.AccountStatus.ACTIVE,
        esms_api_key=ids.token(),
        esms_secret_key=ids.token(),
        nx_access_key=ids.token(8),
        nx_access_secret=ids.token(),
        balance=Decimal("1000000"),
        currency="VND",
        prices={"24": Decimal("350"), "25": Decimal("300"), "27": Decimal("220")},
        utc_offset_minutes=480,
        signing_secrets=(),
        created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    return account if not changes else dataclasses.replace(account, **changes)


def make_journey(account_id: str, journey_id: str, at: dt.datetime, **changes: Any) -> models.Journey:
    """An issued journey of `account_id` on OA `oa`, made at `at` and expiring then (`changes` override)."""
    journey = models.Journey(
        journey_id=journey_id,
        account_id=account_id,
        appkey=None,
        oa_id="oa",
        token="t1",
        token_type="token_logistics_7",
        phone="84900000001",
        state=models.JourneyState.ISSUED,
        created_at=at,
        expires_at=at,
    )
    return journey if not changes else dataclasses.replace(journey, **changes)
