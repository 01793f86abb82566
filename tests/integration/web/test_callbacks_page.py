"""The callback lists on each backend: filters, keyset pages, replay in bulk (dry run, then confirm), rights."""

from __future__ import annotations

import re

from dlrhub import store
from dlrhub.core import models, urls
from dlrhub.services import callback_lists, replay
from tests.integration.web.conftest import BOOT, Web
from tests.integration.web.failing import failed_message
from tests.receivers import Receiver

SINCE = "2000-01-01T00:00"


def listed(html: str) -> list[str]:
    return re.findall(r'data-callback="([^"]+)"', html)


async def test_lists_filter_page_and_link_to_the_message(web: Web, db: store.Store, receiver: Receiver):
    account, first = await failed_message(db, receiver, "m1")
    async with Receiver() as elsewhere:
        _, second = await failed_message(db, elsewhere, "m2", account=account)
    admin = await web.login(BOOT)
    everything = await admin.get("/ui/callbacks")
    assert everything.status_code == 200
    assert listed(everything.text) == [second.id, first.id]  # newest first
    assert 'href="/ui/messages/m1#cb-' in everything.text
    one = await admin.get("/ui/callbacks", params={"endpoint": receiver.url("/any"), "account": account.id})
    assert listed(one.text) == [first.id]
    assert listed((await admin.get("/ui/callbacks", params={"dialect": "esms"})).text) == []
    assert listed((await admin.get("/ui/callbacks", params={"list": "pending"})).text) == []
    assert listed((await admin.get("/ui/callbacks", params={"since": "2999-01-01T00:00"})).text) == []
    paged = await admin.get("/ui/callbacks", params={"size": "1"})
    assert listed(paged.text) == [second.id]
    [older] = re.findall(r'href="([^"]+)" rel="next"', paged.text)
    rest = await admin.get(older.replace("&amp;", "&"))
    assert listed(rest.text) == [first.id] and 'rel="next"' not in rest.text
    assert (await admin.get("/ui/callbacks", params={"size": "100000"})).status_code == 422
    bad = await admin.get("/ui/callbacks", params={"since": "yesterday"})
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]


async def test_bulk_replay_counts_first_then_replays_at_most_that_many(
    web: Web, db: store.Store, receiver: Receiver
):
    account, first = await failed_message(db, receiver, "m1")
    async with Receiver() as elsewhere:
        _, second = await failed_message(db, elsewhere, "m2", account=account)
        _, third = await failed_message(db, elsewhere, "m3", "/other", account=account)
    admin = await web.login(BOOT)
    unbounded = await admin.get("/ui/callbacks/replay")
    assert unbounded.status_code == 422 and "time range" in unbounded.text
    fields = {"since": SINCE, "endpoint": urls.endpoint_key(receiver.url())}
    dry = await admin.get("/ui/callbacks/replay", params=fields)
    assert dry.status_code == 200
    assert re.search(r'class="count">1<', dry.text)
    assert (await db.get_callback(first.id)).state is models.CallbackState.FAILED  # a dry run changes nothing
    assert 'name="count" value="1"' in dry.text
    done = await admin.post("/ui/callbacks/replay", {**fields, "list": "failed", "count": "1"})
    assert done.status_code == 200, done.text
    assert re.search(r'class="requeued">1<', done.text)
    assert (await db.get_callback(first.id)).state is models.CallbackState.PENDING
    assert (await db.get_callback(second.id)).state is models.CallbackState.FAILED
    [entry] = await db.list_audit(store.AuditFilter(action="callbacks.replay"))
    assert entry.details["requeued"] == 1 and entry.details["endpoint"] == urls.endpoint_key(receiver.url())
    # The confirmed count bounds the replay even when more match by then (oldest first).
    assert await callback_lists.dry_run(web.api.hub, callback_lists.Query(since=second.created_at)) == 2
    bounded = await admin.post("/ui/callbacks/replay", {"since": SINCE, "count": "1"})
    assert re.search(r'class="requeued">1<', bounded.text)
    states = [(await db.get_callback(cb.id)).state for cb in (second, third)]
    assert states == [models.CallbackState.PENDING, models.CallbackState.FAILED]
    too_many = await admin.post("/ui/callbacks/replay", {"since": SINCE, "count": str(replay.MAX_REPLAY + 1)})
    assert too_many.status_code == 422


async def test_a_read_session_lists_but_cannot_replay_and_customers_stay_out(
    web: Web, db: store.Store, receiver: Receiver
):
    account, cb = await failed_message(db, receiver, "m1")
    reader = await web.login(await web.api.token("looker", "read"))
    page = await reader.get("/ui/callbacks")
    assert listed(page.text) == [cb.id] and 'class="replay"' not in page.text
    assert (await reader.get("/ui/callbacks/replay", params={"since": SINCE})).status_code == 403
    refused = await reader.post("/ui/callbacks/replay", {"since": SINCE, "count": "1"})
    assert refused.status_code == 403
    admin = await web.login(BOOT)
    no_csrf = await admin.http.post("/ui/callbacks/replay", data={"since": SINCE, "count": "1"})
    assert no_csrf.status_code == 403
    assert (await db.get_callback(cb.id)).state is models.CallbackState.FAILED
    customer = await web.login(await web.api.token("c", "customer", account.id))
    assert (await customer.get("/ui/callbacks")).status_code == 403
