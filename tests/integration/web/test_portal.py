"""The customer portal on each backend: one account's messages, undelivered callbacks (with replay), destinations
and signing key ids; operators are refused, and nothing of another account can be reached from it."""

from __future__ import annotations

import dataclasses
import re

import fastapi.routing
import pytest

from dlrhub import store
from dlrhub.core import models
from dlrhub.services import keys
from dlrhub.web import portal
from tests.conftest import make_account, signing_secret
from tests.integration.engine.test_dispatcher import ingest
from tests.integration.tokens.test_feed_api import give_up
from tests.integration.web.conftest import BOOT, Browser, Web

K = models.EventKind
S = models.CallbackState


@dataclasses.dataclass
class Side:
    account: models.Account
    token: str
    delivered: str  # a message whose callback is pending
    failed: str  # a message whose callback failed
    failed_callback: str
    key_ids: list[str]


@pytest.fixture
async def sides(web: Web, db: store.Store) -> tuple[Side, Side]:
    made = []
    for name in ("a", "b"):
        secrets = (signing_secret(name.encode() * 24), signing_secret(name.upper().encode() * 24))
        account = make_account(name=f"shop {name}", signing_secrets=secrets)
        await db.create_account(account, [])
        await ingest(db, account, f"m-ok-{name}", K.SUCCESS, f"https://{name}-ok.example/hook")
        await ingest(db, account, f"m-bad-{name}", K.SUCCESS, f"https://{name}-bad.example/hook")
        cb = await give_up(db, f"m-bad-{name}", error=f"refused by {name}")
        token = await web.api.token(f"shop-{name}", "customer", account.id)
        made.append(
            Side(account, token, f"m-ok-{name}", f"m-bad-{name}", cb.id, [keys.key_id(s) for s in secrets])
        )
    return made[0], made[1]


def ids_of(side: Side) -> list[str]:
    """Everything that names `side`'s data."""
    return [
        side.account.id,
        side.delivered,
        side.failed,
        side.failed_callback,
        *side.key_ids,
        f"{side.account.name[-1]}-ok.example",
        f"{side.account.name[-1]}-bad.example",
    ]


def assert_nothing_of(side: Side, html: str) -> None:
    for value in ids_of(side):
        assert value not in html, value


async def test_operator_sessions_are_refused_on_every_portal_route(web: Web, sides) -> None:
    a, _ = sides
    ops = await web.api.token("ops", "read")
    for token in (BOOT, ops):
        browser = await web.login(token)
        for method, path in routes():
            path = path.replace("{callback_id}", a.failed_callback).replace("{key_id}", a.key_ids[0])
            answer = await (browser.get(path) if method == "GET" else browser.post(path))
            assert answer.status_code == 403, (token, method, path)
            assert "text/html" in answer.headers["content-type"]


def routes() -> list[tuple[str, str]]:
    return sorted(
        (method, route.path)
        for route in portal.router.routes
        if isinstance(route, fastapi.routing.APIRoute)
        for method in route.methods or ()
    )


async def test_a_customer_sees_its_messages_destinations_and_undelivered_callbacks(web: Web, sides) -> None:
    a, b = sides
    browser = await web.login(a.token)
    home = await browser.get("/portal")
    assert home.status_code == 200
    for message in (a.delivered, a.failed):
        assert f'href="/portal/messages/{message}"' in home.text
    assert "https://a-ok.example:443" in home.text and "https://a-bad.example:443" in home.text
    assert_nothing_of(b, home.text)
    listed = await browser.get("/portal/callbacks")
    assert listed.status_code == 200
    assert a.failed in listed.text and "refused by a" in listed.text
    assert f"/portal/callbacks/{a.failed_callback}/replay" in listed.text
    assert a.delivered not in listed.text  # pending, but younger than 300 s
    assert_nothing_of(b, listed.text)
    keys_page = await browser.get("/portal/keys")
    assert all(k in keys_page.text for k in a.key_ids)
    assert "whsec_" not in keys_page.text
    assert_nothing_of(b, keys_page.text)


async def test_replay_one_and_all_failed_touch_only_the_accounts_own(web: Web, db, sides) -> None:
    a, b = sides
    browser = await web.login(a.token)
    theirs = await browser.post(f"/portal/callbacks/{b.failed_callback}/replay")
    assert theirs.status_code == 404
    assert_nothing_of(b, theirs.text.replace(b.failed_callback, ""))  # the error names only the id asked for
    assert (await db.get_callback(b.failed_callback)).state is S.FAILED
    own = await browser.post(f"/portal/callbacks/{a.failed_callback}/replay")
    assert own.status_code == 200 and "1 callback(s) queued" in own.text
    assert (await db.get_callback(a.failed_callback)).state is S.PENDING
    await give_up_again(db, a.failed_callback)
    counted = await browser.post("/portal/callbacks/replay-failed")
    assert (
        counted.status_code == 200 and "1 failed or cancelled callback(s) would be sent again" in counted.text
    )
    assert (await db.get_callback(a.failed_callback)).state is S.FAILED  # a dry run
    sent = await browser.post("/portal/callbacks/replay-failed", data={"confirm": "yes"})
    assert "1 callback(s) queued" in sent.text
    assert (await db.get_callback(a.failed_callback)).state is S.PENDING
    assert (await db.get_callback(b.failed_callback)).state is S.FAILED
    audit = await db.list_audit(store.AuditFilter(action="callbacks.replay"))
    assert {e.actor for e in audit} == {"shop-a"}


async def give_up_again(db: store.Store, callback_id: str) -> None:
    cb = await db.get_callback(callback_id)
    assert cb.message_id
    await give_up(db, cb.message_id)


async def test_signing_secrets_add_shows_it_once_and_retire_is_the_accounts_own(web: Web, db, sides) -> None:
    a, b = sides
    browser = await web.login(a.token)
    added = await browser.post("/portal/keys")
    assert added.status_code == 200
    secret = re.search(r'<pre id="secret">(whsec_[^<]+)</pre>', added.text)
    assert secret, added.text
    new_id = keys.key_id(secret.group(1))
    assert new_id in added.text
    listed = await browser.get("/portal/keys")
    assert new_id in listed.text and secret.group(1) not in listed.text
    # Another account's key id is unknown here, and theirs stays live.
    theirs = await browser.post(f"/portal/keys/{b.key_ids[0]}/retire")
    assert theirs.status_code == 404
    assert b.key_ids[0] in await keys.signing_key_ids(web.api.hub, b.account.id)
    retired = await browser.post(f"/portal/keys/{a.key_ids[0]}/retire")
    assert retired.status_code == 200 and f"Retired {a.key_ids[0]}" in retired.text
    assert await keys.signing_key_ids(web.api.hub, a.account.id) == [a.key_ids[1], new_id]
    audit = await db.list_audit(store.AuditFilter(target=a.account.id))
    assert {(e.actor, e.action) for e in audit} >= {("shop-a", "signing.add"), ("shop-a", "signing.retire")}
    assert secret.group(1) not in str([e.details for e in audit])


async def test_portal_posts_need_the_csrf_token(web: Web, db, sides) -> None:
    a, _ = sides
    browser = await web.login(a.token)
    for method, path in routes():
        if method != "POST":
            continue
        path = path.replace("{callback_id}", a.failed_callback).replace("{key_id}", a.key_ids[0])
        refused = await browser.http.post(path, data={"csrf": "0" * 40, "confirm": "yes"})
        assert refused.status_code == 403, path
    assert (await db.get_callback(a.failed_callback)).state is S.FAILED
    assert await keys.signing_key_ids(web.api.hub, a.account.id) == a.key_ids


async def test_no_route_or_parameter_reaches_another_account(web: Web, db, sides) -> None:
    """Every portal route, with B's ids in its path and B's account in any parameter a route might read."""
    a, b = sides
    browser = await web.login(a.token)
    naming_b = {
        "account_id": b.account.id,
        "account": b.account.id,
        "message_id": b.failed,
        "callback_id": b.failed_callback,
        "callback_ids": b.failed_callback,
        "key_id": b.key_ids[0],
        "cursor": "",
        "confirm": "yes",
    }
    tried = set()
    for method, path in routes():
        for fill in (
            {"callback_id": b.failed_callback, "key_id": b.key_ids[0]},
            {"callback_id": a.failed_callback, "key_id": a.key_ids[1]},
        ):
            url = path.format(**fill)
            tried.add((method, path))
            if method == "GET":
                answer = await browser.get(url, params=naming_b)
            else:
                answer = await browser.post(url, data=naming_b, params=naming_b)
            assert answer.status_code in (200, 404, 409), (method, url, answer.status_code)
            assert_nothing_of(b, answer.text.replace(fill["callback_id"], "").replace(fill["key_id"], ""))
    assert tried == set(routes())
    # B's message page (another page of the portal) answers as an unknown one.
    for url in (f"/portal/messages/{b.failed}", f"/portal/messages/{b.delivered}"):
        answer = await browser.get(url)
        assert answer.status_code == 404, url
        assert_nothing_of(b, answer.text.replace(b.failed, "").replace(b.delivered, ""))
    # Nothing of B's changed.
    assert (await db.get_callback(b.failed_callback)).state is S.FAILED
    assert await keys.signing_key_ids(web.api.hub, b.account.id) == b.key_ids
    assert await db.list_audit(store.AuditFilter(target=b.account.id)) == []


async def test_the_undelivered_list_pages_by_cursor(web: Web, db) -> None:
    account = make_account()
    await db.create_account(account, [])
    for i in range(3):
        await ingest(db, account, f"m{i}", K.SUCCESS, "https://x.example/hook")
        await give_up(db, f"m{i}")
    token = await web.api.token("pager", "customer", account.id)
    browser: Browser = await web.login(token)
    old, portal.PAGE = portal.PAGE, 2
    try:
        first = await browser.get("/portal/callbacks")
        assert "m0" in first.text and "m1" in first.text and "m2" not in first.text
        found = re.search(
            r'href="(/portal/callbacks\?older_than_s=300&amp;cursor=[^"]+)">Next page', first.text
        )
        assert found, first.text
        second = await browser.get(found.group(1).replace("&amp;", "&"))
        assert "m2" in second.text and "m0" not in second.text
        bad = await browser.get("/portal/callbacks", params={"cursor": "tampered"})
        assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    finally:
        portal.PAGE = old
