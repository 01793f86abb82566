"""`planning.accepts.decide` gives each account debited one charge: the batch's total and message count."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from dlrhub.core import errors, models
from dlrhub.planning import accepts
from dlrhub.planning import events as planning
from tests.conftest import make_account

NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def _accept(account: models.Account, message_id: str, charge: str) -> accepts.Accept:
    message = models.Message(
        id=message_id, account_id=account.id, dialect=models.Dialect.ESMS, type_id=24, recipient="0901888484",
        state=models.MessageState.ACCEPTED, seq=0, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    event = models.StatusEvent(id=f"{message_id}:a", kind=models.EventKind.ACCEPTED, occurred_at=NOW)
    return accepts.Accept(message, event, planning.RenderInputs(account), charge=Decimal(charge))


def test_one_charge_per_account_debited_counting_only_what_was_accepted() -> None:
    one, two, free = make_account(), make_account(), make_account()
    batch = [
        _accept(one, "a", "2"), _accept(two, "b", "5"), _accept(one, "c", "3"), _accept(two, "d", "1"),
        _accept(free, "e", "0"),
    ]  # fmt: skip
    balances = {one.id: Decimal("10"), two.id: Decimal("5.5")}
    decided = accepts.decide(batch, NOW, {}, balances)
    assert isinstance(decided.results[3], errors.InsufficientBalance)
    assert decided.charges == {one.id: (Decimal("5"), 2), two.id: (Decimal("5"), 1)}
    assert decided.balances == {one.id: Decimal("5"), two.id: Decimal("0.5")}
    for account_id, (total, _) in decided.charges.items():
        assert balances[account_id] - total == decided.balances[account_id]


def test_without_balances_every_charge_is_taken_and_the_result_is_not_checked() -> None:
    """The store's one-statement path: nothing refused here, the totals left for the store to check."""
    one = make_account()
    batch = [_accept(one, "a", "2"), _accept(one, "b", "5")]
    decided = accepts.decide(batch, NOW, {}, None)
    assert not decided.checked
    assert [type(r).__name__ for r in decided.results] == ["IngestResult", "IngestResult"]
    assert decided.charges == {one.id: (Decimal("7"), 2)}
    assert decided.balances == {}
    assert accepts.decide(batch, NOW, {}, {one.id: Decimal("7")}).checked
