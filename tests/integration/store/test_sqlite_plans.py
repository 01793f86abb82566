"""SQLite writes run on the event loop (ADR 0002): none of their statements may scan a whole table."""

from __future__ import annotations

import re
import sqlite3

import pytest

from dlrhub import store
from dlrhub.store.sqlite import (
    accounts,
    batch,
    callbacks,
    channel,
    core,
    dispatch,
    esms,
    messages,
    retention,
)

MODULES = (accounts, batch, callbacks, channel, dispatch, esms, messages, retention)
#: The SELECTs that run inside write transactions (the others run on the reader's thread).
LOOP_SELECTS = (
    callbacks.ACCOUNTS_PENDING,
    channel.SELECT_DUE,
    channel.SELECT_STALE,
    channel.SELECT_QUOTA,
    channel.SELECT_USED,
    channel.FIND_ORPHAN,
    batch.SELECT_REQUEST_ID,
    batch.SELECT_BALANCE,
    retention.SELECT_CALLBACKS,
    retention.SELECT_MESSAGES,
    retention.SELECT_JOURNEYS,
)


def _write_statements() -> list[str]:
    found = [
        value
        for module in MODULES
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and re.match(r"\s*(UPDATE|DELETE|INSERT)", value)
    ]
    return [*found, *LOOP_SELECTS]


def _plan(conn: sqlite3.Connection, sql: str) -> list[str]:
    names = re.findall(r":(\w+)", sql)
    params: dict[str, int] | list[int] = dict.fromkeys(names, 0) if names else [0] * sql.count("?")
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


@pytest.fixture
async def conn(sqlite_url: str):
    lite = store.from_url(sqlite_url)
    assert isinstance(lite, core.SqliteCore)
    yield lite._writer_connection()
    await lite.close()


def test_the_list_of_statements_is_not_empty():
    assert len(_write_statements()) > 20


@pytest.mark.parametrize("sql", _write_statements(), ids=lambda sql: "_".join(sql.split()[:3]))
def test_no_write_scans_a_table(conn: sqlite3.Connection, sql: str):
    plan = _plan(conn, sql)
    # A subquery's rows (a co-routine or a materialized table) may be scanned: its own steps are in the plan.
    subqueries = {m[1] for step in plan if (m := re.fullmatch(r"(?:CO-ROUTINE|MATERIALIZE) (\w+)", step))}
    scans = [step for step in plan if re.fullmatch(r"SCAN \w+", step) and step[5:] not in subqueries]
    assert scans == [], f"{scans} in: {sql}"
