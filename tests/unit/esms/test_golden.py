"""Golden tests: every GET callback sample of seed 002 (and the Zalo UID sample of eSMS's own page), rebuilt
from its decoded values, matches byte for byte."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pathlib
import urllib.parse
from decimal import Decimal

import pytest

from dlrhub.core import models, rendering
from dlrhub.dialects.esms import callback, errorinfo, pull, vntime
from tests.unit.esms import factories

SEED_SAMPLES = [
    "care_sms",
    "advertising",
    "zns_failed",
    "viber",
    "oa_consulting",
    "oa_transaction",
    "oa_info_request",
    "zns_journey",
]
ALL_SAMPLES = [*SEED_SAMPLES, "zns_uid_esms_doc"]
#: eSMS's callback page as the user gave it (a byte-for-byte copy; see tests/fixtures/seeds/README.md).
SEED_002 = pathlib.Path(__file__).parents[2] / "fixtures" / "seeds" / "002_aff30b6445537464.txt"

LAYOUT_BY_SAMPLE = {
    "care_sms": callback.Layout.CARE,
    "advertising": callback.Layout.ADVERTISING,
    "zns_failed": callback.Layout.ZNS_PHONE,
    "viber": callback.Layout.VIBER,
    "oa_consulting": callback.Layout.OA,
    "oa_transaction": callback.Layout.OA,
    "oa_info_request": callback.Layout.OA,
    "zns_journey": callback.Layout.OA,
    "zns_uid_esms_doc": callback.Layout.ZNS_UID,
}


def _decode_error_info(wire: str, layout: callback.Layout) -> str:
    """Rebuild `error_info` from its decoded value: decode the wire form fully, then encode it again."""
    if layout is callback.Layout.OA:
        text = urllib.parse.unquote(urllib.parse.unquote(wire))
        body, stamp = text.split("____")
        at = dt.datetime.strptime(stamp, "%d/%m/%Y %H:%M:%S").replace(tzinfo=vntime.VN)
        return errorinfo.form_b(json.loads(body), at.astimezone(dt.UTC))
    decoded = json.loads(urllib.parse.unquote(wire))
    if isinstance(decoded, str):  # form A: a JSON string literal around the JSON
        return errorinfo.form_a(json.loads(decoded))
    return errorinfo.form_c(decoded)


@pytest.mark.parametrize("name", ALL_SAMPLES)
def test_sample_rebuilt_from_its_decoded_values(name):
    wire = factories.golden(name)
    # The raw error_info is taken apart separately: parse_qsl would decode it only once.
    raw = dict(part.split("=", 1) for part in wire.split("&"))
    values = {key: urllib.parse.unquote(value) for key, value in raw.items()}
    layout = LAYOUT_BY_SAMPLE[name]
    fields = callback.Fields(
        layout=layout,
        sms_id=values["SMSID"],
        send_failed=int(values["SendFailed"]),
        send_status=int(values["SendStatus"]),
        send_success=int(values["SendSuccess"]),
        total_price=Decimal(values["TotalPrice"]),
        total_receiver=int(values["TotalReceiver"]),
        total_sent=int(values["TotalSent"]),
        request_id=values["RequestId"],
        type_id=int(values["TypeId"]),
        telco_id=values.get("telcoid", ""),
        phone_number=values.get("phonenumber", ""),
        partner_ids=values.get("partnerids", ""),
        error_info=_decode_error_info(raw["error_info"], layout) if "error_info" in raw else "",
        oa_id=values.get("oaid", ""),
        template_id=values.get("tempid", ""),
        switch_sms_id=values.get("switchsmsid", ""),
    )
    assert callback.query(fields) == wire


def _render(message: models.Message, event: models.StatusEvent) -> str:
    # The account asked for the second, delivered callback (off by default), so the Zalo UID sample can render.
    account = factories.account(esms_delivered_callback=True)
    requests = callback.render(rendering.RenderContext(event=event, account=account, message=message))
    assert len(requests) == 1
    assert requests[0].method == "GET"
    base, query = requests[0].url.split("?", 1)
    assert base == message.callback_url
    return query


def test_render_zns_failed_by_phone_matches_seed():
    message = factories.message(
        id="f66545d2-c7e2-4603-984e-d2238c363c8292",
        state=models.MessageState.FAILED,
        telco_id=2,
        recipient="0901888484",
        oa_id="1397492183140006179",
        template_id="2056446",
    )
    zalo = {
        "error": -114,
        "message": "User is inactive, or reject the message, or using an outdated Zalo version, "
        "or other internal errors",
    }
    event = factories.event(models.EventKind.FAILED, code=-114, text=zalo["message"], zalo_res=zalo)
    assert _render(message, event) == factories.golden("zns_failed")


def test_render_viber_success_matches_seed():
    message = factories.message(
        id="849fe08c19294b02857cf91687021a50250",
        type_id=23,
        state=models.MessageState.SUCCESS,
        price=Decimal(470),
        oa_id=None,
        template_id=None,
    )
    assert _render(message, factories.event(models.EventKind.SUCCESS)) == factories.golden("viber")


@pytest.mark.parametrize(
    ("name", "sms_id", "type_id", "price", "msg_id", "stamp"),
    [
        ("oa_consulting", "7d11c87a22934df390f73ec59d8defd6205", 26, 60, "e1a60e8890be9de4c4ab", (16, 58, 1)),
        ("oa_transaction", "53dbbc6e816f4159a9035a14a787e08f172", 26, 60, "f405841b5f2352790b36", (17, 7, 1)),
    ],
)
def test_render_oa_message_success_matches_seed(name, sms_id, type_id, price, msg_id, stamp):
    message = factories.message(
        id=sms_id,
        type_id=type_id,
        state=models.MessageState.SUCCESS,
        price=Decimal(price),
        recipient="312158068343230",
        recipient_kind="user_id",
        oa_id="4097311281936189049",
        template_id=None,
        telco_id=None,
        zalo_msg_id=msg_id,
    )
    zalo = {"data": {"message_id": msg_id, "user_id": "31215806834323092"}, "error": 0, "message": "Success"}
    hour, minute, second = stamp
    at = dt.datetime(2024, 4, 24, hour, minute, second, tzinfo=vntime.VN)
    event = factories.event(models.EventKind.SUCCESS, zalo_res=zalo, occurred_at=at)
    assert _render(message, event) == factories.golden(name)


def test_render_journey_matches_seed_including_its_mismatched_partnerids():
    message = factories.message(
        id="7d11c87a22934df390f73ec59d8defd6205",
        type_id=27,
        state=models.MessageState.SUCCESS,
        price=Decimal(220),
        recipient="312158068343230",
        oa_id="4097311281936189049",
        telco_id=None,
        zalo_msg_id="e1a60e8890be9derir3gfbff",
    )
    zalo = {
        "data": {"message_id": "e1a60e8890be9de4c4ab", "user_id": "31215806834323092"},
        "error": 0,
        "message": "Success",
    }
    at = dt.datetime(2024, 4, 24, 16, 58, 1, tzinfo=vntime.VN)
    event = factories.event(models.EventKind.SUCCESS, zalo_res=zalo, occurred_at=at)
    assert _render(message, event) == factories.golden("zns_journey")


def test_render_delivered_by_zalo_uid_matches_esms_sample():
    message = factories.message(
        id="5450d5579bfa466a9f2a5911c82f4037",
        state=models.MessageState.DELIVERED,
        price=Decimal(2104),
        recipient="5308693166941955879",
        recipient_kind="zalo_uid",
        telco_id=None,
        oa_id="3639635426588416370",
        template_id="523194",
        zalo_msg_id="416f53d0cf0ec7569e19",
    )
    status = {
        "error": 0,
        "message": "Success",
        "data": {
            "delivery_time": None,
            "message": "The message was delivered to the user's phone",
            "status": 1,
        },
    }
    event = factories.event(models.EventKind.DELIVERED, zalo_res=status)
    assert _render(message, event) == factories.golden("zns_uid_esms_doc")


def test_golden_files_are_the_seed_bytes():
    text = SEED_002.read_bytes().decode("utf-8")
    for name in SEED_SAMPLES:
        assert "?" + factories.golden(name) + "'" in text


def test_fields_are_frozen():
    fields = callback.Fields(
        layout=callback.Layout.ADVERTISING,
        sms_id="x",
        send_failed=0,
        send_status=5,
        send_success=1,
        total_price=Decimal(0),
        total_receiver=1,
        total_sent=1,
        request_id="",
        type_id=1,
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        fields.sms_id = "y"  # type: ignore[misc]


# What dlrhub itself gets to send for TypeId 26/27: no sample shows these exact values, so each is the form B
# sample with only the values changed (DECISIONS › How is `error_info` encoded?, › Zalo never answered the send).
_STAMP = "____24%2F04%2F2024%252016%3A58%3A01"
_JOURNEY_HEAD = (
    "SMSID=7d11c87a22934df390f73ec59d8defd6205&SendFailed=0&SendStatus=5&SendSuccess=1&TotalPrice=220.0000"
    "&TotalReceiver=1&TotalSent=1&RequestId=&TypeId=27&phonenumber=0901888484"
)
_NO_USER_ID = (
    "error_info=%257B%2522data%2522%3A%257B%2522message_id%2522%3A%2522e1a60e8890be9de4c4ab%2522%2C"
    "%2522user_id%2522%3A%2522%2522%257D%2C%2522error%2522%3A0%2C%2522message%2522%3A%2522Success%2522%257D"
)


def _journey_by_phone(**changes):
    base = {
        "id": "7d11c87a22934df390f73ec59d8defd6205",
        "type_id": 27,
        "state": models.MessageState.SUCCESS,
        "price": Decimal(220),
        "oa_id": "4097311281936189049",
        "zalo_msg_id": "e1a60e8890be9de4c4ab",
        "journey_id": "J-9",
    }
    return factories.message(**{**base, **changes})


_AT = dt.datetime(2024, 4, 24, 16, 58, 1, tzinfo=vntime.VN)


def test_render_v4_journey_sent_by_the_channel_reshapes_zalos_zns_answer_as_the_samples():
    # Zalo's ZNS send API answers {error, message, data: {msg_id, sent_time, quota}}; eSMS shows the journey as
    # the samples do, and a send by phone has no Zalo user id.
    zns = {
        "error": 0,
        "message": "Success",
        "data": {
            "msg_id": "e1a60e8890be9de4c4ab",
            "sent_time": "1713952681000",
            "quota": {"dailyQuota": "500"},
        },
    }
    event = factories.event(
        models.EventKind.SUCCESS, text="Successfully sent.", zalo_res=zns, occurred_at=_AT
    )
    assert _render(_journey_by_phone(), event) == (
        f"{_JOURNEY_HEAD}&{_NO_USER_ID}{_STAMP}&oaid=4097311281936189049&partnerids=e1a60e8890be9de4c4ab"
    )


def test_render_engine_success_without_text_says_success():
    # What `/v1/events` makes of an engine's success that names a Zalo msg id and gives no text or answer.
    made = {"error": 0, "message": None, "data": {"msg_id": "e1a60e8890be9de4c4ab"}}
    event = factories.event(models.EventKind.SUCCESS, zalo_res=made, occurred_at=_AT)
    assert _render(_journey_by_phone(), event) == (
        f"{_JOURNEY_HEAD}&{_NO_USER_ID}{_STAMP}&oaid=4097311281936189049&partnerids=e1a60e8890be9de4c4ab"
    )


_TIMEOUT = {"sysMsg": "Zalo engine api timeout", "cusMsg": "Zalo engine api timeout"} | dict.fromkeys(
    ("error", "message", "data")
)


def test_render_zalo_never_answered_a_journey():
    message = _journey_by_phone(state=models.MessageState.FAILED, zalo_msg_id=None)
    event = factories.event(
        models.EventKind.FAILED,
        code=17005,
        text="Zalo engine api timeout",
        zalo_res=_TIMEOUT,
        occurred_at=_AT,
    )
    assert _render(message, event) == (
        "SMSID=7d11c87a22934df390f73ec59d8defd6205&SendFailed=1&SendStatus=5&SendSuccess=0&TotalPrice=0.0000"
        "&TotalReceiver=1&TotalSent=0&RequestId=&TypeId=27&phonenumber=0901888484"
        "&error_info=%257B%2522error%2522%3A17005%2C%2522message%2522%3A%2522Zalo%2520engine%2520api%2520timeout"
        f"%2522%257D{_STAMP}&oaid=4097311281936189049&partnerids="
    )


def test_render_zalo_never_answered_a_zns_by_phone():
    message = factories.message(state=models.MessageState.FAILED)
    event = factories.event(
        models.EventKind.FAILED, code=17005, text="Zalo engine api timeout", zalo_res=_TIMEOUT
    )
    assert _render(message, event) == (
        "SMSID=f66545d2-c7e2-4603-984e-d2238c363c8292&SendFailed=1&SendStatus=5&SendSuccess=0"
        "&TotalPrice=0.0000&TotalReceiver=1&TotalSent=0&RequestId=&TypeId=25&telcoid=2&phonenumber=0901888484"
        "&partnerids=&error_info=%22{%5C%22error%5C%22%3A17005%2C%5C%22message%5C%22%3A%5C%22Zalo%20engine"
        "%20api%20timeout%5C%22}%22&oaid=1397492183140006179&tempid=2056446"
    )


@pytest.mark.parametrize("type_id", [25, 27])
def test_get_callback_error_info_when_zalo_never_answered(type_id):
    message = factories.message(
        type_id=type_id, state=models.MessageState.FAILED, code=17005, text="Zalo engine api timeout"
    )
    record = pull.callback_record(dataclasses.replace(message, zalo_res=_TIMEOUT))
    assert record["ErrorInfo"] == '{"error":17005,"message":"Zalo engine api timeout"}'


def test_get_callback_error_info_of_a_sent_journey_is_the_samples_json():
    zns = {"error": 0, "message": "Success", "data": {"msg_id": "e1a60e8890be9de4c4ab", "sent_time": "1"}}
    record = pull.callback_record(_journey_by_phone(code=0, zalo_res=zns))
    assert record["ErrorInfo"] == (
        '{"data":{"message_id":"e1a60e8890be9de4c4ab","user_id":""},"error":0,"message":"Success"}'
    )
