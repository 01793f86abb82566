"""A statement's insert (`store/postgres/statement.py`): a column the same in every row goes as one parameter."""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

import pytest

from dlrhub import store
from dlrhub.core import control
from dlrhub.store.postgres import core, ledger, statement
from tests.conftest import make_account

pytestmark = pytest.mark.postgres
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _charge(account_id: str, amount: Decimal, n: int) -> tuple[object, ...]:
    return (account_id, amount, control.LedgerKind.CHARGE.value, "send", "dlrhub", n, NOW)


async def _insert(db: core.PostgresCore, rows: list[tuple[object, ...]]) -> statement.Statement:
    """Insert `rows` into the ledger through a statement; the statement."""
    pool = await db.pool()
    async with pool.acquire() as conn:
        st = statement.Statement(functools.partial(db.column_types, conn))
        await st.insert("ledger", ledger.CHARGE_COLUMNS, rows)
        sql = st.sql()
        await conn.execute(sql, *st.args)
    return st


async def test_columns_alike_in_every_row_go_as_one_parameter(pg_url: str) -> None:
    db = store.from_url(pg_url)
    assert isinstance(db, core.PostgresCore)
    account = make_account()
    await db.create_account(account, [])
    one, two = Decimal("-1.5"), Decimal("-2.5")
    try:
        # Amounts and counts differ; the account, kind, reason, actor and time are one object in every row.
        st = await _insert(db, [_charge(account.id, one, 1), _charge(account.id, two, 2)])
        arrays = [a for a in st.args if isinstance(a, list)]
        assert arrays == [[account.id, account.id], [one, two], [1, 2]]  # the first column is always an array
        assert NOW in st.args
        text = st.sql()
        # Rows alike in every column are each inserted; a single row, too; and the statement's text is the same.
        st = await _insert(db, [_charge(account.id, one, 3)] * 3)
        assert [a for a in st.args if isinstance(a, list)] == [[account.id] * 3]
        st = await _insert(db, [_charge(account.id, two, 4)])
        assert st.sql() == text
        pool = await db.pool()
        found = await pool.fetch(
            "SELECT amount, message_count FROM ledger WHERE account_id = $1 AND kind = $2 ORDER BY id",
            account.id,
            control.LedgerKind.CHARGE.value,
        )
        assert [(r["amount"], r["message_count"]) for r in found] == [(one, 1), (two, 2)] + [(one, 3)] * 3 + [
            (two, 4)
        ]
    finally:
        await db.close()
