"""Fixtures shared by the store's tests."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator

import pytest

from dlrhub import store
from dlrhub.store.sqlite import core


@pytest.fixture
async def lite(sqlite_url: str) -> AsyncIterator[sqlite3.Connection]:
    """The SQLite writer's connection of a fresh, migrated store (the plan tests' `EXPLAIN QUERY PLAN`)."""
    db = store.from_url(sqlite_url)
    assert isinstance(db, core.SqliteCore)
    yield db._writer_connection()
    await db.close()
