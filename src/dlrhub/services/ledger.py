"""The balance ledger: top-ups and adjustments by an operator, and reading an account's rows.

Every change of a balance is a ledger row written in the same transaction as the balance, so the balance is always
the sum of the account's rows: the opening balance (`accounts.create`), top-ups, adjustments, and one charge row per
account per group commit of sends (the store writes those with the messages).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dlrhub import store
from dlrhub.core import chars, control, errors, models
from dlrhub.services import audit
from dlrhub.services import hub as hub_

#: The largest amount one row may move, either way.
MAX_AMOUNT = Decimal("1e12")
MAX_REASON = 500
#: The most rows one page lists.
MAX_PAGE = 500
#: The largest row id a page's `before` may name (a BIGINT's: a larger one fails in either store).
MAX_ROW_ID = 2**63 - 1
#: The kinds an operator may write (opening rows come with the account, charges with the sends).
OPERATOR_KINDS = (control.LedgerKind.TOP_UP, control.LedgerKind.ADJUSTMENT, control.LedgerKind.REFUND)


def entry_json(entry: control.LedgerEntry) -> dict[str, Any]:
    """A ledger row as the API and the CLI print it."""
    return {
        "id": entry.id,
        "account_id": entry.account_id,
        "amount": str(entry.amount),
        "kind": entry.kind.value,
        "reason": entry.reason,
        "actor": entry.actor,
        "message_count": entry.message_count,
        "created_at": entry.created_at.isoformat(),
    }


def _amount(kind: control.LedgerKind, amount: Decimal) -> Decimal:
    if not amount.is_finite():
        raise errors.InvalidInput("amount", "must be a number with at most 4 decimals")
    # The range first: quantizing a huge amount (1e309) overflows the context's precision and raises.
    if not -MAX_AMOUNT <= amount <= MAX_AMOUNT or amount == 0:
        raise errors.InvalidInput("amount", f"must be non-zero, between -{MAX_AMOUNT} and {MAX_AMOUNT}")
    if amount != amount.quantize(Decimal("0.0001")):
        raise errors.InvalidInput("amount", "must be a number with at most 4 decimals")
    if kind is not control.LedgerKind.ADJUSTMENT and amount < 0:
        raise errors.InvalidInput(
            "amount", f"a {kind.value} must be positive (an adjustment may be negative)"
        )
    return amount


async def post(
    hub: hub_.Hub, account_id: str, kind: control.LedgerKind, amount: Decimal, *, reason: str, actor: str
) -> tuple[control.LedgerEntry, models.Account]:
    """Write one operator row (a top-up, a refund, or an adjustment of either sign) and move the balance with
    it, at once; returns the row and the account after.

    Raises errors.InvalidInput (kind, amount, reason), errors.UnknownAccount, and errors.Conflict when the account
    is deactivated or the balance would fall below zero (nothing is written then).
    """
    if kind not in OPERATOR_KINDS:
        raise errors.InvalidInput("kind", f"must be one of {', '.join(k.value for k in OPERATOR_KINDS)}")
    amount = _amount(kind, amount)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON or chars.text_fault(reason):
        raise errors.InvalidInput("reason", f"must be 1 to {MAX_REASON} characters of text")
    db: store.Ledger = hub.store
    entry, account = await db.post_ledger(
        account_id, amount, kind, reason=reason, actor=actor, now=hub.clock()
    )
    details = {
        "entry": entry.id,
        "kind": kind.value,
        "amount": str(amount),
        "reason": reason,
        "balance": str(account.balance),
    }
    await audit.record(hub, actor, action=f"ledger.{kind.value}", target=account_id, details=details)
    return entry, account


async def entries(
    hub: hub_.Hub, account_id: str, *, before: int | None = None, limit: int = 100
) -> list[control.LedgerEntry]:
    """The account's rows newest first, a page of at most `limit` (1 to MAX_PAGE) below row `before`.

    Raises errors.UnknownAccount, errors.InvalidInput."""
    if not 1 <= limit <= MAX_PAGE:
        raise errors.InvalidInput("limit", f"must be between 1 and {MAX_PAGE}")
    accounts: store.Accounts = hub.store
    await accounts.get_account(account_id)
    db: store.Ledger = hub.store
    return await db.list_ledger(account_id, before=before, limit=limit)


async def total(hub: hub_.Hub, account_id: str) -> Decimal:
    """The sum of the account's rows: what its balance is."""
    db: store.Ledger = hub.store
    return await db.ledger_total(account_id)
