"""Rate limits per destination host on each backend: set, replace, read, list, delete; the shared bucket."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from dlrhub.core import control
from dlrhub.store.postgres import endpoint_limits as postgres_limits
from dlrhub.store.sqlite import endpoint_limits as sqlite_limits

T0 = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)


async def test_set_replace_list_and_delete(db) -> None:
    assert await db.list_endpoint_limits() == []
    assert await db.get_endpoint_limit("https://gw.example:443") is None
    first = control.EndpointLimit("https://gw.example:443", 5.0, 1, "operator", T0)
    other = control.EndpointLimit("http://a.example:80", 0.5, 2, "account:acc_1", T0)
    await db.put_endpoint_limit(first)
    await db.put_endpoint_limit(other)
    assert await db.get_endpoint_limit("https://gw.example:443") == first
    changed = control.EndpointLimit("https://gw.example:443", 12.5, 20, "ops", T0 + dt.timedelta(seconds=1))
    await db.put_endpoint_limit(changed)
    assert await db.list_endpoint_limits() == [other, changed]
    assert await db.delete_endpoint_limit("https://gw.example:443") is True
    assert await db.delete_endpoint_limit("https://gw.example:443") is False
    assert await db.list_endpoint_limits() == [other]


async def test_tokens_are_taken_from_one_bucket_every_dispatcher_shares(db) -> None:
    assert await db.take_endpoint_tokens("http://none.example:80", 5, 100.0) is None  # no limit
    await db.put_endpoint_limit(control.EndpointLimit("http://gw.example:80", 10.0, 3, "operator", T0))
    first = await db.take_endpoint_tokens("http://gw.example:80", 2, 100.0)
    assert first is not None and (first.granted, first.tokens) == (2, 1.0) and first.wait_s == 0.0
    rest = await db.take_endpoint_tokens("http://gw.example:80", 5, 100.0)
    assert rest is not None and (rest.granted, rest.tokens) == (1, 0.0)
    assert rest.wait_s == pytest.approx(0.1)
    # A clock a little behind (another dispatcher's) refills nothing.
    behind = await db.take_endpoint_tokens("http://gw.example:80", 5, 99.0)
    assert behind is not None and behind.granted == 0 and behind.at == 100.0
    later = await db.take_endpoint_tokens("http://gw.example:80", 5, 100.25)
    assert later is not None and later.granted == 2 and later.tokens == pytest.approx(0.5)
    # A dispatcher that took tokens and died holds nothing: the bucket refills at the rate, up to the burst.
    rested = await db.take_endpoint_tokens("http://gw.example:80", 5, 200.0)
    assert rested is not None and rested.granted == 3
    # A changed limit applies to the bucket at once; the limit's own row is read as before.
    changed = control.EndpointLimit("http://gw.example:80", 1.0, 1, "operator", T0)
    await db.put_endpoint_limit(changed)
    assert await db.get_endpoint_limit("http://gw.example:80") == changed
    capped = await db.take_endpoint_tokens("http://gw.example:80", 5, 300.0)
    assert capped is not None and capped.granted == 1 and capped.wait_s == pytest.approx(1.0)


async def test_takes_at_once_never_grant_more_than_the_bucket_holds(db) -> None:
    await db.put_endpoint_limit(control.EndpointLimit("http://gw.example:80", 1.0, 20, "operator", T0))
    taken = await asyncio.gather(
        *(db.take_endpoint_tokens("http://gw.example:80", 3, 100.0) for _ in range(12))
    )
    assert sum(t.granted for t in taken if t is not None) == 20


def test_the_shared_host_check_reads_the_pending_index_not_every_callback(lite) -> None:
    """A customer token can ask whether a host is shared (`PUT /v1/endpoint-limits`): the check must not scan every
    callback the store keeps (SQLite's plan; PostgreSQL's statement has the same partial-index predicate)."""
    plan = [row[3] for row in lite.execute(f"EXPLAIN QUERY PLAN {sqlite_limits.SHARED}", ("e", "a"))]
    assert plan and all(not step.startswith("SCAN") for step in plan), plan
    assert "state = 'pending'" in postgres_limits.SHARED
