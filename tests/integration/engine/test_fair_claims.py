"""Fair claims, on each backend: one account's backlog never keeps another account's due callbacks out of a claim."""

from __future__ import annotations

import collections
import datetime as dt
import typing

import pytest

from dlrhub import store
from dlrhub.adapters import sender
from dlrhub.core import models, urls
from dlrhub.store import claims
from dlrhub.workers import dispatcher
from tests.conftest import make_account
from tests.integration.engine.test_dispatch_lanes import HoldingSender
from tests.integration.engine.test_dispatcher import config, ingest

K = models.EventKind.SUCCESS
#: The big account's backlog: more than any claim below takes.
BACKLOG = 60


async def accounts(db: store.Store, n: int) -> list[models.Account]:
    made = [make_account() for _ in range(n)]
    for account in made:
        await db.create_account(account, [])
    return made


def later() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)


async def test_a_backlog_to_one_destination_leaves_room_for_another_accounts_fresh_callback(db):
    big, small = await accounts(db, 2)
    for i in range(BACKLOG):
        await ingest(db, big, f"big{i}", K, "http://big.example/hook")
    await ingest(db, small, "fresh", K, "http://small.example/hook")
    claimed = await db.claim_due_callbacks("w1", later(), 10, 30)
    assert "fresh" in [c.message_id for c in claimed]
    assert len(claimed) == 10
    # Skipping the backlogged destination (the dispatcher refills it on its own) finds the fresh one too.
    await db.release_callbacks("w1", [(c.id, later()) for c in claimed], later())
    excluded = {urls.check_url("http://big.example/hook").endpoint}
    claimed = await db.claim_due_callbacks("w2", later(), 10, 30, quota=4, exclude=excluded)
    assert [c.message_id for c in claimed] == ["fresh"]


async def test_a_backlog_spread_over_many_destinations_does_not_fill_the_claim(db):
    big, small = await accounts(db, 2)
    for i in range(BACKLOG):
        await ingest(db, big, f"big{i}", K, f"http://big{i % 20}.example/hook")
    for i in range(3):
        await ingest(db, small, f"fresh{i}", K, "http://small.example/hook")
    claimed = await db.claim_due_callbacks("w1", later(), 8, 30, quota=4)
    # Round-robin: the small account's three, interleaved with the big one's first ones.
    assert sorted(c.message_id for c in claimed if c.account_id == small.id) == ["fresh0", "fresh1", "fresh2"]
    assert collections.Counter(c.account_id for c in claimed) == {big.id: 5, small.id: 3}
    # Of each destination, its earliest.
    for endpoint in {c.endpoint for c in claimed if c.account_id == big.id}:
        taken = sorted(int(c.message_id[3:]) for c in claimed if c.endpoint == endpoint)
        assert taken == [taken[0] + 20 * n for n in range(len(taken))] and taken[0] < 20


async def test_a_claim_interleaves_the_accounts_and_keeps_the_quota(db):
    team = await accounts(db, 3)
    for n, account in enumerate(team):
        for i in range(6):
            await ingest(db, account, f"m{n}.{i}", K, f"http://a{n}.example/{i % 2}")
    claimed = await db.claim_due_callbacks("w1", later(), 9, 30, quota=4)
    assert collections.Counter(c.account_id for c in claimed) == {a.id: 3 for a in team}
    claimed += await db.claim_due_callbacks("w2", later(), 100, 30, quota=4)
    # Of each destination (three messages each) at most 4 per claim: all 18 are claimed by the second.
    assert len(claimed) == 18 and len({c.id for c in claimed}) == 18


async def test_an_accounts_backlog_to_an_excluded_destination_does_not_hide_its_other_destinations(db):
    (account,) = await accounts(db, 1)
    for i in range(BACKLOG):
        await ingest(db, account, f"x{i}", K, "http://x.example/hook")
    await ingest(db, account, "y0", K, "http://y.example/hook")
    await ingest(db, account, "x0", models.EventKind.DELIVERED, "http://x.example/hook")
    excluded = {urls.check_url("http://x.example/hook").endpoint}
    claimed = await db.claim_due_callbacks("w1", later(), 10, 30, quota=4, exclude=excluded)
    assert [c.message_id for c in claimed] == ["y0"]
    # Without the exclusion: the quota of x, in due order, and a message's second callback never before its first.
    claimed = await db.claim_due_callbacks("w2", later(), 10, 30, quota=4)
    assert [(c.message_id, c.seq) for c in claimed] == [(f"x{i}", 1) for i in range(4)]


async def test_claims_take_turns_when_more_accounts_have_callbacks_than_one_claim_looks_at(db, monkeypatch):
    monkeypatch.setattr(claims, "ACCOUNTS", 2)  # two a claim: five accounts take turns
    team = await accounts(db, 5)
    for n, account in enumerate(team):
        await ingest(db, account, f"m{n}", K, f"http://a{n}.example/hook")
    served = [c.account_id for _ in team for c in await db.claim_due_callbacks("w1", later(), 1, 30)]
    assert sorted(served) == sorted(a.id for a in team)


@pytest.mark.parametrize("spread", [1, 30])
async def test_the_dispatchers_first_claim_takes_the_small_accounts_fresh_callback(db, spread):
    big, small = await accounts(db, 2)
    for i in range(BACKLOG):
        await ingest(db, big, f"big{i}", K, f"http://big{i % spread}.example/hook")
    await ingest(db, small, "fresh", K, "http://small.example/hook")
    snd = HoldingSender(hold=True)
    d = dispatcher.Dispatcher(db, typing.cast(sender.Sender, snd), config(per_endpoint=4, batch_size=50))
    d.clock = later
    await d.tick()
    assert "fresh" in {cb.message_id for cb in d.holding.values()}
    assert len(d.holding) == 4  # the first tick looks no further than one destination's quota


async def test_a_claim_spreads_over_an_accounts_destinations_as_due_order_would(db):
    (account,) = await accounts(db, 1)
    for i in range(200):  # 40 destinations, five each, due in turn
        await ingest(db, account, f"m{i}", K, f"http://d{i % 40}.example/hook")
    claimed = await db.claim_due_callbacks("w1", later(), 80, 30, quota=64)
    # As due order would: two of each, not the quota of the first ones.
    assert collections.Counter(collections.Counter(c.endpoint for c in claimed).values()) == {2: 40}


@pytest.mark.parametrize("quota", [64, 100])
async def test_a_claim_fills_from_a_few_destinations_backlogs(db, quota):
    (account,) = await accounts(db, 1)
    for i in range(200):
        await ingest(db, account, f"n{i}", K, f"http://e{i % 2}.example/hook")
    # The walk counts one of each (a claim of 200 spreads over up to 200 destinations); the take widens to the
    # quota, or, where that is more than the backlog, a second pass takes the rest.
    claimed = await db.claim_due_callbacks("w1", later(), 200, 30, quota=quota)
    assert sorted(collections.Counter(c.endpoint for c in claimed).values()) == [min(quota, 100)] * 2


@pytest.mark.parametrize("passes", [1, claims.PASSES])
async def test_a_claim_short_of_a_backlog_it_underestimated_takes_another_pass(db, monkeypatch, passes):
    monkeypatch.setattr(claims, "PASSES", passes)
    (account,) = await accounts(db, 1)
    for i in range(40):
        await ingest(db, account, f"n{i}", K, "http://deep.example/hook")
    for name in ("a", "b"):
        await ingest(db, account, name, K, f"http://{name}.example/hook")
    # The walk counts one of each of three destinations; spreading the 27 missing over them takes 10 of each.
    claimed = await db.claim_due_callbacks("w1", later(), 30, 30)
    assert len(claimed) == (12 if passes == 1 else 30)
