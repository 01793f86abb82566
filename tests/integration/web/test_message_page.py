"""The message page on each backend: timeline, callbacks as sent (secrets masked), attempts, replay, tenancy."""

from __future__ import annotations

import pytest

from dlrhub import store
from dlrhub.core import errors, models
from dlrhub.services import keys, message_view
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest
from tests.integration.web.conftest import BOOT, Web
from tests.integration.web.failing import ANSWER, SECRET, URL_TOKEN, failed_message
from tests.receivers import Receiver


async def test_the_view_gathers_timeline_callbacks_and_attempts(
    web: Web, db: store.Store, receiver: Receiver
):
    account, cb = await failed_message(db, receiver, "m1")
    view = await message_view.view(web.api.hub, "m1")
    assert [e.kind for e in view.events] == [models.EventKind.SUCCESS]
    [shown] = view.callbacks
    assert shown.callback.id == cb.id and shown.replayable and not view.live
    assert [a.status_code for a in shown.attempts] == [500] * 4
    assert view.signing_keys == (keys.key_id(SECRET),)
    assert URL_TOKEN not in shown.url and URL_TOKEN not in (view.callback_url or "")
    assert '"message_id": "m1"' in shown.body  # the native envelope, pretty-printed
    assert (await message_view.view(web.api.hub, "m1", account.id)).message.id == "m1"
    other = make_account()
    await db.create_account(other, [])
    for message_id, owner in (("nope", None), ("nope", other.id), ("m1", other.id)):
        with pytest.raises(errors.UnknownMessage):
            await message_view.view(web.api.hub, message_id, owner)


async def test_the_page_shows_the_callback_as_sent_with_secrets_masked_and_output_escaped(
    web: Web, db: store.Store, receiver: Receiver
):
    _, cb = await failed_message(db, receiver, "m1")
    admin = await web.login(BOOT)
    page = await admin.get("/ui/messages/m1")
    assert page.status_code == 200, page.text
    html = page.text
    assert f'id="cb-{cb.id}"' in html and 'data-state="failed"' in html
    assert html.count('class="attempt"') == 4 and html.count('data-outcome="http_status"') == 4
    assert "&lt;script&gt;alert(&#39;boom&#39;)&lt;/script&gt;" in html and ANSWER not in html
    assert "POST http://127.0.0.1:" in html and "token=…" in html
    assert keys.key_id(SECRET) in html and "v1,…" in html and "added at send time" in html
    for secret in (SECRET, SECRET.removeprefix("whsec_"), URL_TOKEN):
        assert secret not in html
    assert 'class="replay"' in html
    fragment = await admin.get("/ui/messages/m1/callbacks")
    assert fragment.status_code == 200 and 'data-live="no"' in fragment.text and "<html" not in fragment.text


async def test_replay_needs_an_admin_session_and_its_csrf_token_and_is_audited(
    web: Web, db: store.Store, receiver: Receiver
):
    _, cb = await failed_message(db, receiver, "m1")
    reader = await web.login(await web.api.token("looker", "read"))
    looked = await reader.get("/ui/messages/m1")
    assert looked.status_code == 200 and 'class="replay"' not in looked.text
    refused = await reader.post(f"/ui/callbacks/{cb.id}/replay")
    assert refused.status_code == 403
    admin = await web.login(BOOT)
    no_csrf = await admin.http.post(f"/ui/callbacks/{cb.id}/replay")
    assert no_csrf.status_code == 403
    assert (await db.get_callback(cb.id)).state is models.CallbackState.FAILED
    done = await admin.post(f"/ui/callbacks/{cb.id}/replay")
    assert done.status_code == 303
    assert done.headers["location"] == f"/ui/messages/m1?replayed={cb.id}"
    assert (await db.get_callback(cb.id)).state is models.CallbackState.PENDING
    after = await admin.get(done.headers["location"])
    assert "is queued again" in after.text and 'data-live="yes"' in after.text
    [entry] = await db.list_audit(store.AuditFilter(action="callbacks.replay"))
    assert entry.actor == "bootstrap"  # the session's token's actor
    assert entry.details["callback_ids"] == [cb.id]
    missing = await admin.post("/ui/callbacks/cb_nope/replay")
    assert missing.status_code == 404 and "text/html" in missing.headers["content-type"]


async def test_a_customer_sees_its_own_message_and_another_s_answers_like_a_missing_one(
    web: Web, db: store.Store, receiver: Receiver
):
    account, cb = await failed_message(db, receiver, "m1")
    mine = await web.login(await web.api.token("mine", "customer", account.id))
    page = await mine.get("/portal/messages/m1")
    assert page.status_code == 200 and cb.id in page.text
    assert 'class="replay"' not in page.text and SECRET not in page.text and URL_TOKEN not in page.text
    assert (await mine.get("/portal/messages/m1/callbacks")).status_code == 200
    other = make_account()
    await db.create_account(other, [])
    theirs = await web.login(await web.api.token("theirs", "customer", other.id))
    probed = await theirs.get("/portal/messages/m1")
    missing = await theirs.get("/portal/messages/m2")
    assert probed.status_code == missing.status_code == 404
    assert probed.text.replace("m1", "ID") == missing.text.replace("m2", "ID")
    assert cb.id not in probed.text
    assert (await theirs.get("/portal/messages/m1/callbacks")).status_code == 404
    assert (await theirs.get("/ui/messages/m1")).status_code == 403


async def test_a_get_callback_shows_its_query_and_no_body(web: Web, db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    await ingest(
        db, account, "e1", models.EventKind.SUCCESS, "http://h.example/dlr?secret=S3CR3T", models.Dialect.ESMS
    )
    [cb] = await db.list_callbacks("e1")
    assert cb.request.method == "GET"
    admin = await web.login(BOOT)
    html = (await admin.get("/ui/messages/e1")).text
    assert "GET http://h.example/dlr?secret=…&amp;SMSID=e1" in html
    assert '<td class="mono">SMSID</td><td class="mono">e1</td>' in html
    assert "S3CR3T" not in html and 'class="body"' not in html
    assert "has no signing secret" in html and "webhook-signature" not in html
    assert 'data-live="yes"' in html and 'hx-get="/ui/messages/e1/callbacks"' in html  # pending: it refreshes
