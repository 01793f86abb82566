"""When the eSMS GET callback is sent, and what each kind carries beyond the golden samples."""

from __future__ import annotations

import json
import urllib.parse
from decimal import Decimal

import pytest

from dlrhub.core import models, rendering
from dlrhub.dialects.esms import callback, errorinfo
from tests.unit.esms import factories

E = models.EventKind


#: An account that asked for the second callback on a Zalo delivery receipt (off by default).
DELIVERED_ON = factories.account(esms_delivered_callback=True)


def render(message, event, account=DELIVERED_ON):
    return callback.render(rendering.RenderContext(event=event, account=account, message=message))


def params(request):
    query = request.url.split("?", 1)[1]
    return [part.split("=", 1) for part in query.split("&")]


def names(request):
    return [name for name, _ in params(request)]


def value(request, name):
    return urllib.parse.unquote(dict(params(request))[name])


@pytest.mark.parametrize("kind", [E.ACCEPTED, E.JOURNEY_ACKNOWLEDGED, E.JOURNEY_TIME_OUT])
def test_no_callback_for_acceptance_or_journey_events(kind):
    assert render(factories.message(), factories.event(kind)) == []


@pytest.mark.parametrize("kind", [E.SUCCESS, E.FAILED, E.DELIVERED])
def test_one_get_per_final_or_delivered_event(kind):
    [request] = render(factories.message(), factories.event(kind))
    assert request.method == "GET"
    assert request.body == b""
    assert request.url.startswith("https://example.com/cb?SMSID=")


def test_no_callback_without_url_or_in_sandbox_or_when_not_applied():
    assert render(factories.message(callback_url=None), factories.event(E.SUCCESS)) == []
    assert render(factories.message(callback_url=""), factories.event(E.SUCCESS)) == []
    assert render(factories.message(sandbox=True), factories.event(E.SUCCESS)) == []
    assert render(factories.message(), factories.event(E.SUCCESS, applied=False)) == []


def test_no_callback_without_message():
    ctx = rendering.RenderContext(event=factories.event(E.SUCCESS), account=factories.account())
    assert callback.render(ctx) == []


def test_delivered_callback_is_an_account_choice_off_by_default():
    message = factories.message()
    assert factories.account().esms_delivered_callback is False
    assert render(message, factories.event(E.DELIVERED), factories.account()) == []
    assert len(render(message, factories.event(E.SUCCESS), factories.account())) == 1
    assert len(render(message, factories.event(E.DELIVERED), DELIVERED_ON)) == 1
    assert callback.should_send(factories.event(E.DELIVERED), message, delivered=True)
    assert not callback.should_send(factories.event(E.DELIVERED), message, delivered=False)
    assert callback.should_send(factories.event(E.SUCCESS), message, delivered=False)


def test_success_by_phone_carries_form_a_success_and_price():
    message = factories.message(price=Decimal("220.5"), zalo_msg_id="abc", request_id="r 1&x")
    zalo = {"error": 0, "message": "Success", "data": {"msg_id": "abc", "sent_time": "1"}}
    [request] = render(message, factories.event(E.SUCCESS, zalo_res=zalo))
    assert names(request) == [
        "SMSID", "SendFailed", "SendStatus", "SendSuccess", "TotalPrice", "TotalReceiver", "TotalSent",
        "RequestId", "TypeId", "telcoid", "phonenumber", "partnerids", "error_info", "oaid", "tempid",
    ]  # fmt: skip
    got = dict(params(request))
    assert got["SendStatus"] == "5"
    assert (got["SendSuccess"], got["SendFailed"], got["TotalSent"]) == ("1", "0", "1")
    assert got["TotalPrice"] == "220.5000"
    assert got["partnerids"] == "abc"
    assert got["RequestId"] == "r%201%26x"
    assert got["error_info"] == "%22{%5C%22error%5C%22%3A0%2C%5C%22message%5C%22%3A%5C%22Success%5C%22}%22"


def test_failure_has_zero_price_and_empty_partnerids():
    message = factories.message(price=Decimal(220), zalo_msg_id=None)
    [request] = render(
        message, factories.event(E.FAILED, code=-118, zalo_res={"error": -118, "message": "x"})
    )
    got = dict(params(request))
    assert (got["SendStatus"], got["SendFailed"], got["SendSuccess"], got["TotalSent"]) == (
        "5",
        "1",
        "0",
        "0",
    )
    assert got["TotalPrice"] == "0.0000"
    assert got["partnerids"] == ""
    assert json.loads(json.loads(value(request, "error_info"))) == {"error": -118, "message": "x"}


def test_rejection_before_sending_is_send_status_4():
    event = factories.event(E.FAILED, code=103, text=None, zalo_res=None)
    [request] = render(factories.message(), event)
    assert value(request, "SendStatus") == "4"
    assert json.loads(json.loads(value(request, "error_info"))) == {
        "error": 103,
        "message": "Insufficient balance",
    }


@pytest.mark.parametrize(
    ("code", "esms"),
    [(9005, [799, "OAID is inactive, wrong or not added to the account"]), (9000, [110, "Invalid request"])],
)
def test_channel_refusal_shows_the_nearest_esms_code(code, esms):
    event = factories.event(E.FAILED, code=code, text="Missing customer APP routes", zalo_res=None)
    [request] = render(factories.message(), event)
    assert value(request, "SendStatus") == "4"
    assert list(json.loads(json.loads(value(request, "error_info"))).values()) == esms


def test_engine_timeout_without_zalo_answer_is_a_failure_not_a_rejection():
    [request] = render(
        factories.message(), factories.event(E.FAILED, code=-100, text="timeout", zalo_res=None)
    )
    assert value(request, "SendStatus") == "5"
    assert json.loads(json.loads(value(request, "error_info"))) == {"error": -100, "message": "timeout"}


def test_delivered_by_phone_is_form_c_with_delivery_time_from_the_receipt():
    receipt = {
        "message": {"delivery_time": "1602960467432", "msg_id": "m1"},
        "event_name": "user_received_message",
    }
    message = factories.message(state=models.MessageState.DELIVERED, zalo_msg_id="m1", price=Decimal(1))
    [request] = render(message, factories.event(E.DELIVERED, zalo_res=receipt))
    assert value(request, "error_info") == (
        '{"error":0,"message":"Success","data":{"delivery_time":"1602960467432",'
        '"message":"The message was delivered to the user\'s phone","status":1}}'
    )
    assert value(request, "SendSuccess") == "1"
    assert value(request, "TotalPrice") == "1.0000"


def test_delivered_without_receipt_uses_the_event_time():
    [request] = render(factories.message(), factories.event(E.DELIVERED, zalo_res=None))
    status = json.loads(value(request, "error_info"))
    assert status["data"]["delivery_time"] == str(int(factories.T0.timestamp() * 1000))


@pytest.mark.parametrize(
    ("type_id", "tail"),
    [
        (1, []),
        (2, ["telcoid", "phonenumber", "switchsmsid"]),
        (23, ["telcoid", "phonenumber"]),
        (24, ["telcoid", "phonenumber", "partnerids", "error_info", "oaid", "tempid"]),
        (26, ["phonenumber", "error_info", "oaid", "partnerids"]),
        (27, ["phonenumber", "error_info", "oaid", "partnerids"]),
    ],
)
def test_tail_per_type(type_id, tail):
    [request] = render(factories.message(type_id=type_id), factories.event(E.SUCCESS))
    assert names(request)[9:] == tail
    assert names(request)[:9][-1] == "TypeId"


def test_uid_tail_and_default_telco():
    message = factories.message(recipient_kind="zalo_uid", telco_id=None, recipient="123")
    [request] = render(message, factories.event(E.FAILED, zalo_res={"error": -114, "message": "m"}))
    assert names(request)[9:] == ["telcoid", "phonenumber", "error_info", "oaid", "tempid", "partnerids"]
    assert value(request, "telcoid") == "9"
    assert json.loads(value(request, "error_info")) == {"error": -114, "message": "m"}


def test_unknown_telco_is_empty():
    [request] = render(factories.message(telco_id=None), factories.event(E.SUCCESS))
    assert value(request, "telcoid") == ""


@pytest.mark.parametrize(
    ("base", "expected_prefix"),
    [
        ("https://e.com/cb", "https://e.com/cb?SMSID="),
        ("https://e.com/cb?token=1", "https://e.com/cb?token=1&SMSID="),
        ("https://e.com/cb?", "https://e.com/cb?SMSID="),
        ("https://e.com/cb#frag", "https://e.com/cb?SMSID="),
    ],
)
def test_url_joining(base, expected_prefix):
    [request] = render(factories.message(callback_url=base), factories.event(E.SUCCESS))
    assert request.url.startswith(expected_prefix)


def test_unicode_values_are_percent_encoded():
    message = factories.message(request_id="đơn hàng #1", recipient="0901888484")
    [request] = render(message, factories.event(E.SUCCESS))
    assert request.url.isascii()
    assert value(request, "RequestId") == "đơn hàng #1"


def test_price_always_has_four_decimals():
    assert callback.price_text(Decimal("696987")) == "696987.0000"
    assert callback.price_text(Decimal("0")) == "0.0000"
    assert callback.price_text(Decimal("1.23456")) == "1.2346"


def test_form_b_for_oa_failure_keeps_zalo_answer_and_stamp():
    zalo = {"error": -201, "message": "bad", "data": {}}
    out = errorinfo.form_b(zalo, factories.T0)
    assert urllib.parse.unquote(urllib.parse.unquote(out)) == json.dumps(zalo, separators=(",", ":")) + (
        "____24/04/2024 16:58:01"
    )
