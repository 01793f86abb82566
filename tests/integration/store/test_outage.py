"""Which driver failures count as an outage (errors.StoreUnavailable), from the exceptions the drivers raise."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from dlrhub.store import outage


def sqlite_error(path: Path, sql: str) -> sqlite3.Error:
    conn = None
    try:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS t (x integer PRIMARY KEY)")
        conn.execute("INSERT OR IGNORE INTO t VALUES (1)")
        conn.execute(sql)
    except sqlite3.Error as exc:
        return exc
    finally:
        if conn is not None:
            conn.close()
    raise AssertionError(f"{sql} did not fail")


def test_sqlite_cannot_open_is_an_outage_a_bad_statement_is_not(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    assert outage.is_outage(sqlite_error(tmp_path / "dir", "SELECT 1"))
    assert not outage.is_outage(sqlite_error(tmp_path / "f", "SELECT * FROM missing"))
    assert not outage.is_outage(sqlite_error(tmp_path / "f", "INSERT INTO t VALUES (1)"))
    locker = sqlite3.connect(tmp_path / "f", isolation_level=None, timeout=0)
    locker.execute("BEGIN IMMEDIATE")
    busy = sqlite3.connect(tmp_path / "f", timeout=0)
    with pytest.raises(sqlite3.OperationalError) as locked:
        busy.execute("BEGIN IMMEDIATE")
    assert outage.is_outage(locked.value)  # SQLITE_BUSY: another process holds the file past busy_timeout
    busy.close()
    locker.close()
    closed = sqlite3.connect(tmp_path / "f")
    closed.close()
    with pytest.raises(sqlite3.ProgrammingError) as raised:
        closed.execute("SELECT 1")
    assert outage.is_outage(raised.value)


@pytest.mark.parametrize(
    ("exc", "down"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), True),
        (TimeoutError(), True),
        (asyncpg.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True),
        (asyncpg.InterfaceError("pool is closed"), True),
        (asyncpg.InterfaceError("cannot perform operation: another operation is in progress"), False),
        (asyncpg.exceptions.UndefinedTableError("relation does not exist"), False),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (ValueError("a bug"), False),
    ],
)
def test_postgres_failures(exc: Exception, down: bool) -> None:
    assert outage.is_outage(exc) is down
