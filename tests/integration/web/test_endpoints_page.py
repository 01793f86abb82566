"""`/ui/endpoints`: the health table of accounts' endpoints (account and URL) with recent failures, filtered by
state and account, and pause, resume and reset with a reason (audited) of one account's endpoint only."""

from __future__ import annotations

import datetime as dt

from dlrhub import store
from dlrhub.core import breaker, ids, models, urls
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest
from tests.integration.tokens.conftest import T0
from tests.integration.web.conftest import BOOT, Web

ACCOUNT = ids.account_id()
OTHER = ids.account_id()
KEY = urls.health_key(ACCOUNT, "http://hooks.example/x")
#: The other account's endpoint at the same URL.
THEIRS = urls.health_key(OTHER, "http://hooks.example/x")


async def seed(db: store.Store) -> None:
    """An account's endpoint that failed once (a 503 whose body is markup), and another account's endpoint at the
    same URL, healthy and never stored, with a callback pending."""
    account, other = make_account(id=ACCOUNT), make_account(id=OTHER)
    await db.create_account(account, [])
    await db.create_account(other, [])
    await ingest(db, account, "m1", models.EventKind.SUCCESS, "http://hooks.example/x?token=s3cret")
    await ingest(db, other, "theirs", models.EventKind.SUCCESS, "http://hooks.example/x")
    [cb] = await db.list_callbacks("m1")
    attempt = models.Attempt(
        cb.id, 1, cb.created_at, 12.0, models.AttemptOutcome.HTTP_STATUS, 503, response="<b>upstream down</b>"
    )
    await db.record_attempts([store.AttemptResult(attempt, models.CallbackState.PENDING, T0)], T0)
    failed = breaker.record(breaker.fresh(KEY, T0), attempt.outcome, 503, T0, breaker.BreakerConfig())
    await db.put_endpoints([failed])


async def test_the_table_shows_health_and_recent_failures_escaped(web: Web, db):
    await seed(db)
    browser = await web.login(BOOT)
    page = await browser.get("/ui/endpoints")
    assert page.status_code == 200
    assert f'data-endpoint="{KEY}"' in page.text and "state-healthy" in page.text
    assert f">{ACCOUNT}</a>" in page.text and "http://hooks.example:80/x" in page.text
    assert "s3cret" not in page.text  # the query is no part of an endpoint
    assert "&lt;b&gt;upstream down&lt;/b&gt;" in page.text and "<b>upstream down" not in page.text
    assert "503" in page.text and "http_status" in page.text
    assert "2026-05-01 10:00:00.000Z" in page.text  # the failing-since time, to the millisecond
    assert 'action="/ui/endpoints/pause"' in page.text
    paused_only = await browser.get("/ui/endpoints", params={"state": "paused"})
    assert KEY not in paused_only.text
    theirs_only = await browser.get("/ui/endpoints", params={"account": OTHER})
    assert theirs_only.status_code == 200 and KEY not in theirs_only.text
    mine = await browser.get("/ui/endpoints", params={"account": ACCOUNT, "state": "healthy"})
    assert KEY in mine.text
    assert (await browser.get("/ui/endpoints", params={"state": "bogus"})).status_code == 422


async def test_pause_resume_and_reset_from_the_page_are_audited(web: Web, db):
    await seed(db)
    browser = await web.login(BOOT)
    [before] = await db.list_callbacks("theirs")
    form = {"endpoint": KEY, "reason": "customer asked: deploy window", "minutes": "90"}
    answer = await browser.post("/ui/endpoints/pause", form)
    assert answer.status_code == 303
    shown = await browser.get(answer.headers["location"])
    assert f"{KEY} paused." in shown.text
    assert "state-paused" in shown.text and "2026-05-01 11:30:00.000Z" in shown.text
    stored = (await db.get_endpoints([KEY]))[KEY]
    assert (stored.state, stored.paused_until) == (
        models.EndpointState.PAUSED,
        T0 + dt.timedelta(minutes=90),
    )
    [cb] = await db.list_callbacks("m1")
    assert cb.due_at == T0 + dt.timedelta(minutes=90)
    # The other account's endpoint on the same host and path is neither paused nor held.
    assert await db.list_callbacks("theirs") == [before]
    assert await db.get_endpoints([THEIRS]) == {}

    until = {"endpoint": KEY, "reason": "longer", "until": "2026-05-02T08:00", "minutes": ""}
    assert (await browser.post("/ui/endpoints/pause", until)).status_code == 303
    assert (await db.get_endpoints([KEY]))[KEY].paused_until == dt.datetime(2026, 5, 2, 8, tzinfo=dt.UTC)

    assert (
        await browser.post("/ui/endpoints/resume", {"endpoint": KEY, "reason": "done"})
    ).status_code == 303
    assert (
        await browser.post("/ui/endpoints/reset", {"endpoint": KEY, "reason": "all good"})
    ).status_code == 303
    assert (await db.get_endpoints([KEY]))[KEY].state is models.EndpointState.HEALTHY
    entries = await db.list_audit(store.AuditFilter(target=KEY))  # one clock tick: their order is the id's
    assert sorted(e.action for e in entries) == [
        "endpoint.pause",
        "endpoint.pause",
        "endpoint.reset",
        "endpoint.resume",
    ]
    reasons = {e.details["reason"] for e in entries}
    assert reasons == {"customer asked: deploy window", "longer", "done", "all good"}
    assert {e.actor for e in entries} == {entries[0].actor} and entries[0].actor


async def test_an_action_needs_a_reason_and_a_sensible_time(web: Web, db):
    await seed(db)
    browser = await web.login(BOOT)
    for form in (
        {"endpoint": KEY, "reason": "", "minutes": "5"},
        {"endpoint": KEY, "reason": "why", "minutes": "0"},
        {"endpoint": KEY, "reason": "why", "minutes": "soon"},
        {"endpoint": KEY, "reason": "why", "until": "2020-01-01T00:00"},
        {"endpoint": KEY, "reason": "x" * 501, "minutes": "5"},
    ):
        answer = await browser.post("/ui/endpoints/pause", form)
        assert answer.status_code == 422, form
        assert "<html" in answer.text.lower()
    assert (await browser.post("/ui/endpoints/reset", {"endpoint": KEY, "reason": " "})).status_code == 422
    assert (await browser.post("/ui/endpoints/resume", {"endpoint": KEY, "reason": "why"})).status_code == 409
    assert await db.list_audit(store.AuditFilter()) == []


async def test_a_read_session_sees_the_table_without_buttons_and_may_not_act(web: Web, db):
    await seed(db)
    reader = await web.login(await web.api.token("watcher", "read"))
    page = await reader.get("/ui/endpoints")
    assert page.status_code == 200 and KEY in page.text
    assert "/ui/endpoints/pause" not in page.text and '<button type="submit" class="danger">' not in page.text
    for action in ("pause", "resume", "reset"):
        answer = await reader.post(
            f"/ui/endpoints/{action}", {"endpoint": KEY, "reason": "r", "minutes": "5"}
        )
        assert answer.status_code == 403, action
    assert (await db.get_endpoints([KEY]))[KEY].state is models.EndpointState.HEALTHY
    assert await db.list_audit(store.AuditFilter(target=KEY)) == []
    no_csrf = await (await web.login(BOOT)).http.post(
        "/ui/endpoints/pause", data={"endpoint": KEY, "reason": "r"}
    )
    assert no_csrf.status_code == 403
