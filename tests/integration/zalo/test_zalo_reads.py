"""A Zalo receipt, and a send's outcome, read their message once: the event's transaction reads it again, no more."""

from __future__ import annotations

import collections
from typing import Any, cast

import orjson

from dlrhub import settings, store
from dlrhub.core import models
from dlrhub.dialects.zalo import codes, webhook, wire
from dlrhub.services import accounts, nxcloud
from dlrhub.services import hub as hub_
from dlrhub.services import zalo_inbound as inbound
from dlrhub.workers import zalo_channel as worker

#: The store methods that read a message (apply_event reads it too, inside its transaction: counted apart).
MESSAGE_READS = ("get_message", "get_messages", "find_message_by_zalo_msg_id_for_account")
MSG_ID = "8f2c0d1e4b5a69788f2c"


class Counting:
    """The store, counting the calls made to it by method name."""

    def __init__(self, inner: store.Store) -> None:
        self.inner = inner
        self.calls: collections.Counter[str] = collections.Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attr(*args, **kwargs)

        return call

    def reads(self) -> dict[str, int]:
        return {name: n for name, n in self.calls.items() if name in MESSAGE_READS}


async def queued(db: store.Store) -> tuple[Counting, hub_.Hub, accounts.NewAccount, models.Message]:
    counting = Counting(db)
    hub = hub_.Hub(settings=settings.Settings(), store=cast(store.Store, counting))
    new = await accounts.create(hub, "reads")
    body = {
        "appkey": new.app.appkey,
        "phone": "84900000300",
        "functionType": "template",
        "messageData": {"templateId": "100001", "templateData": {"name": "An"}},
    }
    message = await nxcloud.send_mt(hub, new.account, orjson.dumps(body))
    return counting, hub, new, message


def sent(message: models.Message, now: Any) -> models.StatusEvent:
    outcome = wire.SendOutcome(
        models.EventKind.SUCCESS,
        codes.CODE_SENT,
        codes.TEXT_SENT,
        {"error": 0, "message": "Success", "data": {"msg_id": MSG_ID}},
        0,
        msg_id=MSG_ID,
    )
    return worker.outcome_event(message, outcome, now)


def receipt(new: accounts.NewAccount, tracking_id: str) -> dict[str, Any]:
    return {
        "sender": {"id": new.oa.oa_id},
        "recipient": {"id": "84900000300"},
        "event_name": "user_received_message",
        "message": {"delivery_time": "1767323045000", "msg_id": MSG_ID, "tracking_id": tracking_id},
        "app_id": new.oa.app_id,
        "timestamp": "1767323045000",
    }


async def test_a_receipt_reads_its_message_once(db: store.Store) -> None:
    counting, hub, new, message = await queued(db)
    await worker.ChannelWorker(hub, cast(Any, None))._record(message, sent(message, hub.clock()))
    body = receipt(new, message.id)
    raw = webhook.encode(body)
    headers = {
        webhook.SIGNATURE_HEADER: webhook.signature(new.oa.app_id, raw, body["timestamp"], new.oa.oa_secret),
        webhook.SERVER_HEADER: "ZNS",
    }
    counting.calls.clear()
    assert await inbound.handle(hub, raw, headers) is inbound.Result.APPLIED
    assert counting.reads() == {"find_message_by_zalo_msg_id_for_account": 1}
    assert counting.calls["apply_event"] == 1
    kinds = [e.kind for e in await db.list_events(message.id)]
    assert kinds[-1] is models.EventKind.DELIVERED


async def test_a_send_outcome_and_its_waiting_receipt_read_no_message(db: store.Store) -> None:
    counting, hub, new, message = await queued(db)
    await db.put_orphan_receipt(new.oa.oa_id, MSG_ID, message.id, receipt(new, message.id), hub.clock())
    counting.calls.clear()
    await worker.ChannelWorker(hub, cast(Any, None))._record(message, sent(message, hub.clock()))
    assert counting.reads() == {}
    assert counting.calls["apply_event"] == 2  # the success, then the receipt that waited for it
    kinds = [e.kind for e in await db.list_events(message.id)]
    assert kinds[-2:] == [models.EventKind.SUCCESS, models.EventKind.DELIVERED]
