"""What the store benches share: the database backends' CPU, and the plain library limit for a write.

`bench/native_event.py` and `bench/signed_batch.py` time dlrhub's store calls one at a time; beside them, in the
same run and alternated with them, `Bare` writes the same number of rows with nothing but the driver (asyncpg,
or the stdlib's sqlite3 for a SQLite URL): one transaction a call, the rows inserted by one `executemany` into a
table with a text key, the rows' size about dlrhub's. Its time is the floor each ratio is printed against.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from dlrhub import store

#: A row's payload, about an event's or a message's stored size.
PAYLOAD = "x" * 300


async def backends(db: store.Store) -> list[int]:
    """The server processes of the store's database (PostgreSQL), whose CPU the benches report; none for SQLite."""
    pool = getattr(db, "pool", None)
    if pool is None or not str(getattr(db, "url", "")).startswith("postgres"):
        return []
    rows = await (await pool()).fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return [int(r["pid"]) for r in rows]


def cpu_s(pids: list[int]) -> float:
    """User + system CPU seconds of `pids` so far, from /proc (a process gone counts nothing)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


class Bare:
    """`rows` rows in one transaction, with the driver alone, on the bench's own database."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pg: asyncpg.Connection | None = None
        self._lite: sqlite3.Connection | None = None

    async def open(self) -> None:
        ddl = "CREATE TABLE IF NOT EXISTS bench_bare (id text PRIMARY KEY, payload text NOT NULL)"
        if self.url.startswith("postgres"):
            self._pg = await asyncpg.connect(self.url)
            await self._pg.execute(ddl)
        else:
            path = self.url.removeprefix("sqlite:///")
            self._lite = sqlite3.connect(path, isolation_level=None)
            self._lite.execute("PRAGMA journal_mode=WAL")
            self._lite.execute(ddl)

    async def write(self, rows: int) -> None:
        values: list[Any] = [(uuid.uuid4().hex, PAYLOAD) for _ in range(rows)]
        sql = "INSERT INTO bench_bare (id, payload) VALUES ({}, {})"
        if self._pg is not None:
            async with self._pg.transaction():
                await self._pg.executemany(sql.format("$1", "$2"), values)
        elif self._lite is not None:
            self._lite.execute("BEGIN")
            self._lite.executemany(sql.format("?", "?"), values)
            self._lite.execute("COMMIT")

    async def close(self) -> None:
        if self._pg is not None:
            await self._pg.close()
        if self._lite is not None:
            self._lite.close()
