"""The native rendering: exact bytes of the Standard Webhooks envelope, and when nothing is sent."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import orjson

from dlrhub.core import models, rendering
from dlrhub.dialects.native import render as native

T = dt.datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=dt.UTC)
ACCOUNT = models.Account(
    id="acc_1",
    name="a",
    status=models.AccountStatus.ACTIVE,
    esms_api_key="k",
    esms_secret_key="s",
    nx_access_key="k",
    nx_access_secret="s",
    balance=Decimal(0),
    currency="VND",
    prices={},
    utc_offset_minutes=420,
    signing_secrets=(),
    created_at=T,
)
MESSAGE = models.Message(
    id="msg_0123456789abcdef0123456789abcdef",
    account_id="acc_1",
    dialect=models.Dialect.NATIVE,
    type_id=24,
    recipient="84901234567",
    state=models.MessageState.SUCCESS,
    seq=2,
    created_at=T,
    updated_at=T,
    callback_url="https://hooks.example.com/dlr?x=1",
    request_id="r-1",
    ext="e",
    price=Decimal("300.0000"),
    zalo_msg_id="zm1",
    tracking_id="t1",
)
EVENT = models.StatusEvent(
    id="ev_1",
    kind=models.EventKind.SUCCESS,
    occurred_at=T,
    message_id=MESSAGE.id,
    code=0,
    text="Success",
    zalo_res={"error": 0, "message": "Success"},
    seq=2,
)

GOLDEN = (
    b'{"type":"message.success","timestamp":"2026-03-04T05:06:07.891Z","data":{'
    b'"message_id":"msg_0123456789abcdef0123456789abcdef","status":"success","event_id":"ev_1","seq":2,'
    b'"code":0,"text":"Success","recipient":"84901234567","type_id":24,"request_id":"r-1","ext":"e",'
    b'"price":"300.0000","currency":"VND","zalo_msg_id":"zm1","tracking_id":"t1",'
    b'"zalo_res":{"error":0,"message":"Success"}}}'
)


def test_success_envelope_bytes():
    [request] = native.render(rendering.RenderContext(event=EVENT, account=ACCOUNT, message=MESSAGE))
    assert request.method == "POST"
    assert request.url == "https://hooks.example.com/dlr?x=1"
    assert request.content_type == "application/json"
    assert request.body == GOLDEN


def test_delivered_type_and_journey_id():
    message = models.Message(**{**{f: getattr(MESSAGE, f) for f in MESSAGE.__slots__}, "journey_id": "j1"})
    event = models.StatusEvent(
        id="ev_2", kind=models.EventKind.DELIVERED, occurred_at=T, message_id=message.id
    )
    [request] = native.render(rendering.RenderContext(event=event, account=ACCOUNT, message=message))
    doc = orjson.loads(request.body)
    assert doc["type"] == "message.delivered"
    assert doc["data"]["journey_id"] == "j1"
    assert "zalo_res" not in doc["data"]


def test_nothing_without_url_message_or_for_accepted():
    no_url = models.Message(**{**{f: getattr(MESSAGE, f) for f in MESSAGE.__slots__}, "callback_url": None})
    accepted = models.StatusEvent(id="ev_0", kind=models.EventKind.ACCEPTED, occurred_at=T)
    timeout = models.StatusEvent(
        id="ev_9", kind=models.EventKind.JOURNEY_TIME_OUT, occurred_at=T, journey_id="j"
    )
    assert native.render(rendering.RenderContext(event=EVENT, account=ACCOUNT, message=no_url)) == []
    assert native.render(rendering.RenderContext(event=accepted, account=ACCOUNT, message=MESSAGE)) == []
    assert native.render(rendering.RenderContext(event=timeout, account=ACCOUNT)) == []


def test_naive_timestamps_are_read_as_utc():
    assert native.timestamp(dt.datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000Z"
    assert native.timestamp(dt.datetime(2026, 1, 1, 7, tzinfo=dt.timezone(dt.timedelta(hours=7)))) == (
        "2026-01-01T00:00:00.000Z"
    )
