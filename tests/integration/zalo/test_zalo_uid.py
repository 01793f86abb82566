"""ZNS by Zalo user id: an eSMS `SendZaloMessage_V6/zalo_uid/` send reaches the simulator as a `user_id` send and
comes back as a success and a delivered GET callback (form C `error_info`, `telcoid=9`), on both backends."""

from __future__ import annotations

import urllib.parse

import orjson

from dlrhub.core import models
from dlrhub.dialects.esms import requests
from dlrhub.services import esms
from tests.integration.zalo.channel import running

UID = "5308693166941955879"


def query_of(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(url.split("?", 1)[1], keep_blank_values=True))


def uid_send(r) -> bytes:
    account = r.new.account
    body = {
        "ApiKey": account.esms_api_key,
        "SecretKey": account.esms_secret_key,
        "OAID": r.new.oa.oa_id,
        "TempID": "100001",
        "TempData": {"name": "An"},
        "ZaloUid": UID,
        "CallbackUrl": "https://customer.example/esms",
    }
    return orjson.dumps(body)


async def test_esms_send_by_zalo_uid_is_sent_and_delivered(db):
    # The account asked for the second, delivered callback (DECISIONS › When is the GET callback sent?).
    async with running(db, account={"esms_delivered_callback": True}) as r:
        sms_id = await esms.send(r.hub, uid_send(r), requests.Variant.V6_ZALO_UID)
        await r.send_all()
        stored = await r.hub.store.get_message(sms_id)
        assert (stored.recipient, stored.recipient_kind) == (UID, "zalo_uid")
        assert await r.kinds(sms_id) == [
            ("accepted", None, True),
            ("success", 0, True),
            ("delivered", 17003, True),
        ]
        [delivered_event] = [e for e in await r.hub.store.list_events(sms_id) if e.kind.value == "delivered"]
        assert delivered_event.raw is not None
        assert delivered_event.raw["recipient"]["id"] == UID
        sent, delivered = await r.hub.store.list_callbacks(sms_id)
    assert stored.state is models.MessageState.DELIVERED
    first, second = query_of(sent.request.url), query_of(delivered.request.url)
    assert (first["SendStatus"], first["SendSuccess"], first["telcoid"]) == ("5", "1", "9")
    assert (second["telcoid"], second["phonenumber"], second["partnerids"]) == ("9", UID, stored.zalo_msg_id)
    assert list(second)[-6:] == ["telcoid", "phonenumber", "error_info", "oaid", "tempid", "partnerids"]
    # Form C: Zalo's message-status JSON, URL-encoded once with `{` and `}` raw.
    raw_info = delivered.request.url.split("&error_info=", 1)[1].split("&", 1)[0]
    assert raw_info.startswith("{") and raw_info.endswith("}")
    assert orjson.loads(second["error_info"]) == {
        "error": 0,
        "message": "Success",
        "data": {
            "delivery_time": delivered_event.raw["message"]["delivery_time"],
            "message": "The message was delivered to the user's phone",
            "status": 1,
        },
    }


async def test_by_default_a_delivered_message_gets_one_get(db):
    async with running(db) as r:
        sms_id = await esms.send(r.hub, uid_send(r), requests.Variant.V6_ZALO_UID)
        await r.send_all()
        assert [kind for kind, _, _ in await r.kinds(sms_id)] == ["accepted", "success", "delivered"]
        [sent] = await r.hub.store.list_callbacks(sms_id)
    assert query_of(sent.request.url)["SendSuccess"] == "1"
