"""The dashboard's callback lists on each backend: destination and dialect filters, newest first, keyset pages."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3

from dlrhub import store
from dlrhub.core import models
from dlrhub.store.sqlite import core, dispatch
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest

S = models.CallbackState


async def test_lists_filter_by_destination_and_dialect_and_page_newest_first(db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    for i in range(5):
        await ingest(db, account, f"a{i}", models.EventKind.SUCCESS, f"http://a.example/{i}")
    await ingest(db, account, "b0", models.EventKind.SUCCESS, "http://b.example/0")
    await ingest(db, account, "e0", models.EventKind.SUCCESS, "http://a.example/e", models.Dialect.NXCLOUD)
    at_a = await db.find_callbacks(store.CallbackFilter(endpoint="http://a.example:80", limit=100))
    assert {c.message_id for c in at_a} == {"a0", "a1", "a2", "a3", "a4", "e0"}
    nx = await db.find_callbacks(store.CallbackFilter(dialect=models.Dialect.NXCLOUD))
    assert [c.message_id for c in nx] == ["e0"]
    native_b = store.CallbackFilter(endpoint="http://b.example:80", dialect=models.Dialect.NATIVE)
    assert [c.message_id for c in await db.find_callbacks(native_b)] == ["b0"]
    everything = sorted(await db.find_callbacks(store.CallbackFilter()), key=lambda c: (c.created_at, c.id))
    newest = list(reversed(everything))
    seen: list[str] = []
    before: tuple[dt.datetime, str] | None = None
    while True:
        page = await db.find_callbacks(store.CallbackFilter(limit=3, newest_first=True, before=before))
        seen += [c.id for c in page]
        if len(page) < 3:
            break
        before = (page[-1].created_at, page[-1].id)
    assert seen == [c.id for c in newest]  # every one once, in order, across pages
    nothing = await db.find_callbacks(
        store.CallbackFilter(newest_first=True, states=(S.FAILED, S.CANCELLED), account_id=account.id)
    )
    assert nothing == []


def _plan(conn: sqlite3.Connection, sql: str, params: dict[str, object]) -> list[str]:
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]


async def test_a_page_of_failed_callbacks_reads_the_unsettled_index_backwards(sqlite_url: str):
    lite = store.from_url(sqlite_url)
    assert isinstance(lite, core.SqliteCore)
    try:
        conn = lite._writer_connection()
        sql = (
            dispatch.FIND
            + dispatch.FIND_STATES
            + dispatch.FIND_UNSETTLED
            + dispatch.FIND_DIALECT
            + dispatch.FIND_BEFORE
            + dispatch.FIND_END_NEWEST
        )
        params = {"states": '["failed"]', "dialect": "esms", "before_at": 1.0, "before_id": "x", "limit": 50}
        plan = _plan(conn, sql, params)
        assert any(re.match(r"SEARCH callbacks USING INDEX callbacks_unsettled", step) for step in plan), plan
        # The index gives the order by time; only ties within one instant are sorted by id.
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
    finally:
        await lite.close()
