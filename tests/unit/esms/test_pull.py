"""The bodies of the eSMS pull APIs, and the response shapes, built from stored messages."""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pytest

from dlrhub.core import models
from dlrhub.dialects.esms import pull, responses
from tests.unit.esms import factories

S = models.MessageState
RECORD_KEYS = [
    "SMSID", "SendFailed", "SendSuccess", "SendStatus", "TotalPrice", "TotalReceiver", "TotalSent",
    "RequestId", "TypeId", "Telcoid", "PhoneNumber", "CallbackUrl", "Partnerids", "ErrorInfo", "OAId",
    "ZnsTempId",
]  # fmt: skip


def record(**changes):
    return orjson.loads(responses.get_callback([pull.callback_record(factories.message(**changes))]))


def test_get_callback_envelope_and_key_order():
    body = record()
    assert list(body) == ["Code", "Message", "Data_callback"]
    assert body["Code"] == 100
    assert body["Message"] == "Success"
    assert list(body["Data_callback"][0]) == RECORD_KEYS


def test_failed_record_types_follow_the_example():
    zalo = {"error": -124, "message": "Access token is invalid"}
    [rec] = record(state=S.FAILED, code=-124, zalo_res=zalo, telco_id=1, recipient="0909090909")[
        "Data_callback"
    ]
    assert rec["SendFailed"] == 1
    assert rec["SendSuccess"] == 0
    assert rec["SendStatus"] == 5
    assert rec["TotalPrice"] == 0.0
    assert isinstance(rec["TotalPrice"], float)
    assert (rec["TotalReceiver"], rec["TotalSent"]) == (1, 0)
    assert rec["RequestId"] is None
    assert (rec["TypeId"], rec["Telcoid"]) == (25, 1)
    assert rec["PhoneNumber"] == "0909090909"
    assert rec["CallbackUrl"] == "https://example.com/cb"
    assert rec["Partnerids"] == ""
    assert rec["ErrorInfo"] == '{"error":-124,"message":"Access token is invalid"}'
    assert (rec["OAId"], rec["ZnsTempId"]) == ("1397492183140006179", "2056446")


def test_queued_record():
    [rec] = record(state=S.ACCEPTED, request_id="r1")["Data_callback"]
    assert (rec["SendStatus"], rec["SendFailed"], rec["SendSuccess"], rec["TotalSent"]) == (2, 0, 0, 0)
    assert rec["Partnerids"] == ""
    assert rec["ErrorInfo"] is None
    assert rec["TotalPrice"] == 0.0
    assert rec["RequestId"] == "r1"


def test_rejected_record_is_status_4():
    [rec] = record(state=S.FAILED, code=103, zalo_res=None)["Data_callback"]
    assert rec["SendStatus"] == 4
    assert json.loads(rec["ErrorInfo"]) == {"error": 103, "message": "Insufficient balance"}


def test_sent_record():
    zalo = {"error": 0, "message": "Success", "data": {"msg_id": "7984e9b198c40e9957d6"}}
    [rec] = record(state=S.SUCCESS, zalo_res=zalo, zalo_msg_id="7984e9b198c40e9957d6", price=Decimal(220))[
        "Data_callback"
    ]
    assert (rec["SendStatus"], rec["SendSuccess"], rec["SendFailed"], rec["TotalSent"]) == (5, 1, 0, 1)
    assert rec["TotalPrice"] == 220.0
    assert rec["Partnerids"] == "7984e9b198c40e9957d6"
    assert rec["ErrorInfo"] == '{"error":0,"message":"Success"}'


def test_delivered_record_carries_the_status_json_of_the_latest_callback():
    receipt = {"message": {"delivery_time": "1602960467432", "msg_id": "m1"}}
    [rec] = record(state=S.DELIVERED, zalo_res=receipt, zalo_msg_id="m1")["Data_callback"]
    assert rec["SendStatus"] == 5
    assert rec["Partnerids"] == "m1"
    assert json.loads(rec["ErrorInfo"])["data"] == {
        "delivery_time": "1602960467432",
        "message": "The message was delivered to the user's phone",
        "status": 1,
    }


def test_uid_and_unknown_telco():
    assert record(recipient_kind="zalo_uid", telco_id=None)["Data_callback"][0]["Telcoid"] == 9
    assert record(telco_id=None)["Data_callback"][0]["Telcoid"] == 0


def test_get_send_status_keeps_four_decimals():
    message = factories.message(state=S.SUCCESS, price=Decimal(850), id="abc")
    raw = responses.code_result(pull.send_status(message))
    assert raw == (
        b'{"CodeResponse":"100","SMSID":"abc","SendFailed":0,"SendStatus":5,"SendSuccess":1,'
        b'"TotalPrice":850.0000,"TotalReceiver":1,"TotalSent":1}'
    )


@pytest.mark.parametrize(
    ("state", "code", "zalo_res", "error_info", "final"),
    [
        (S.ACCEPTED, None, None, None, "0"),
        (S.SUCCESS, 0, {"error": 0, "message": "Success"}, "0", "0"),
        (S.DELIVERED, 0, None, "0", "1"),
        (S.FAILED, -118, {"error": -118, "message": "x"}, "-118", "1"),
        (S.FAILED, 103, None, "103", "1"),
    ],
)
def test_query_zns_status(state, code, zalo_res, error_info, final):
    message = factories.message(
        state=state, code=code, zalo_res=zalo_res, zalo_msg_id="zm", price=Decimal(330)
    )
    body = orjson.loads(responses.code_result(pull.zns_status(message)))
    assert body["CodeResult"] == "100"
    data = body["Data"]
    assert list(data) == [
        "ErrorInfo", "FinalStatus", "SMSID", "SendFailed", "SendStatus", "SendSuccess", "TotalPrice",
        "TotalReceiver", "TotalSent", "ZaloMsgId",
    ]  # fmt: skip
    assert (data["ErrorInfo"], data["FinalStatus"]) == (error_info, final)
    assert data["ZaloMsgId"] == "zm"


@pytest.mark.parametrize(
    ("state", "status"), [(S.DELIVERED, 1), (S.SUCCESS, 0), (S.FAILED, -1), (S.ACCEPTED, -1)]
)
def test_zalo_message_status(state, status):
    receipt = {"message": {"delivery_time": "1767678030984"}}
    body = pull.zalo_message_status(factories.message(state=state, zalo_res=receipt))
    assert body["CodeResult"] == "100"
    assert body["ErrorMessage"] == "success. "
    assert body["Data"]["status"] == status
    assert body["Data"]["delivery_time"] == ("1767678030984" if status == 1 else None)
    assert list(body["Data"]) == ["delivery_time", "message", "status"]


def test_balance():
    raw = responses.code_result(pull.balance(factories.account(balance=Decimal(36693))))
    body = orjson.loads(raw)
    assert list(body) == ["Balance", "CodeResponse", "UserID"]
    assert body["Balance"] == 36693
    assert isinstance(body["Balance"], int)
    assert body["CodeResponse"] == "100"
    assert body["UserID"] == pull.user_id(factories.account())
    assert (
        orjson.loads(responses.code_result(pull.balance(factories.account(balance=Decimal("1.5")))))[
            "Balance"
        ]
        == 1.5
    )
