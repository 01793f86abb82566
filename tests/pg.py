"""PostgreSQL for tests: a template database built once per run and cloned per test."""

from __future__ import annotations

import asyncio
import os
import uuid

import asyncpg
import pytest

from dlrhub import store


def admin_dsn(database: str | None = None) -> str:
    """A DSN from the standard PG* variables, defaulting to this machine's trust-auth server."""
    host = os.environ.get("PGHOST", "127.0.0.1")
    port = os.environ.get("PGPORT", "5432")
    user = os.environ.get("PGUSER", "postgres")
    db = database or os.environ.get("PGDATABASE", "test")
    return f"postgresql://{user}@{host}:{port}/{db}"


def unavailable_reason() -> str | None:
    """None when PostgreSQL answers, else why not."""

    async def probe() -> None:
        conn = await asyncpg.connect(admin_dsn(), timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {admin_dsn()} is unreachable: {exc}"
    return None


def require() -> None:
    """Skip (or, in CI, fail) when PostgreSQL is unreachable."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI needs it; PostgreSQL tests never skip there)")
    pytest.skip(reason)


async def create_empty() -> str:
    """A new database with nothing in it (drop it with `Template.drop`); returns its name."""
    name = f"dlrhub_empty_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return name


class Template:
    """A migrated template database; `clone()` makes a fresh copy for one test."""

    def __init__(self) -> None:
        self.name = f"dlrhub_tpl_{uuid.uuid4().hex[:10]}"

    async def build(self) -> None:
        conn = await asyncpg.connect(admin_dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await conn.close()
        s = store.from_url(admin_dsn(self.name))
        try:
            await s.migrate()
        finally:
            await s.close()

    async def clone(self) -> str:
        name = f"dlrhub_t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(admin_dsn())
        try:
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
        finally:
            await conn.close()
        return name

    @staticmethod
    async def drop(name: str) -> None:
        conn = await asyncpg.connect(admin_dsn())
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()
