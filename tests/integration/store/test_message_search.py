"""Message search in the store, on both backends: each filter, keyset pages, and the indexes SQLite walks."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import re
import sqlite3
from typing import Any

import pytest

from dlrhub import store
from dlrhub.core import models
from dlrhub.services import search as search_service
from dlrhub.store import message_search
from dlrhub.store.sqlite import core
from tests.conftest import make_account
from tests.integration.store.test_contract import event, inputs, new_message

T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
Q = store.MessageQuery


async def put(db: store.Store, account: models.Account, mid: str, at: dt.datetime, **changes) -> None:
    message = new_message(account, mid, created_at=at, updated_at=at, callback_url=None, **changes)
    await db.accept_message(message, event(mid, models.EventKind.ACCEPTED), inputs(account), now=at)


async def ids(db: store.Store, q: store.MessageQuery) -> list[str]:
    return [m.id for m in await db.search_messages(q)]


@pytest.fixture
async def two(db: store.Store) -> tuple[models.Account, models.Account]:
    a, b = make_account(), make_account()
    await db.create_account(a, [])
    await db.create_account(b, [])
    await put(db, a, "e1", T0, dialect=models.Dialect.ESMS, recipient="0901888484", request_id="order-1")
    await put(db, a, "zalomid.n1", T0 + dt.timedelta(minutes=1), dialect=models.Dialect.NXCLOUD)
    await put(db, a, "v1", T0 + dt.timedelta(minutes=2), recipient="84901888484")
    await put(db, b, "e2", T0 + dt.timedelta(minutes=3), dialect=models.Dialect.ESMS, request_id="order-1")
    await put(db, b, "v2", T0 + dt.timedelta(days=1), recipient="84900000002")
    failed = models.StatusEvent(id="v1:failed", kind=models.EventKind.FAILED, occurred_at=T0, message_id="v1")
    await db.apply_event(failed, inputs(a), now=T0 + dt.timedelta(minutes=5))
    return a, b


async def test_each_filter_finds_what_it_names_newest_first(db: store.Store, two) -> None:
    a, b = two
    assert await ids(db, Q()) == ["v2", "e2", "v1", "zalomid.n1", "e1"]
    assert await ids(db, Q(account_id=a.id)) == ["v1", "zalomid.n1", "e1"]
    assert await ids(db, Q(account_id=b.id)) == ["v2", "e2"]
    assert await ids(db, Q(public_id="zalomid.n1")) == ["zalomid.n1"]
    assert await ids(db, Q(public_id="order-1")) == ["e2", "e1"]  # a RequestId is each account's own
    assert await ids(db, Q(public_id="order-1", account_id=a.id)) == ["e1"]
    assert await ids(db, Q(public_id="nope")) == []
    assert await ids(db, Q(phones=("84901888484", "0901888484"))) == ["v1", "e1"]
    assert await ids(db, Q(phones=("0901888484",))) == ["e1"]
    assert await ids(db, Q(state=models.MessageState.FAILED)) == ["v1"]
    assert await ids(db, Q(state=models.MessageState.ACCEPTED, account_id=a.id)) == ["zalomid.n1", "e1"]
    assert await ids(db, Q(dialect=models.Dialect.ESMS)) == ["e2", "e1"]
    assert await ids(db, Q(dialect=models.Dialect.NATIVE, account_id=b.id)) == ["v2"]
    minute = dt.timedelta(minutes=1)
    assert await ids(db, Q(since=T0 + minute, until=T0 + 3 * minute)) == ["v1", "zalomid.n1"]
    assert await ids(db, Q(since=T0 + dt.timedelta(hours=1))) == ["v2"]
    assert await ids(db, Q(until=T0 + minute)) == ["e1"]
    everything = Q(
        account_id=a.id,
        public_id="v1",
        phones=("84901888484",),
        state=models.MessageState.FAILED,
        dialect=models.Dialect.NATIVE,
        since=T0,
        until=T0 + dt.timedelta(hours=1),
    )
    [found] = await db.search_messages(everything)
    assert found == await db.get_message("v1")
    assert await ids(db, dataclasses.replace(everything, account_id=b.id)) == []


async def test_pages_have_no_gap_and_no_repeat_when_many_share_a_time(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    stamps = [T0] * 7 + [T0 + dt.timedelta(seconds=1)] * 5 + [T0 - dt.timedelta(microseconds=1)] * 3
    for n, at in enumerate(stamps):
        await put(db, account, f"m{n:02d}", at)
    expected = [
        m.id
        for m in sorted(
            await db.search_messages(Q(limit=200)), key=lambda m: (m.created_at, m.id), reverse=True
        )
    ]
    assert len(expected) == len(stamps)
    for size in (1, 2, 4, 7):
        seen: list[str] = []
        query = Q(account_id=account.id, limit=size)
        for _ in range(len(stamps) + 1):
            page = await db.search_messages(query)
            assert len(page) <= size
            seen += [m.id for m in page]
            if len(page) < size:
                break
            query = dataclasses.replace(query, before=(page[-1].created_at, page[-1].id))
        assert seen == expected, size


async def test_the_page_size_is_clamped(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    for n in range(3):
        await put(db, account, f"m{n}", T0 + dt.timedelta(seconds=n))
    assert len(await db.search_messages(Q(limit=0))) == 1
    assert len(await db.search_messages(Q(limit=-5))) == 1
    assert message_search.limit(Q(limit=10**9)) == store.MAX_SEARCH_ROWS


FILTERS: dict[str, dict[str, Any]] = {
    "account": {"account_id": "a"},
    "id": {"public_id": "x"},
    "phone": {"phones": ("84901888484", "0901888484")},
    "state": {"state": models.MessageState.FAILED},
    "dialect": {"dialect": models.Dialect.ESMS},
    "since": {"since": T0},
    "until": {"until": T0},
}


#: The filter whose index a search walks, most selective first, and that index.
LEADS = {
    "id": "MULTI-INDEX OR",
    "phone": "messages_recipient",
    "account": "messages_account_created_id",
    "state": "messages_state_dialect",
    "dialect": "messages_state_dialect",
}


def _combinations() -> list[tuple[str, ...]]:
    names = list(FILTERS)
    return [c for n in range(len(names) + 1) for c in itertools.combinations(names, n)]


@pytest.mark.parametrize("names", _combinations(), ids=lambda c: "+".join(c) or "none")
@pytest.mark.parametrize("deep", [False, True], ids=["first", "deep"])
async def test_sqlite_walks_an_index_for_every_combination(sqlite_url: str, names, deep) -> None:
    lite = store.from_url(sqlite_url)
    await lite.migrate()
    assert isinstance(lite, core.SqliteCore)
    try:
        kw = {k: v for name in names for k, v in FILTERS[name].items()}
        query = Q(before=(T0 - dt.timedelta(minutes=1), "m") if deep else None, **kw)  # a page past `until`
        sql, params = message_search.select(query, "sqlite")
        conn: sqlite3.Connection = lite._writer_connection()
        plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
    finally:
        await lite.close()
    assert not any(re.fullmatch(r"SCAN messages", step) for step in plan), plan  # never the whole table
    lead = next((name for name in LEADS if name in names), None)
    index = LEADS[lead] if lead is not None else "messages_created_id"
    assert any(index in step for step in plan), plan
    if lead not in ("id", "phone"):  # those find a few rows, sorted after; the rest walk in page order
        walks = [step for step in plan if step.startswith(("SEARCH messages", "SCAN messages"))]
        assert all(index in step for step in walks), plan
        if lead in ("state", "dialect") and not {"state", "dialect"} <= set(names):
            # One walk per (state, dialect) pair, each in page order: only each branch's page is sorted, to merge.
            assert "MERGE (UNION ALL)" in plan, plan
            sorts = [step for step in plan if "TEMP B-TREE" in step]
            assert len(sorts) == len([step for step in plan if re.fullmatch(r"SCAN f\d+", step)]), plan
        else:
            assert not any("TEMP B-TREE" in step for step in plan), plan
    if deep and lead not in ("id", "phone"):
        assert any("(created_at,id)<(?,?)" in step for step in plan), plan


async def test_paging_any_filter_matches_a_brute_force_filter(db: store.Store) -> None:
    """Every state, dialect, account and time filter alone and together, paged at several sizes through the
    cursor the search service hands out, finds what filtering every message by hand finds, in order: no row
    skipped or repeated where a state (or dialect) alone merges one walk per (state, dialect) pair, many rows
    share a time across pairs, and ids tie-break in another order than the pairs'."""
    a, b = make_account(), make_account()
    for account in (a, b):
        await db.create_account(account, [])
    states = list(models.MessageState)
    dialects = list(models.Dialect)
    moves = {
        models.MessageState.ACCEPTED: (),
        models.MessageState.SUCCESS: (models.EventKind.SUCCESS,),
        models.MessageState.FAILED: (models.EventKind.FAILED,),
        models.MessageState.DELIVERED: (models.EventKind.SUCCESS, models.EventKind.DELIVERED),
    }
    stamps = [T0, T0 + dt.timedelta(microseconds=1), T0 + dt.timedelta(seconds=1), T0 + dt.timedelta(hours=1)]
    for n in range(40):
        account = (a, b)[(n // 12) % 2]  # each account has every (state, dialect) pair
        state, dialect = states[n % len(states)], dialects[(n // len(states)) % len(dialects)]
        mid = f"m{(n * 7) % 40:02d}"  # ids out of step with the pairs, so that ties between walks mix
        at = stamps[(n * 3 // 5) % len(stamps)]
        await put(db, account, mid, at, dialect=dialect)
        for kind in moves[state]:
            moved = models.StatusEvent(id=f"{mid}:{kind.value}", kind=kind, occurred_at=at, message_id=mid)
            await db.apply_event(moved, inputs(account), now=at)
    everything = await db.search_messages(Q(limit=200))
    assert len(everything) == 40
    assert {(m.state, m.dialect) for m in everything} == set(itertools.product(states, dialects))

    def wanted(q: store.MessageQuery) -> list[str]:
        found = [
            m
            for m in everything
            if (q.account_id is None or m.account_id == q.account_id)
            and (q.state is None or m.state is q.state)
            and (q.dialect is None or m.dialect is q.dialect)
            and (q.since is None or m.created_at >= q.since)
            and (q.until is None or m.created_at < q.until)
        ]
        return [m.id for m in sorted(found, key=lambda m: (m.created_at, m.id), reverse=True)]

    queries = [
        Q(account_id=account, state=state, dialect=dialect, since=since, until=until)
        for account in (None, a.id)
        for state in (None, models.MessageState.FAILED, models.MessageState.ACCEPTED)
        for dialect in (None, models.Dialect.ESMS, models.Dialect.NATIVE)
        for since, until in ((None, None), (T0 + dt.timedelta(microseconds=1), T0 + dt.timedelta(hours=1)))
    ]
    for query in queries:
        expected = wanted(query)
        for size in (1, 3, 7):
            seen: list[str] = []
            page_query = dataclasses.replace(query, limit=size)
            for _ in range(len(expected) + 2):
                page = await db.search_messages(page_query)
                assert len(page) <= size
                seen += [m.id for m in page]
                if len(page) < size:
                    break
                cursor = search_service.encode_cursor(page[-1].created_at, page[-1].id)
                page_query = dataclasses.replace(page_query, before=search_service.decode_cursor(cursor))
            assert seen == expected, (query, size)
