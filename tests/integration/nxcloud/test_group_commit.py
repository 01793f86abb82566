"""`Store.accept_messages` (one transaction for many accepts) and the queue that feeds it, on both backends."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.planning import accepts
from dlrhub.planning import events as planning
from dlrhub.services import group_commit
from tests.conftest import make_account

NOW = dt.datetime(2024, 5, 1, 2, 12, 39, tzinfo=dt.UTC)


def _accept(
    account: models.Account, message_id: str, charge: str = "1", request_id: str | None = None
) -> accepts.Accept:
    message = models.Message(
        id=message_id, account_id=account.id, dialect=models.Dialect.NXCLOUD, type_id=25, recipient="84901888484",
        state=models.MessageState.ACCEPTED, seq=0, created_at=NOW, updated_at=NOW, request_id=request_id,
        price=Decimal(charge), currency="USD",
    )  # fmt: skip
    accepted = models.StatusEvent(
        id=f"{message_id}:accepted", kind=models.EventKind.ACCEPTED, occurred_at=NOW, message_id=message_id
    )
    since = NOW - dt.timedelta(hours=24) if request_id else None
    inputs = planning.RenderInputs(account)
    return accepts.Accept(message, accepted, inputs, charge=Decimal(charge), dedup_since=since)


async def test_each_accept_stands_alone_in_one_transaction(db: store.Store):
    await db.migrate()
    rich, poor = make_account(balance=Decimal("10")), make_account(balance=Decimal("1.5"))
    await db.create_account(rich, [])
    await db.create_account(poor, [])
    batch = [
        _accept(rich, "m1", request_id="r1"),
        _accept(poor, "m2"),
        _accept(poor, "m3"),  # 0.5 left: refused
        _accept(rich, "m4", request_id="r1"),  # same RequestId as m1, in the same batch
        _accept(rich, "m5", charge="0"),
    ]
    results = await db.accept_messages(batch, NOW)
    assert [type(r).__name__ for r in results] == [
        "IngestResult", "IngestResult", "InsufficientBalance", "DuplicateRequest", "IngestResult",
    ]  # fmt: skip
    duplicate = results[3]
    assert isinstance(duplicate, errors.DuplicateRequest)
    assert duplicate.existing_message_id == "m1"
    assert (await db.get_account(rich.id)).balance == Decimal("9")
    assert (await db.get_account(poor.id)).balance == Decimal("0.5")
    for kept in ("m1", "m2", "m5"):
        assert [e.kind for e in await db.list_events(kept)] == [models.EventKind.ACCEPTED]
    for refused in ("m3", "m4"):
        with pytest.raises(errors.UnknownMessage):
            await db.get_message(refused)
    assert await db.accept_messages([], NOW) == []


async def test_a_batch_its_balance_does_not_cover_is_settled_send_by_send(db: store.Store):
    """On PostgreSQL such a batch first goes as one statement that debits only if the balance covers it all:
    that statement writes nothing, and the batch is then settled against the balance it read."""
    await db.migrate()
    account = make_account(balance=Decimal("2.5"))
    await db.create_account(account, [])
    results = await db.accept_messages([_accept(account, f"s{i}") for i in range(4)], NOW)
    assert [type(r).__name__ for r in results] == [
        "IngestResult", "IngestResult", "InsufficientBalance", "InsufficientBalance",
    ]  # fmt: skip
    assert (await db.get_account(account.id)).balance == Decimal("0.5")
    [charge, _opening] = await db.list_ledger(account.id)
    assert (charge.amount, charge.message_count) == (Decimal("-2"), 2)
    assert [m.id for m in await db.get_messages(account.id, [f"s{i}" for i in range(4)])] == ["s0", "s1"]
    # Covered to the last unit: all accepted, with one charge row for the batch.
    covered = await db.accept_messages([_accept(account, "t", "0.2"), _accept(account, "u", "0.3")], NOW)
    assert all(isinstance(r, store.IngestResult) for r in covered)
    assert (await db.get_account(account.id)).balance == Decimal("0")
    newest = (await db.list_ledger(account.id))[0]
    assert (newest.amount, newest.message_count) == (Decimal("-0.5"), 2)
    assert await db.ledger_total(account.id) == Decimal("0")


async def test_concurrent_accepts_share_transactions_and_keep_their_own_answers(db: store.Store):
    await db.migrate()
    account = make_account(balance=Decimal("30"))
    await db.create_account(account, [])
    outcomes = await asyncio.gather(
        *[group_commit.accept(db, _accept(account, f"c{i}"), lambda: NOW) for i in range(40)],
        return_exceptions=True,
    )
    accepted = [o for o in outcomes if isinstance(o, store.IngestResult)]
    refused = [o for o in outcomes if isinstance(o, errors.InsufficientBalance)]
    assert (len(accepted), len(refused)) == (30, 10)
    assert (await db.get_account(account.id)).balance == Decimal("0")
    assert {o.message.id for o in accepted if o.message} == {
        m.id for m in await db.get_messages(account.id, [f"c{i}" for i in range(40)])
    }


@pytest.mark.postgres
@pytest.mark.parametrize("used_before", [False, True], ids=["new-request-ids", "request-ids-used-long-ago"])
async def test_batches_of_two_processes_race_for_one_request_id_and_balance(pg_url: str, used_before: bool):
    """Two stores (two pools, as two `dlrhub api` processes) send at once from one account: each RequestId
    makes one message, the balance pays for exactly what was accepted, and no batch deadlocks. A new RequestId
    is kept apart by its unique key (the second insert waits); one used long ago by its row lock."""
    first, second = store.from_url(pg_url), store.from_url(pg_url)
    try:
        account = make_account(balance=Decimal("12"))
        await first.create_account(account, [])
        if used_before:  # each RequestId's row exists: the sends below differ only in who locks it
            pool = await first.pool()  # type: ignore[attr-defined]
            await pool.executemany(
                "INSERT INTO request_ids VALUES ($1, $2, $3, '2020-01-01')",
                [(account.id, f"r{r}", f"old-{r}") for r in range(20)],
            )
        # Free sends with the same RequestIds, in opposite orders: only the request ids' row locks keep them apart.
        same_ids = [
            asyncio.gather(
                first.accept_messages([_accept(account, f"a{n}-{r}", "0", f"r{r}") for r in (n, n + 1)], NOW),
                second.accept_messages(
                    [_accept(account, f"b{n}-{r}", "0", f"r{r}") for r in (n + 1, n)], NOW
                ),
            )
            for n in range(0, 20, 2)
        ]
        # Paid sends without RequestIds: only the account's row lock keeps the balance right.
        paid = [
            (first if n % 2 else second).accept_messages(
                [_accept(account, f"p{n}-{k}") for k in range(3)], NOW
            )
            for n in range(8)
        ]
        pairs, charged = await asyncio.gather(asyncio.gather(*same_ids), asyncio.gather(*paid))
        outcomes = [o for pair in pairs for batch in pair for o in batch]
        made = [o.message.request_id for o in outcomes if isinstance(o, store.IngestResult) and o.message]
        assert sorted(map(str, made)) == sorted(f"r{r}" for r in range(20)), "one message per RequestId"
        paid_for = [o for batch in charged for o in batch if isinstance(o, store.IngestResult)]
        assert len(paid_for) == 12  # 24 paid sends, a balance for 12
        assert (await first.get_account(account.id)).balance == Decimal("0")
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_a_refused_accept_leaves_no_request_id_behind(pg_url: str):
    db = store.from_url(pg_url)
    try:
        poor = make_account(balance=Decimal("0"))
        await db.create_account(poor, [])
        results = await db.accept_messages([_accept(poor, "m1", request_id="r1")], NOW)
        assert isinstance(results[0], errors.InsufficientBalance)
        pool = await db.pool()  # type: ignore[attr-defined]
        assert await pool.fetchval("SELECT count(*) FROM request_ids") == 0
    finally:
        await db.close()


def _signed(accept: accepts.Accept, sign: str) -> accepts.Accept:
    return dataclasses.replace(accept, signature=accepts.Signature(sign, NOW + dt.timedelta(minutes=10)))


@pytest.mark.parametrize("balance", ["10", "2"], ids=["covered", "short"])
async def test_sends_take_their_signatures_with_them(db: store.Store, balance: str):
    """Each send's request signature is taken with it: a signature taken before (by a take of its own, or by an
    earlier send of the batch) refuses the send with errors.Replayed and writes nothing of it; the other sends
    are settled as ever (on PostgreSQL the batch's one statement fails whole, and the batch is settled again).
    A send refused for its balance still takes its signature."""
    await db.migrate()
    account = make_account(balance=Decimal(balance))
    await db.create_account(account, [])
    assert await db.take_signature("before", NOW + dt.timedelta(minutes=10), NOW)
    batch = [
        _signed(_accept(account, "m1"), "a"),
        _signed(_accept(account, "m2"), "before"),
        _signed(_accept(account, "m3"), "a"),
        _signed(_accept(account, "m4"), "b"),
        _signed(_accept(account, "m5"), "c"),
    ]
    results = await db.accept_messages(batch, NOW)
    third = "IngestResult" if balance == "10" else "InsufficientBalance"
    assert [type(r).__name__ for r in results] == [
        "IngestResult", "Replayed", "Replayed", "IngestResult", third,
    ]  # fmt: skip
    stored = {m.id for m in await db.get_messages(account.id, [f"m{i}" for i in range(1, 6)])}
    assert stored == ({"m1", "m4", "m5"} if balance == "10" else {"m1", "m4"})
    assert (await db.get_account(account.id)).balance == Decimal(balance) - len(stored)
    for sign in ("a", "b", "c", "before"):
        assert not await db.take_signature(sign, NOW + dt.timedelta(minutes=10), NOW)


async def test_a_batch_of_fresh_signatures_takes_them_all(db: store.Store):
    await db.migrate()
    account = make_account(balance=Decimal("10"))
    await db.create_account(account, [])
    results = await db.accept_messages([_signed(_accept(account, f"m{i}"), f"s{i}") for i in range(3)], NOW)
    assert all(isinstance(r, planning.IngestResult) for r in results)
    for i in range(3):
        assert not await db.take_signature(f"s{i}", NOW + dt.timedelta(minutes=10), NOW)
    assert await db.take_signature("s3", NOW + dt.timedelta(minutes=10), NOW)
