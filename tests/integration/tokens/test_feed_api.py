"""The reconciliation API on each backend: the event feed and the undelivered callbacks, paged by cursor, each
for one account only."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt

import pytest

from dlrhub import store
from dlrhub.core import models
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import eventually, ingest
from tests.integration.tokens.conftest import BOOT, bearer

K = models.EventKind


@dataclasses.dataclass
class Shop:
    account: models.Account
    token: str


async def give_up(db: store.Store, message_id: str, error: str = "connection refused") -> models.Callback:
    """Fail the message's pending callback as the dispatcher would once its policy gives up (one attempt)."""
    [cb] = [c for c in await db.list_callbacks(message_id) if c.state is models.CallbackState.PENDING]
    now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    claimed = await db.claim_due_callbacks("test", now, 1000, 30)
    assert cb.id in {c.id for c in claimed}
    attempt = models.Attempt(cb.id, 1, now, 5.0, models.AttemptOutcome.CONNECT, error=error)
    others = [c for c in claimed if c.id != cb.id]
    await db.release_callbacks("test", [(c.id, c.due_at) for c in others], now)
    await db.record_attempts([store.AttemptResult(attempt, models.CallbackState.FAILED)], now)
    return await db.get_callback(cb.id)


@pytest.fixture
async def shops(api, db) -> tuple[Shop, Shop]:
    made = []
    for name in ("a", "b"):
        account = make_account(name=name)
        await db.create_account(account, [])
        token = await api.token(f"shop-{name}", "customer", account.id)
        made.append(Shop(account, token))
    return made[0], made[1]


async def feed(api, token: str, **params):
    answer = await api.http.get("/v1/feed/events", params=params, headers=bearer(token))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def read_all(api, token: str, want: int, cursor: str | None = None, limit: int = 2, **params):
    """`want` events from `cursor` on, page by page, and the cursor to poll from next.

    On PostgreSQL an event enters the feed once every older transaction of the cluster has ended (ADR 0006),
    so a page may come short while another test's transaction runs: poll, as a consumer does."""
    seen: list[dict[str, object]] = []

    async def more() -> bool:
        nonlocal cursor
        page = await feed(api, token, limit=limit, **({"cursor": cursor} if cursor else {}), **params)
        seen.extend(page["events"])
        assert page["next_cursor"]
        cursor = page["next_cursor"]
        return len(seen) >= want

    await eventually(more, within_s=60)
    return seen, cursor


async def test_the_feed_pages_an_accounts_events_in_order_with_their_seq(api, db, shops) -> None:
    a, b = shops
    url = "https://a.example/hook"
    await ingest(db, a.account, "m-a1", K.ACCEPTED, url)
    await ingest(db, a.account, "m-a2", K.ACCEPTED, url)
    await ingest(db, b.account, "m-b1", K.ACCEPTED, "https://b.example/hook")
    await ingest(db, a.account, "m-a1", K.SUCCESS, url)
    await ingest(db, a.account, "m-a1", K.SUCCESS, url)  # a duplicate: not an event again
    await ingest(db, a.account, "m-a1", K.ACCEPTED, url)  # does not move the state: not in the feed
    seen, cursor = await read_all(api, a.token, 3)
    assert [(e["message_id"], e["status"], e["seq"]) for e in seen] == [
        ("m-a1", "accepted", 1),
        ("m-a2", "accepted", 1),
        ("m-a1", "success", 2),
    ]
    # Each pushed callback's seq is its event's in the feed (the native dialect pushes no `accepted`).
    pushed = {(c.message_id, c.seq) for m in ("m-a1", "m-a2") for c in await db.list_callbacks(m)}
    assert pushed == {("m-a1", 2)}
    assert pushed <= {(e["message_id"], e["seq"]) for e in seen}
    # Caught up: the cursor stays, and what comes later is read from it, once.
    again = await feed(api, a.token, cursor=cursor)
    assert again["events"] == [] and again["next_cursor"] == cursor
    await ingest(db, a.account, "m-a2", K.FAILED, url)
    later, _ = await read_all(api, a.token, 1, cursor)
    assert [(e["message_id"], e["status"], e["seq"]) for e in later] == [("m-a2", "failed", 2)]
    theirs, _ = await read_all(api, b.token, 1)
    assert [e["message_id"] for e in theirs] == ["m-b1"]


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "not a cursor"},
        {"cursor": _cursor("f1.1")},
        {"cursor": _cursor("f1.-1.5")},
        {"cursor": _cursor("f1.1.99999999999999999999")},
        {"cursor": _cursor("u1.1.cb_x")},
        {"cursor": "A" * 201},
        {"limit": 0},
        {"limit": 1001},
        {"limit": "many"},
    ],
)
async def test_a_tampered_cursor_or_a_bad_limit_answers_422(api, shops, params) -> None:
    a, _ = shops
    for path in ("/v1/feed/events", "/v1/callbacks/undelivered"):
        answer = await api.http.get(path, params=params, headers=bearer(a.token))
        if path.endswith("undelivered") and params.get("cursor") == _cursor("u1.1.cb_x"):
            assert answer.status_code == 200  # a well-formed cursor of that list
            continue
        assert answer.status_code == 422, (path, params, answer.text)


async def test_one_account_only_customers_their_own_operators_the_one_named(api, db, shops) -> None:
    a, b = shops
    await ingest(db, b.account, "m-b1", K.ACCEPTED, "https://b.example/hook")
    ops = await api.token("ops", "read")
    for path in ("/v1/feed/events", "/v1/callbacks/undelivered"):
        # A customer token naming another account is refused (403), not narrowed in silence.
        refused = await api.http.get(path, params={"account_id": b.account.id}, headers=bearer(a.token))
        assert refused.status_code == 403, refused.text
        assert b.account.id not in refused.text or "m-b1" not in refused.text
        own = await api.http.get(path, params={"account_id": a.account.id}, headers=bearer(a.token))
        assert own.status_code == 200 and own.json()["account_id"] == a.account.id
        assert "m-b1" not in own.text
        for token in (BOOT, ops):
            unnamed = await api.http.get(path, headers=bearer(token))
            assert unnamed.status_code == 422
            unknown = await api.http.get(path, params={"account_id": "acc_none"}, headers=bearer(token))
            assert unknown.status_code == 404
            named = await api.http.get(path, params={"account_id": b.account.id}, headers=bearer(token))
            assert named.status_code == 200 and named.json()["account_id"] == b.account.id
        assert (await api.http.get(path)).status_code == 401
    theirs, _ = await read_all(api, BOOT, 1, account_id=b.account.id)
    assert [e["message_id"] for e in theirs] == ["m-b1"]


async def test_undelivered_lists_failed_and_old_pending_callbacks_paged(api, db, shops) -> None:
    a, b = shops
    for i in range(3):
        await ingest(db, a.account, f"m-f{i}", K.SUCCESS, "https://a.example/hook")
        await give_up(db, f"m-f{i}", error=f"refused {i}")
    await ingest(db, a.account, "m-p", K.SUCCESS, "https://a.example/hook")  # pending, young
    await ingest(db, b.account, "m-b", K.SUCCESS, "https://b.example/hook")
    await give_up(db, "m-b")
    api.clock.now = dt.datetime.now(dt.UTC)
    listed, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        answer = await api.http.get("/v1/callbacks/undelivered", params=params, headers=bearer(a.token))
        assert answer.status_code == 200, answer.text
        listed += answer.json()["callbacks"]
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break
    assert [(c["message_id"], c["state"], c["last_error"]) for c in listed] == [
        (f"m-f{i}", "failed", f"refused {i}") for i in range(3)
    ]
    first = listed[0]
    assert first["seq"] == 1 and first["url"] == "https://a.example/hook" and first["attempts"] == 1
    # Pending for longer than older_than_s counts too (the clock moves on an hour).
    api.clock.now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    answer = await api.http.get(
        "/v1/callbacks/undelivered", params={"older_than_s": 600}, headers=bearer(a.token)
    )
    found = [(c["message_id"], c["state"]) for c in answer.json()["callbacks"]]
    assert found == [*((f"m-f{i}", "failed") for i in range(3)), ("m-p", "pending")]
    bad = await api.http.get(
        "/v1/callbacks/undelivered", params={"older_than_s": -1}, headers=bearer(a.token)
    )
    assert bad.status_code == 422
