"""Deciding a group commit's accepts, for both backends: which are refused, what each debits and writes.

Pure: the backend reads (and locks) the batch's request ids and balances first, `decide` settles every accept
in order from them, and the backend writes what it returns. No accept then needs a savepoint.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TypeVar

from dlrhub.core import errors, models
from dlrhub.planning import events as planning

#: `(account id, request id)`: the key a RequestId is unique by.
RequestKey = tuple[str, str]
ResultT = TypeVar("ResultT")


@dataclasses.dataclass(frozen=True, slots=True)
class Signature:
    """A signed request's signature, to take with its send (`Store.take_signature`): kept until `expires_at`."""

    sign: str
    expires_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Accept:
    """One `accept_message` call, for `accept_messages`. With a `signature`, the send is written only if that
    signature is taken in the same go (else it is refused with errors.Replayed)."""

    message: models.Message
    event: models.StatusEvent
    inputs: planning.RenderInputs
    charge: Decimal = Decimal(0)
    dedup_since: dt.datetime | None = None
    channel_due_at: dt.datetime | None = None
    signature: Signature | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Seen:
    """A stored RequestId: the message it made and when."""

    message_id: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Accepted:
    """One accept to write: its plan, and when the channel worker may send it (None: never)."""

    plan: planning.Plan
    channel_due_at: dt.datetime | None


@dataclasses.dataclass(frozen=True, slots=True)
class Decided:
    """What a batch writes, and each accept's result in the batch's order."""

    results: list[planning.IngestResult | errors.DlrhubError]
    accepted: list[Accepted]
    #: `(account id, request id, message id)` to record, at the batch's time.
    request_ids: list[tuple[str, str, str]]
    #: The new balance of each account debited (empty when the balances were not read: see `checked`).
    balances: dict[str, Decimal]
    #: What each account debited was charged in all, and for how many messages: its one ledger row of the batch.
    charges: dict[str, tuple[Decimal, int]] = dataclasses.field(default_factory=dict)
    #: False when `decide` had no balances: every charge was taken as covered, and the store must write the batch
    #: only if each account's balance covers its total in `charges` (else nothing, and decide again with them).
    checked: bool = True


def request_keys(batch: list[Accept]) -> list[RequestKey]:
    """The request ids to look up (and lock) for `batch`, sorted: one locking order for every batch."""
    return sorted({(i.message.account_id, i.message.request_id or "") for i in batch if _deduped(i)})


def charged_accounts(batch: list[Accept]) -> list[str]:
    """The accounts whose balance `batch` may debit, sorted."""
    return sorted({i.message.account_id for i in batch if i.charge > 0})


def decide(
    batch: list[Accept],
    now: dt.datetime,
    seen: Mapping[RequestKey, Seen],
    balances: Mapping[str, Decimal | None] | None,
) -> Decided:
    """Settle each accept in order: a RequestId seen since its `dedup_since` (in the store or earlier in the
    batch) refuses it with errors.DuplicateRequest, a balance short of its charge with
    errors.InsufficientBalance (a missing account has no balance); otherwise it is planned and debited.
    Each account debited gets one charge (its total and message count) for the ledger.

    `balances` None (not read): no charge is refused here, and the result is not `checked`."""
    known = dict(seen)
    left = dict(balances or {})
    charges: dict[str, tuple[Decimal, int]] = {}
    results: list[planning.IngestResult | errors.DlrhubError] = []
    accepted: list[Accepted] = []
    request_ids: list[tuple[str, str, str]] = []
    for item in batch:
        message = item.message
        key = (message.account_id, message.request_id or "")
        if _deduped(item):
            earlier = known.get(key)
            if (
                earlier is not None
                and item.dedup_since is not None
                and earlier.created_at >= item.dedup_since
            ):
                results.append(errors.DuplicateRequest(earlier.message_id))
                continue
        if item.charge > 0:
            if balances is not None:
                balance = left.get(message.account_id)
                if balance is None or balance < item.charge:
                    results.append(errors.InsufficientBalance())
                    continue
                left[message.account_id] = balance - item.charge
            total, count = charges.get(message.account_id, (Decimal(0), 0))
            charges[message.account_id] = (total + item.charge, count + 1)
        if _deduped(item):
            known[key] = Seen(message.id, now)
            request_ids.append((*key, message.id))
        plan = planning.plan_event(item.event, message, None, item.inputs, now)
        accepted.append(Accepted(plan, item.channel_due_at))
        results.append(planning.IngestResult(plan.event, plan.message, None, plan.callbacks))
    new_balances = {a: b for a, b in left.items() if a in charges and b is not None}
    return Decided(results, accepted, request_ids, new_balances, charges, checked=balances is not None)


def signatures(batch: list[Accept]) -> list[Signature]:
    """The signatures `batch` takes, in its order."""
    return [item.signature for item in batch if item.signature is not None]


def without_replays(
    batch: list[Accept], taken: list[bool]
) -> tuple[list[Accept], Callable[[list[ResultT]], list[ResultT | errors.DlrhubError]]]:
    """The accepts of `batch` to decide, given whether each of `signatures(batch)` was taken, and how to put
    their results back in the batch's order (a replay's result: errors.Replayed)."""
    answers = iter(taken)
    keep = [item.signature is None or next(answers) for item in batch]
    rest = [item for item, ok in zip(batch, keep, strict=True) if ok]

    def merge(results: list[ResultT]) -> list[ResultT | errors.DlrhubError]:
        decided = iter(results)
        return [next(decided) if ok else errors.Replayed() for ok in keep]

    return rest, merge


def _deduped(item: Accept) -> bool:
    return item.message.request_id is not None and item.dedup_since is not None
