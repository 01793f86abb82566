"""Zalo wire shapes: the mapping of answers to dlrhub outcomes, and request validation."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest

from dlrhub.core import errors, models
from dlrhub.dialects.zalo import codes, wire

# PROTOCOLS §3.1, verbatim.
SUCCESS = (
    b'{"error":0,"message":"Success","data":{"msg_id":"a4d0243feee163bd3af2","sent_time":"1626926349402",'
    b'"sending_mode":"1","quota":{"dailyQuota":"500","remainingQuota":"499"}}}'
)


def test_success_maps_to_success_code_0_with_raw_zalo_res():
    out = wire.send_outcome(SUCCESS)
    assert (out.kind, out.code, out.text) == (models.EventKind.SUCCESS, 0, "Successfully sent.")
    assert out.msg_id == "a4d0243feee163bd3af2"
    assert out.sent_at == dt.datetime(2021, 7, 22, 3, 59, 9, 402000, tzinfo=dt.UTC)
    assert out.quota == wire.Quota(500, 499)
    assert out.sending_mode == "1"
    assert out.zalo_res == {
        "error": 0,
        "message": "Success",
        "data": orjson.loads(SUCCESS)["data"],
    }
    assert not out.token_invalid
    assert not out.timed_out


def test_zalo_error_maps_to_17004_with_raw_error():
    out = wire.send_outcome(b'{"error":-118,"message":"Zalo account not existed"}')
    assert (out.kind, out.code) == (models.EventKind.FAILED, 17004)
    # As in NXCloud's `failed` example (seed 000).
    assert out.text == "Zalo send error(Zalo account not existed)"
    assert out.zalo_res == {"error": -118, "message": "Zalo account not existed", "data": None}
    assert out.zalo_error == -118
    assert out.msg_id is None


def test_error_without_message_uses_table():
    out = wire.send_outcome(b'{"error":-124}')
    assert out.token_invalid
    assert out.text == "Zalo send error(Access token is invalid)"


def test_quota_error_keeps_quota_numbers():
    raw = b'{"error":-144,"message":"x","data":{"quota":{"dailyQuota":"5","remainingQuota":"0"}}}'
    out = wire.send_outcome(raw)
    assert out.quota == wire.Quota(5, 0)
    assert out.zalo_res["data"] == {"quota": {"dailyQuota": "5", "remainingQuota": "0"}}


def test_timeout_is_17005_with_decisions_zalo_res():
    out = wire.timeout_outcome()
    assert (out.kind, out.code, out.text) == (models.EventKind.FAILED, 17005, "Zalo engine api timeout")
    assert orjson.dumps(out.zalo_res) == (
        b'{"sysMsg":"Zalo engine api timeout","cusMsg":"Zalo engine api timeout",'
        b'"error":null,"message":null,"data":null}'
    )
    assert out.timed_out
    out.zalo_res["error"] = 1
    assert codes.TIMEOUT_ZALO_RES["error"] is None


@pytest.mark.parametrize("raw", [b"", b"<html>502</html>", b"[]", b'{"error":"0"}', b'{"error":true}', b"{}"])
def test_malformed_answers_are_17004_never_raise(raw):
    out = wire.send_outcome(raw)
    assert (out.kind, out.code, out.zalo_error) == (models.EventKind.FAILED, 17004, None)
    assert out.zalo_res["error"] is None


def test_template_request_by_phone_and_hash_phone():
    path, body = wire.template_request(
        phone="84987654321",
        hash_phone=None,
        template_id="228386",
        template_data={"name": "An", "amount": 5},
        tracking_id="zalomid.0123",
    )
    assert path == "/message/template"
    assert list(body) == ["phone", "template_id", "template_data", "tracking_id", "sending_mode"]
    assert body["sending_mode"] == "1"
    path, body = wire.template_request(
        phone=None, hash_phone="a" * 64, template_id="1", template_data={"k": "v"}, tracking_id="t"
    )
    assert path == "/message/template/hashphone"
    assert body["phone"] == "a" * 64


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"phone": None, "hash_phone": None}, "phone"),
        ({"phone": "84987654321", "hash_phone": "a" * 64}, "phone"),
        ({"phone": "0987-654"}, "phone"),
        ({"phone": None, "hash_phone": "A" * 64}, "hash_phone"),
        ({"tracking_id": "x" * 49}, "tracking_id"),
        ({"tracking_id": "a b"}, "tracking_id"),
        ({"template_id": ""}, "template_id"),
        ({"sending_mode": "9"}, "sending_mode"),
        ({"template_data": {str(i): "v" for i in range(101)}}, "template_data"),
        ({"template_data": {"k": ["list"]}}, "template_data.k"),
        ({"template_data": {"k": "v" * 4001}}, "template_data.k"),
    ],
)
def test_template_request_refuses_bad_input(kwargs, field):
    args = {
        "phone": "84987654321",
        "hash_phone": None,
        "template_id": "1",
        "template_data": {"k": "v"},
        "tracking_id": "t",
        **kwargs,
    }
    with pytest.raises(errors.InvalidInput) as info:
        wire.template_request(**args)
    assert info.value.field == field


def test_journey_answers():
    ok = wire.journey_token_answer(b'{"error":0,"message":"Success","token":"tok","journey_id":"123456789"}')
    assert ok.value == wire.JourneyToken("tok", "123456789")
    assert ok.ok
    bad = wire.journey_token_answer(b'{"error":-108,"message":"Phone number is invalid"}')
    assert (bad.ok, bad.error, bad.message) == (False, -108, "Phone number is invalid")
    info = wire.journey_info_answer(
        b'{"error":0,"message":"Success","data":{"appId":"a","oaId":"o",'
        b'"createdAt":"1641269204370","expiredAt":"1641269384370"}}'
    )
    assert info.value is not None
    assert (info.value.app_id, info.value.oa_id) == ("a", "o")
    assert info.value.expired_at - info.value.created_at == dt.timedelta(minutes=3)
    snake = wire.journey_info_answer(
        b'{"error":0,"data":{"app_id":"a","oa_id":"o","created_at":"1","expired_at":"2"}}'
    )
    assert snake.ok


def test_status_quota_and_grant_answers():
    st = wire.message_status_answer(
        b'{"error":0,"message":"Success","data":{"delivery_time":"1767678030984",'
        b'"message":"The message was delivered to the user\'s phone","status":1}}'
    )
    assert st.value is not None
    assert st.value.status == 1
    assert st.value.delivered_at == dt.datetime(2026, 1, 6, 5, 40, 30, 984000, tzinfo=dt.UTC)
    pending = wire.message_status_answer(b'{"error":0,"data":{"delivery_time":null,"message":"","status":0}}')
    assert pending.value == wire.MessageStatus(0, "", None)
    quota = wire.quota_answer(b'{"error":0,"data":{"dailyQuota":"5000","remainingQuota":"4999"}}')
    assert quota.value == wire.Quota(5000, 4999)
    grant = wire.token_grant_answer(b'{"access_token":"a","refresh_token":"r","expires_in":"90000"}')
    assert grant.value == wire.TokenGrant("a", "r", 90000)
    refused = wire.token_grant_answer(b'{"error":-14014,"message":"Invalid refresh_token"}')
    assert (refused.ok, refused.error) == (False, -14014)
    malformed = wire.token_grant_answer(b'{"access_token":"a","refresh_token":"r","expires_in":"soon"}')
    assert not malformed.ok
    assert malformed.error is None
    assert not wire.quota_answer(b"nope").ok


def test_epoch_helpers_round_trip_and_refuse_garbage():
    when = dt.datetime(2024, 5, 1, 2, 12, 39, 833000, tzinfo=dt.UTC)
    assert str(int(when.timestamp() * 1000)) == "1714529559833"
    assert wire.from_epoch_ms("1714529559833", "t") == when
    for bad in ["", "12a", True, None, "1" * 16, -5, "9" * 15]:
        with pytest.raises(errors.InvalidInput):
            wire.from_epoch_ms(bad, "t")


def test_template_request_by_user_id():
    path, body = wire.template_request(
        phone=None,
        hash_phone=None,
        user_id="5308693166941955879",
        template_id="523194",
        template_data={"k": "v"},
        tracking_id="t",
    )
    assert path == "/message/template"
    assert list(body) == ["user_id", "template_id", "template_data", "tracking_id", "sending_mode"]
    assert body["user_id"] == "5308693166941955879"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"phone": "84987654321", "user_id": "123"}, "phone"),
        ({"phone": None, "hash_phone": "a" * 64, "user_id": "123"}, "phone"),
        ({"phone": None, "user_id": "1" * 21}, "user_id"),
        ({"phone": None, "user_id": "12a"}, "user_id"),
        ({"phone": None, "user_id": ""}, "user_id"),
    ],
)
def test_template_request_refuses_bad_user_ids(kwargs, field):
    args = {"hash_phone": None, "template_id": "1", "template_data": {"k": "v"}, "tracking_id": "t", **kwargs}
    with pytest.raises(errors.InvalidInput) as info:
        wire.template_request(**args)
    assert info.value.field == field
