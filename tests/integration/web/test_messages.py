"""The message search, through the service and the `/ui/messages` page, on both backends."""

from __future__ import annotations

import datetime as dt
import re

from dlrhub import settings, store
from dlrhub.core import control, models, scopes
from dlrhub.services import hub as hub_
from dlrhub.services import search
from tests.conftest import make_account
from tests.integration.store.test_message_search import T0, put
from tests.integration.web.conftest import BOOT, Web

ADMIN = scopes.Principal("ops", control.TokenKind.ADMIN)


async def test_the_service_pages_through_with_its_cursor_and_holds_a_customer_to_its_account(db: store.Store):
    mine, other = make_account(), make_account()
    for account in (mine, other):
        await db.create_account(account, [])
    for n in range(5):  # two share each time, so a page boundary falls between equal times
        await put(db, mine, f"m{n}", T0 + dt.timedelta(seconds=n // 2))
    await put(db, other, "o1", T0 + dt.timedelta(seconds=9))
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    customer = scopes.Principal("shop", control.TokenKind.CUSTOMER, mine.id)
    seen, cursor = [], ""
    for _ in range(5):
        page = await search.search(hub, search.Search(account_id=other.id, cursor=cursor, limit=2), customer)
        seen += [m.id for m in page.messages]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["m4", "m3", "m2", "m1", "m0"]
    everyone = await search.search(hub, search.Search(limit=10), ADMIN)
    assert [m.id for m in everyone.messages] == ["o1", *seen] and everyone.next_cursor is None
    assert (await search.search(hub, search.Search(public_id="o1"), customer)).messages == []
    exact = await search.search(hub, search.Search(limit=2, account_id=mine.id), ADMIN)
    last = await search.search(
        hub, search.Search(limit=3, account_id=mine.id, cursor=exact.next_cursor or ""), ADMIN
    )
    assert [m.id for m in last.messages] == ["m2", "m1", "m0"]
    assert last.next_cursor is None  # no link to an empty page when the rows end with the page


async def test_the_page_searches_shows_the_row_and_links_the_next_page(web: Web, db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    await put(db, account, "sms<1>", T0, dialect=models.Dialect.ESMS, request_id="<b>order</b>", code=0)
    for n in range(3):
        await put(db, account, f"n{n}", T0 + dt.timedelta(minutes=n + 1))
    browser = await web.login(BOOT)
    page = await browser.get("/ui/messages", params={"id": "<b>order</b>"})
    assert page.status_code == 200
    assert "<b>order</b>" not in page.text and "&lt;b&gt;order&lt;/b&gt;" in page.text  # escaped
    assert 'href="/ui/messages/sms%3C1%3E"' in page.text
    assert "2026-12-01 08:00:00.000Z" in page.text and account.id in page.text
    listed = await browser.get("/ui/messages", params={"account": account.id, "dialect": "native"})
    assert re.findall(r'href="/ui/messages/(n\d)"', listed.text) == ["n2", "n1", "n0"]
    assert 'rel="next"' not in listed.text
    hx = await browser.get("/ui/messages", params={"phone": "84900000001"}, headers={"hx-request": "true"})
    assert hx.text.lstrip().startswith('<section id="results">') and "<html" not in hx.text


async def test_the_page_s_next_link_follows_the_cursor(web: Web, db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    for n in range(3):
        await put(db, account, f"n{n}", T0 + dt.timedelta(minutes=n))
    browser = await web.login(BOOT)
    first = await browser.get("/ui/messages", params={"account": account.id, "limit": "2"})
    assert re.findall(r'href="/ui/messages/(n\d)"', first.text) == ["n2", "n1"]
    found = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert found, first.text
    second = await browser.get(found.group(1).replace("&amp;", "&"))
    assert second.status_code == 200
    assert re.findall(r'href="/ui/messages/(n\d)"', second.text) == ["n0"]
    assert "First page" in second.text and 'rel="next"' not in second.text


async def test_a_bad_field_or_cursor_is_a_422_page_beside_the_form(web: Web):
    browser = await web.login(BOOT)
    for params, said in (
        ({"cursor": "tampered"}, "cursor: not a cursor"),
        ({"state": "lost"}, "state: one of"),
        ({"from": "2026-12-02", "to": "2026-12-01"}, "until: must be later"),
        ({"id": "x" * 101}, "id"),
        ({"limit": "100000"}, "limit"),
    ):
        page = await browser.get("/ui/messages", params=params)
        assert page.status_code == 422, params
        assert "text/html" in page.headers["content-type"]
        assert said in page.text, (params, page.text)
    hx = await browser.get("/ui/messages", params={"cursor": "tampered"}, headers={"hx-request": "true"})
    assert hx.status_code == 422 and 'class="problem"' in hx.text and "<html" not in hx.text


async def test_only_operators_reach_the_search(web: Web, db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    customer = await web.login(await web.api.token("portal", "customer", account.id))
    refused = await customer.get("/ui/messages", params={"account": account.id})
    assert refused.status_code == 403
    reader = await web.login(await web.api.token("ops", "read"))
    assert (await reader.get("/ui/messages")).status_code == 200
    anonymous = await web.api.http.get("/ui/messages")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/ui/login")
