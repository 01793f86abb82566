"""The overview on each backend: the service's snapshot of a store with traffic, and the page and its live part
for admin and read sessions (a customer session is refused)."""

from __future__ import annotations

import datetime as dt
import re

from dlrhub import settings, store
from dlrhub.core import models
from dlrhub.dialects.zalo import quota
from dlrhub.services import hub as hub_
from dlrhub.services import overview
from tests.conftest import make_account
from tests.integration.store.test_activity import accept, attempt, report, sent
from tests.integration.tokens.conftest import T0
from tests.integration.web.conftest import BOOT, Web
from tests.unit.esms import factories


def ago(minutes: float) -> dt.datetime:
    return T0 - dt.timedelta(minutes=minutes)


async def traffic(db: store.Store) -> models.Account:
    """In the hour before T0: 6 messages, 3 callbacks delivered (one more before the hour), one given up, one
    cancelled, one still pending and overdue by 10 minutes; two ZNS sends of OA 100 (one refused by Zalo); one
    paused endpoint."""
    account = make_account()
    await db.create_account(account, [])
    for mid in ("d1", "d2", "d3"):
        await sent(db, account, mid, ago(30))
    assert len(await attempt(db, ago(29), models.AttemptOutcome.OK, models.CallbackState.SUCCEEDED)) == 3
    await sent(db, account, "gave-up", ago(20))
    await attempt(db, ago(20), models.AttemptOutcome.CONNECT, models.CallbackState.FAILED)
    await sent(db, account, "stopped", ago(15))
    [stopped] = await db.list_callbacks("stopped")
    await db.cancel_callbacks([stopped.id], ago(15))
    await sent(db, account, "late", ago(10))  # due 10 minutes ago, never claimed
    await sent(db, account, "before", ago(120))
    await attempt(db, ago(119), models.AttemptOutcome.OK, models.CallbackState.SUCCEEDED)
    await db.put_oa(factories.oa(account_id=account.id, oa_id="100", daily_quota=10))
    for mid in ("z1", "z2"):
        await accept(db, account, mid, ago(5), oa_id="100", dialect=models.Dialect.ESMS, callback_url=None)
    await db.claim_channel_messages(ago(5), 10, 60, quota.quota_day(T0)[0], T0 + dt.timedelta(days=1))
    await report(db, "z1", models.EventKind.SUCCESS, 0, {"error": 0}, when=ago(4))
    await report(db, "z2", models.EventKind.FAILED, 17004, {"error": -118, "message": "x"}, when=ago(4))
    paused = models.Endpoint("https://slow.example:443", models.EndpointState.PAUSED, 5, ago(3), T0, ago(3))
    await db.put_endpoints([paused])
    return account


async def test_the_snapshot_reads_the_last_hour_from_the_store(db: store.Store):
    await traffic(db)
    hub = hub_.Hub(settings=settings.Settings(), store=db, clock=lambda: T0)
    found = await overview.snapshot(hub)
    since, _ = overview.window(T0)
    assert found.accepted.start == since and len(found.accepted.counts) == overview.WINDOW_MINUTES
    assert found.accepted.total == 8  # "before" is out of the hour
    assert found.accepted.counts[overview.WINDOW_MINUTES - 1 - 30] == 3
    assert (found.delivered.total, found.delivered.peak) == (3, 3)
    assert found.success == overview.SuccessRate(delivered=3, failed=1, cancelled=1)
    assert found.success.rate == 0.6
    assert found.backlog == 1 and found.backlog_by_dialect[models.Dialect.NATIVE] == 1
    assert found.oldest_due_at == ago(10) and found.oldest_due_age_s == 600
    assert found.endpoints[models.EndpointState.PAUSED] == 1
    assert {(r.state, r.code, r.zalo_error, r.count) for r in found.zalo} == {
        (models.MessageState.SUCCESS, 0, None, 1),
        (models.MessageState.FAILED, 17004, -118, 1),
    }
    [quota] = found.quotas
    assert (quota.oa_id, quota.daily_quota, quota.used, quota.left) == ("100", 10, 2, 8)
    assert found.quota_day == "2026-05-01" and found.oa_count == 1


async def test_an_empty_store_has_nothing_to_show(db: store.Store):
    hub = hub_.Hub(settings=settings.Settings(), store=db, clock=lambda: T0)
    found = await overview.snapshot(hub)
    assert found.accepted.total == found.delivered.total == found.backlog == 0
    assert found.success.rate is None and found.oldest_due_at is None and found.oldest_due_age_s == 0
    assert found.zalo == [] and found.quotas == []


def text_of(html: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}">([^<]*)<', html)
    assert found, f"no #{element_id}"
    return found.group(1).strip()


async def test_admin_and_read_sessions_see_the_overview_and_its_live_part(web: Web, db: store.Store):
    await traffic(db)
    reader = await web.api.token("ops", "read")
    for token in (BOOT, reader):
        browser = await web.login(token)
        page = await browser.get("/ui")
        assert page.status_code == 200
        html = page.text
        assert 'hx-get="/ui/overview/live"' in html and 'hx-trigger="every 5s"' in html
        assert (text_of(html, "accepted-total"), text_of(html, "delivered-total")) == ("8", "3")
        assert text_of(html, "success-rate") == "60.0 %"
        assert (text_of(html, "backlog"), text_of(html, "oldest-due-age")) == ("1", "10 min")
        assert "refused by Zalo: -118" in html
        assert re.search(r'<polyline points="0,46 [^"]+"', html)
        live = await browser.get("/ui/overview/live", headers={"hx-request": "true"})
        assert live.status_code == 200
        assert "<html" not in live.text and 'id="accepted-total"' in live.text
    web.api.clock.advance(31 * 60)  # the window moves on: the three sends of 30 minutes before T0 leave it
    browser = await web.login(BOOT)
    assert text_of((await browser.get("/ui/overview/live")).text, "accepted-total") == "5"


async def test_the_live_part_follows_new_traffic(web: Web, db: store.Store):
    account = await traffic(db)
    browser = await web.login(BOOT)
    before = text_of((await browser.get("/ui/overview/live")).text, "accepted-total")
    await sent(db, account, "new", T0)
    web.api.clock.advance(overview.MAX_AGE_S - 1)
    cached = text_of((await browser.get("/ui/overview/live")).text, "accepted-total")
    web.api.clock.advance(1)
    after = text_of((await browser.get("/ui/overview/live")).text, "accepted-total")
    assert (before, cached, after) == (
        "8",
        "8",
        "9",
    )  # a snapshot is shown again for MAX_AGE_S, then read anew


async def test_a_customer_session_cannot_see_the_overview(web: Web, db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    browser = await web.login(await web.api.token("portal", "customer", account.id))
    for path in ("/ui", "/ui/overview/live"):
        refused = await browser.get(path)
        assert refused.status_code == 403, path
        assert 'id="accepted-total"' not in refused.text
    gone = await web.api.http.get("/ui/overview/live", headers={"hx-request": "true"})
    assert gone.status_code == 204 and gone.headers["hx-redirect"].startswith("/ui/login")
