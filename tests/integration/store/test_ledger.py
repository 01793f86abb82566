"""Accounts found and changed, and the balance ledger, on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
from decimal import Decimal

import asyncpg
import pytest

from dlrhub import store
from dlrhub.core import control, errors, models
from dlrhub.planning import accepts
from dlrhub.planning import events as planning
from tests.conftest import make_account

NOW = dt.datetime(2024, 5, 1, 2, 12, 39, tzinfo=dt.UTC)
TOP_UP = control.LedgerKind.TOP_UP


def _accept(account: models.Account, message_id: str, charge: str) -> accepts.Accept:
    message = models.Message(
        id=message_id, account_id=account.id, dialect=models.Dialect.ESMS, type_id=24, recipient="0901888484",
        state=models.MessageState.ACCEPTED, seq=0, created_at=NOW, updated_at=NOW, price=Decimal(charge),
    )  # fmt: skip
    event = models.StatusEvent(
        id=f"{message_id}:accepted", kind=models.EventKind.ACCEPTED, occurred_at=NOW, message_id=message_id
    )
    return accepts.Accept(message, event, planning.RenderInputs(account), charge=Decimal(charge))


async def test_an_account_opens_its_ledger_and_top_ups_move_the_balance_with_a_row(db: store.Store):
    account = make_account(balance=Decimal("100.5"))
    await db.create_account(account, [], actor="ops")
    (opening,) = await db.list_ledger(account.id)
    assert (opening.kind, opening.amount, opening.actor) == (
        control.LedgerKind.OPENING,
        Decimal("100.5"),
        "ops",
    )
    entry, after = await db.post_ledger(
        account.id, Decimal("20.25"), TOP_UP, reason="paid", actor="ann", now=NOW
    )
    assert (entry.amount, entry.reason, entry.actor, entry.created_at) == (
        Decimal("20.25"),
        "paid",
        "ann",
        NOW,
    )
    assert after.balance == Decimal("120.75") == (await db.get_account(account.id)).balance
    kind = control.LedgerKind.ADJUSTMENT
    with pytest.raises(errors.Conflict):
        await db.post_ledger(account.id, Decimal("-120.7501"), kind, reason="too much", actor="ann", now=NOW)
    await db.post_ledger(account.id, Decimal("-0.75"), kind, reason="fee", actor="bob", now=NOW)
    rows = await db.list_ledger(account.id)
    assert [r.amount for r in rows] == [Decimal("-0.75"), Decimal("20.25"), Decimal("100.5")]
    assert await db.ledger_total(account.id) == Decimal("120") == (await db.get_account(account.id)).balance
    assert [r.id for r in await db.list_ledger(account.id, before=rows[0].id, limit=1)] == [rows[1].id]
    with pytest.raises(errors.UnknownAccount):
        await db.post_ledger("acc_missing", Decimal(1), TOP_UP, reason="x", actor="ann", now=NOW)


async def test_a_group_commit_writes_one_charge_row_per_account(db: store.Store):
    one, two = make_account(balance=Decimal("10")), make_account(balance=Decimal("5"))
    await db.create_account(one, [])
    await db.create_account(two, [])
    batch = [
        _accept(one, "m1", "2"),
        _accept(two, "m2", "3"),
        _accept(one, "m3", "1.5"),
        _accept(two, "m4", "3"),
    ]
    results = await db.accept_messages(batch, NOW)
    assert isinstance(results[3], errors.InsufficientBalance)
    for account, amount, count, balance in ((one, "-3.5", 2, "6.5"), (two, "-3", 1, "2")):
        charge = (await db.list_ledger(account.id))[0]
        assert (charge.kind, charge.amount, charge.message_count) == (
            control.LedgerKind.CHARGE, Decimal(amount), count,
        )  # fmt: skip
        assert (await db.get_account(account.id)).balance == Decimal(balance)
        assert await db.ledger_total(account.id) == Decimal(balance)


async def test_accounts_are_found_by_status_and_name_a_page_at_a_time(db: store.Store):
    made = []
    for i, name in enumerate(["Alpha shop", "beta", "ALPHA two", "gamma"]):
        account = make_account(name=name, created_at=NOW + dt.timedelta(seconds=i))
        await db.create_account(account, [])
        made.append(account)
    await db.update_account(made[2].id, {"status": models.AccountStatus.LOCKED})
    alpha = await db.find_accounts(store.AccountFilter(name_contains="alpha"))
    assert [a.id for a in alpha] == [made[0].id, made[2].id]
    locked = await db.find_accounts(store.AccountFilter(status=models.AccountStatus.LOCKED))
    assert [a.id for a in locked] == [made[2].id]
    first = await db.find_accounts(store.AccountFilter(limit=2))
    rest = await db.find_accounts(store.AccountFilter(after=first[-1].id, limit=2))
    assert [a.id for a in first + rest] == [a.id for a in made]


async def test_a_deactivated_account_changes_no_more(db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    changes: dict[str, object] = {
        "name": "renamed",
        "prices": {"25": Decimal("310"), "tpl:100001": Decimal("500")},
        "default_callback_url": "https://customer.example/dr",
        "utc_offset_minutes": 420,
    }
    changed = await db.update_account(account.id, changes)
    assert changed == dataclasses.replace(account, **changes)  # type: ignore[arg-type]
    assert await db.get_account(account.id) == changed
    await db.update_account(account.id, {"status": models.AccountStatus.DEACTIVATED})
    with pytest.raises(errors.Conflict):
        await db.update_account(account.id, {"status": models.AccountStatus.ACTIVE})
    with pytest.raises(errors.Conflict):
        await db.post_ledger(account.id, Decimal(1), TOP_UP, reason="x", actor="ann", now=NOW)
    with pytest.raises(errors.UnknownAccount):
        await db.update_account("acc_missing", {"name": "x"})


UNDO_0007 = (
    "DROP TABLE ledger",
    "ALTER TABLE accounts DROP COLUMN default_callback_url",
    "DELETE FROM schema_migrations WHERE name = '0007_account_ledger'",
)


async def test_migration_0007_opens_the_ledger_of_existing_accounts(db_url: str):
    """A store from before the ledger: each account's ledger starts with its balance then."""
    account = make_account(balance=Decimal("4321.5"))
    first = store.from_url(db_url)
    await first.create_account(account, [])
    await first.close()
    if db_url.startswith("sqlite"):
        conn = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        for sql in UNDO_0007:
            conn.execute(sql)
        conn.commit()
        conn.close()
    else:
        pg = await asyncpg.connect(db_url)
        for sql in UNDO_0007:
            await pg.execute(sql)
        await pg.close()
    again = store.from_url(db_url)
    try:
        assert await again.migrate() == ["0007_account_ledger"]
        (opening,) = await again.list_ledger(account.id)
        assert (opening.kind, opening.amount, opening.actor) == (
            control.LedgerKind.OPENING, Decimal("4321.5"), "migration",
        )  # fmt: skip
        assert await again.ledger_total(account.id) == (await again.get_account(account.id)).balance
    finally:
        await again.close()
