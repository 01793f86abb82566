"""A Zalo receipt touches only the messages of the OA that signed it (issue 11), on both backends.

Customer B holds its own OA secret and signs receipts naming customer A's message, by tracking_id and msg_id:
before A's message is sent (the receipt waits as an orphan) and after (the message exists). Neither may give A's
customer a "delivered".
"""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx

from dlrhub.core import models
from dlrhub.dialects.zalo import webhook
from dlrhub.services import accounts, events
from dlrhub.services import zalo_wiring as wiring
from dlrhub.simulator import modes as simulator_modes
from tests.integration.zalo.channel import Running, running

#: A phone the simulator sends to successfully and never posts a receipt for: only the test's receipts arrive.
QUIET = simulator_modes.phone_with(simulator_modes.Mode.NO_RECEIPT)
FAKE_MSG_ID = "feedfacefeedfacefeed"


async def _post_as(r: Running, oa: models.OA, msg_id: str, tracking_id: str) -> httpx.Response:
    """POST a receipt from `oa`, signed with its own secret, naming `msg_id` and `tracking_id`."""
    body: dict[str, Any] = r.receipt(msg_id, tracking_id) | {"sender": {"id": oa.oa_id}, "app_id": oa.app_id}
    raw = webhook.encode(body)
    headers = {
        "Content-Type": "application/json",
        webhook.SIGNATURE_HEADER: webhook.signature(oa.app_id, raw, body["timestamp"], oa.oa_secret),
        webhook.SERVER_HEADER: "ZNS",
    }
    return await r.http.post(wiring.WEBHOOK_PATH, content=raw, headers=headers)


async def test_another_oas_receipt_before_the_send_never_delivers(db):
    async with running(db) as r:
        other = await accounts.create(r.hub, "customer b")
        message = await r.send(QUIET)
        # B's receipt names A's message before it is sent: kept, but as B's.
        forged = await _post_as(r, other.oa, FAKE_MSG_ID, message.id)
        assert (forged.status_code, forged.json()["result"]) == (200, "orphan")
        # A's own early receipt with the same msg_id is kept beside it, not dropped as a repeat.
        genuine = r.receipt(FAKE_MSG_ID, message.id)
        assert (await r.post_event(genuine)).json()["result"] == "orphan"
        assert await r.hub.store.count_orphan_receipts() == 2
        await r.send_all()
        [delivered] = [e for e in await r.hub.store.list_events(message.id) if e.kind.value == "delivered"]
        orphans = await r.hub.store.list_orphan_receipts(matched=False, limit=10)
    # A's message took A's receipt; B's still waits, with B's OA, for a message of B's that will never come.
    assert delivered.raw == genuine
    assert [(o.oa_id, o.msg_id) for o in orphans] == [(other.oa.oa_id, FAKE_MSG_ID)]


async def test_another_oas_receipt_alone_leaves_the_message_sent(db):
    async with running(db) as r:
        other = await accounts.create(r.hub, "customer b")
        message = await r.send(QUIET)
        assert (await _post_as(r, other.oa, FAKE_MSG_ID, message.id)).json()["result"] == "orphan"
        await r.send_all()
        stored = await r.hub.store.get_message(message.id)
    assert stored.state is models.MessageState.SUCCESS
    assert [k for k, _, _ in await r.kinds(message.id)] == ["accepted", "success"]


async def test_another_oas_receipt_after_the_send_is_not_applied(db):
    async with running(db) as r:
        other = await accounts.create(r.hub, "customer b")
        message = await r.send(QUIET)
        await r.send_all()
        sent = await r.hub.store.get_message(message.id)
        assert sent.state is models.MessageState.SUCCESS
        assert sent.zalo_msg_id is not None
        # B names A's message by Zalo's msg_id and by dlrhub's id: it does not reach A's message.
        forged = await _post_as(r, other.oa, sent.zalo_msg_id, message.id)
        assert (forged.status_code, forged.json()["result"]) == (200, "orphan")
        assert (await r.hub.store.get_message(message.id)).state is models.MessageState.SUCCESS
        # Nor does a receipt from another OA of A's own account.
        sibling = dataclasses.replace(r.new.oa, oa_id="7777777777777777777", oa_secret="sibling-secret")
        await r.hub.store.put_oa(sibling)
        assert (await _post_as(r, sibling, sent.zalo_msg_id, message.id)).json()["result"] == "orphan"
        assert (await r.hub.store.get_message(message.id)).state is models.MessageState.SUCCESS
        # A's own receipt still applies.
        assert (await r.post_event(r.receipt(sent.zalo_msg_id, message.id))).json()["result"] == "applied"
        assert (await r.hub.store.get_message(message.id)).state is models.MessageState.DELIVERED


async def test_a_receipt_reaches_its_own_accounts_message_that_names_no_oa(db):
    async with running(db) as r:
        # An engine's native event may leave the OA out; the account's own OA still reports on it.
        ev = events.ExternalEvent(
            event_id="e-1",
            message_id="engine-1",
            account_id=r.new.account.id,
            kind=models.EventKind.SUCCESS,
            type_id=25,
            dialect=models.Dialect.NATIVE,
            occurred_at=r.hub.clock(),
            recipient="84900000300",
            zalo_msg_id=FAKE_MSG_ID,
        )
        await events.ingest_external(r.hub, ev)
        answer = await r.post_event(r.receipt(FAKE_MSG_ID, None))
        stored = await r.hub.store.get_message("engine-1")
    assert answer.json()["result"] == "applied"
    assert stored.state is models.MessageState.DELIVERED
