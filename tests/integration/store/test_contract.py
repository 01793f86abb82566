"""The store contract: every test runs against SQLite and PostgreSQL alike."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.planning import events as planning
from tests.conftest import make_account, make_journey

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def new_message(account: models.Account, mid: str = "m1", **changes: Any) -> models.Message:
    message = models.Message(
        id=mid,
        account_id=account.id,
        dialect=models.Dialect.NATIVE,
        type_id=25,
        recipient="84900000001",
        state=models.MessageState.ACCEPTED,
        seq=0,
        created_at=NOW,
        updated_at=NOW,
        callback_url="https://example.com/cb",
        price=Decimal("300"),
        template_data={"name": "Nguyễn"},
    )
    return dataclasses.replace(message, **changes)


def event(mid: str, kind: models.EventKind, eid: str | None = None) -> models.StatusEvent:
    return models.StatusEvent(id=eid or f"{mid}:{kind.value}", kind=kind, occurred_at=NOW, message_id=mid)


def inputs(account: models.Account, app: models.App | None = None) -> planning.RenderInputs:
    """The store renders with the registry: a native message with a URL gets one POST per applied event."""
    return planning.RenderInputs(account, app)


async def accept(db: store.Store, account: models.Account, mid: str = "m1", **kw: Any) -> store.IngestResult:
    return await db.accept_message(
        new_message(account, mid), event(mid, models.EventKind.ACCEPTED), inputs(account), now=NOW, **kw
    )


async def test_migrate_is_idempotent(db: store.Store) -> None:
    assert await db.migrate() == []
    await db.ping()


async def test_accounts_round_trip(db: store.Store) -> None:
    account = make_account(signing_secrets=("whsec_abc",))
    app = models.App(
        appkey="k1",
        account_id=account.id,
        name="a",
        active=True,
        dr_url=None,
        quotation=Decimal("4.1234"),
        currency="USD",
        routed=True,
        oa_id=None,
    )
    await db.create_account(account, [app])
    assert await db.get_account(account.id) == account
    assert await db.find_account_by_esms_key(account.esms_api_key) == account
    assert await db.find_account_by_nx_key(account.nx_access_key) == account
    assert await db.find_account_by_esms_key("nope") is None
    assert await db.get_app("k1") == app
    assert await db.list_apps(account.id) == [app]
    assert [a.id for a in await db.list_accounts()] == [account.id]
    with pytest.raises(errors.UnknownAccount):
        await db.get_account("missing")
    with pytest.raises(errors.Conflict):
        await db.create_account(dataclasses.replace(account, id="other"), [])
    assert await db.list_accounts() == [account]


async def test_oa_upsert(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    oa = models.OA(
        oa_id="oa1",
        account_id=account.id,
        app_id="app",
        app_secret="s",
        oa_secret="o",
        access_token="t1",
        refresh_token="r1",
        token_expires_at=NOW,
        template_ids=("1", "2"),
        daily_quota=10,
        active=True,
        mode3_allowed=False,
    )
    await db.put_oa(oa)
    await db.put_oa(dataclasses.replace(oa, access_token="t2"))
    assert await db.get_oa("oa1") == dataclasses.replace(oa, access_token="t2")
    assert await db.list_oas(account.id) == [dataclasses.replace(oa, access_token="t2")]


async def test_accept_writes_message_event_and_debit_together(db: store.Store) -> None:
    account = make_account(balance=Decimal("500"))
    await db.create_account(account, [])
    result = await accept(db, account, charge=Decimal("300"))
    assert result.message is not None and result.message.seq == 1
    stored = await db.get_message("m1")
    assert stored.state is models.MessageState.ACCEPTED
    assert stored.template_data == {"name": "Nguyễn"}
    assert [e.kind for e in await db.list_events("m1")] == [models.EventKind.ACCEPTED]
    assert (await db.get_account(account.id)).balance == Decimal("200")
    with pytest.raises(errors.InsufficientBalance):
        await accept(db, account, "m2", charge=Decimal("300"))
    with pytest.raises(errors.UnknownMessage):
        await db.get_message("m2")
    assert (await db.get_account(account.id)).balance == Decimal("200")


async def test_request_id_dedup_window(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    since = NOW - dt.timedelta(hours=24)
    first = new_message(account, "m1", request_id="r-1")
    await db.accept_message(
        first, event("m1", models.EventKind.ACCEPTED), inputs(account), now=NOW, dedup_since=since
    )
    with pytest.raises(errors.DuplicateRequest) as caught:
        await db.accept_message(
            new_message(account, "m2", request_id="r-1"),
            event("m2", models.EventKind.ACCEPTED),
            inputs(account),
            now=NOW,
            dedup_since=since,
        )
    assert caught.value.existing_message_id == "m1"
    with pytest.raises(errors.UnknownMessage):
        await db.get_message("m2")
    # Outside the window (here: a window that starts in the future) the id may be used again.
    later = NOW + dt.timedelta(days=2)
    await db.accept_message(
        new_message(account, "m3", request_id="r-1"),
        event("m3", models.EventKind.ACCEPTED),
        inputs(account),
        now=NOW,
        dedup_since=later,
    )
    assert (await db.get_message("m3")).request_id == "r-1"


async def test_writes_are_stamped_with_the_callers_now(db: store.Store) -> None:
    """The store reads no clock of its own: a day-old `now` is what its writes record."""
    then = NOW - dt.timedelta(days=1)
    account = make_account()
    await db.create_account(account, [])
    accepted = [
        (new_message(account, mid, request_id="r-1"), event(mid, models.EventKind.ACCEPTED))
        for mid in ("m1", "m2")
    ]
    await db.accept_message(
        *accepted[0], inputs(account), now=then, dedup_since=then - dt.timedelta(hours=24)
    )
    # m1's RequestId is stamped `then`, so a window that opens a second later lets m2 use it again.
    await db.accept_message(
        *accepted[1], inputs(account), now=then, dedup_since=then + dt.timedelta(seconds=1)
    )
    await db.apply_event(event("m2", models.EventKind.SUCCESS), inputs(account), now=then)
    (callback,) = await db.list_callbacks("m2")
    assert (callback.created_at, callback.due_at) == (then, then)
    assert (await db.get_message("m2")).updated_at == then


async def test_apply_event_is_idempotent_and_monotonic(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    await accept(db, account)
    ok = await db.apply_event(event("m1", models.EventKind.SUCCESS), inputs(account), now=NOW)
    assert ok.event.applied and not ok.duplicate and len(ok.callbacks) == 1
    again = await db.apply_event(event("m1", models.EventKind.SUCCESS), inputs(account), now=NOW)
    assert again.duplicate and again.callbacks == []
    delivered = await db.apply_event(event("m1", models.EventKind.DELIVERED), inputs(account), now=NOW)
    assert delivered.message is not None and delivered.message.state is models.MessageState.DELIVERED
    late = await db.apply_event(event("m1", models.EventKind.FAILED), inputs(account), now=NOW)
    assert not late.event.applied and late.callbacks == []
    stored = await db.get_message("m1")
    assert (stored.state, stored.seq) == (models.MessageState.DELIVERED, 3)
    history = await db.list_events("m1")
    assert [(e.kind.value, e.applied) for e in history] == [
        ("accepted", True),
        ("success", True),
        ("delivered", True),
        ("failed", False),
    ]
    assert [c.seq for c in await db.list_callbacks("m1")] == [2, 3]


async def test_apply_event_creates_an_external_message(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    with pytest.raises(errors.UnknownMessage):
        await db.apply_event(event("x1", models.EventKind.SUCCESS), inputs(account), now=NOW)
    result = await db.apply_event(
        event("x1", models.EventKind.SUCCESS),
        inputs(account),
        now=NOW,
        new_message=new_message(account, "x1"),
    )
    assert result.message is not None and result.message.state is models.MessageState.SUCCESS
    assert (await db.get_message("x1")).state is models.MessageState.SUCCESS


async def test_zalo_msg_id_comes_from_the_send_result(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    await accept(db, account)
    ev = dataclasses.replace(
        event("m1", models.EventKind.SUCCESS),
        zalo_res={"error": 0, "message": "Success", "data": {"msg_id": "abc"}},
    )
    await db.apply_event(ev, inputs(account), now=NOW)
    assert (await db.get_message("m1")).zalo_msg_id == "abc"


async def test_claims_keep_per_message_order_and_leases(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    for mid in ("m1", "m2"):
        await accept(db, account, mid)
    await db.apply_event(event("m1", models.EventKind.SUCCESS), inputs(account), now=NOW)
    await db.apply_event(event("m1", models.EventKind.DELIVERED), inputs(account), now=NOW)
    await db.apply_event(event("m2", models.EventKind.FAILED), inputs(account), now=NOW)
    later = NOW + dt.timedelta(seconds=5)
    claimed = await db.claim_due_callbacks("w1", later, 100, 30)
    assert sorted((c.message_id, c.seq) for c in claimed) == [("m1", 2), ("m2", 2)]
    assert await db.claim_due_callbacks("w2", later, 100, 30) == []  # leased, and m1's seq 3 waits
    first = next(c for c in claimed if c.message_id == "m1")
    attempt = models.Attempt(
        callback_id=first.id,
        number=1,
        started_at=later,
        duration_ms=1.5,
        outcome=models.AttemptOutcome.OK,
        status_code=200,
        response="ok",
    )
    await db.record_attempts([store.AttemptResult(attempt, models.CallbackState.SUCCEEDED)], later)
    nxt = await db.claim_due_callbacks("w2", later, 100, 30)
    assert [(c.message_id, c.seq) for c in nxt] == [("m1", 3)]
    assert await db.list_attempts(first.id) == [attempt]
    assert (await db.get_callback(first.id)).state is models.CallbackState.SUCCEEDED
    # An expired lease makes the other callback due again.
    expired = await db.claim_due_callbacks("w3", later + dt.timedelta(seconds=31), 100, 30)
    assert {c.message_id for c in expired} == {"m1", "m2"}
    counts = await db.count_callbacks()
    assert counts[models.CallbackState.PENDING] == 2 and counts[models.CallbackState.SUCCEEDED] == 1


async def test_retry_reschedules(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    await accept(db, account)
    await db.apply_event(event("m1", models.EventKind.SUCCESS), inputs(account), now=NOW)
    (cb,) = await db.claim_due_callbacks("w", NOW + dt.timedelta(seconds=1), 10, 30)
    attempt = models.Attempt(
        callback_id=cb.id, number=1, started_at=NOW, duration_ms=10000, outcome=models.AttemptOutcome.TIMEOUT
    )
    retry_at = NOW + dt.timedelta(minutes=1)
    await db.record_attempts([store.AttemptResult(attempt, models.CallbackState.PENDING, retry_at)], NOW)
    assert await db.claim_due_callbacks("w", NOW + dt.timedelta(seconds=59), 10, 30) == []
    (again,) = await db.claim_due_callbacks("w", retry_at, 10, 30)
    assert (again.id, again.attempts, again.last_outcome) == (cb.id, 1, models.AttemptOutcome.TIMEOUT)


async def test_get_messages_keeps_order_and_account(db: store.Store) -> None:
    mine, theirs = make_account(), make_account()
    await db.create_account(mine, [])
    await db.create_account(theirs, [])
    for mid in ("a", "b", "c"):
        await accept(db, mine, mid)
    await accept(db, theirs, "z")
    found = await db.get_messages(mine.id, ["c", "z", "missing", "a", "c"])
    assert [m.id for m in found] == ["c", "a"]


async def test_journey_events(db: store.Store) -> None:
    account = make_account()
    await db.create_account(account, [])
    journey = make_journey(account.id, "j1", NOW, token="tok")
    await db.put_journey(journey)
    assert await db.get_journey_by_token("tok") == journey
    timeout = models.StatusEvent(
        id="journey:j1:journey_time_out",
        kind=models.EventKind.JOURNEY_TIME_OUT,
        occurred_at=NOW,
        journey_id="j1",
    )

    app = models.App(
        appkey="k1",
        account_id=account.id,
        name="a",
        active=True,
        dr_url="https://example.com/dr",
        quotation=Decimal("0.01"),
        currency="USD",
        routed=True,
        oa_id="oa",
    )
    result = await db.apply_event(timeout, inputs(account, app), now=NOW)
    assert result.event.applied and len(result.callbacks) == 1
    assert result.journey is not None and result.journey.state is models.JourneyState.TIMED_OUT
    assert result.callbacks[0].order_key == "journey:j1"
    assert result.callbacks[0].request.url == "https://example.com/dr"
    stored = await db.get_journey("j1")
    assert stored is not None and stored.state is models.JourneyState.TIMED_OUT
    assert (await db.apply_event(timeout, inputs(account, app), now=NOW)).duplicate
