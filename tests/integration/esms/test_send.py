"""The eSMS send front doors over HTTP, on each backend: every variant, sandbox, duplicates, stored-record codes."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import orjson
import pytest

from dlrhub.core import errors, models
from dlrhub.dialects.esms import requests
from dlrhub.store.sqlite import core as sqlite_core
from tests.customers import Customer
from tests.integration.esms.conftest import SEND


def ok_id(response) -> str:
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["CodeResult", "CountRegenerate", "SMSID"], body
    assert body["CodeResult"] == "100"
    assert body["CountRegenerate"] == 0
    sms_id: str = body["SMSID"]
    return sms_id


def code(response) -> str:
    assert response.status_code == 200, response.text
    result: str = response.json()["CodeResult"]
    return result


async def test_v6_send_is_stored_charged_and_queued(customer: Customer):
    r = await customer.post(
        SEND + "SendZaloMessage_V6/", customer.zns(RequestId="r-1", campaignid="Xác nhận")
    )
    sms_id = ok_id(r)
    message = await customer.hub.store.get_message(sms_id)
    assert message.dialect is models.Dialect.ESMS
    assert (message.type_id, message.recipient, message.recipient_kind) == (25, "0901888484", "phone")
    assert (message.oa_id, message.template_id, message.request_id) == (customer.oa_id, "100001", "r-1")
    assert message.template_data == {"customer_name": "Đinh Thái Hà", "order_code": "HD00001"}
    assert message.callback_url == "https://customer.example/esms"
    assert message.price == Decimal("300")
    assert message.telco_id == 2
    assert message.state is models.MessageState.ACCEPTED
    assert [e.kind for e in await customer.hub.store.list_events(sms_id)] == [models.EventKind.ACCEPTED]
    account = await customer.hub.store.get_account(customer.new.account.id)
    assert account.balance == customer.new.account.balance - Decimal("300")


@pytest.mark.parametrize(
    ("path", "changes", "kind", "type_id"),
    [
        ("SendZaloMessage_V5_post/", {"TempData": [{"key": "a", "value": "1"}]}, "phone", 25),
        ("SendZaloMessage_V4_post_json/", {"TempData": ..., "Params": ["x", "y"]}, "phone", 25),
        (
            "SendZaloMessage_V4_post_json/",
            {"TempData": ..., "Params": ["x"], "IsJourney": True, "OrderId": "J-9"},
            "phone",
            27,
        ),
        ("SendZaloMessage_V6/hash_phone/", {"Phone": ..., "HashPhone": "ab" * 32}, "hash_phone", 25),
        ("SendZaloMessage_V6/zalo_uid/", {"Phone": ..., "ZaloUid": "5308693166941955879"}, "zalo_uid", 25),
        ("SendZaloMessage_V6", {}, "phone", 25),
    ],
)
async def test_every_variant(customer: Customer, path, changes, kind, type_id):
    sms_id = ok_id(await customer.post(SEND + path, customer.zns(**changes)))
    message = await customer.hub.store.get_message(sms_id)
    assert (message.recipient_kind, message.type_id) == (kind, type_id)
    if type_id == 27:
        assert message.journey_id == "J-9"


async def test_sandbox_is_answered_but_not_stored_or_charged(customer: Customer):
    sms_id = ok_id(
        await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(Sandbox="1", RequestId="r"))
    )
    with pytest.raises(errors.UnknownMessage):
        await customer.hub.store.get_message(sms_id)
    account = await customer.hub.store.get_account(customer.new.account.id)
    assert account.balance == customer.new.account.balance
    # The sandbox RequestId was not recorded: a real send with it is accepted.
    ok_id(await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(RequestId="r")))


async def test_duplicate_request_id_is_124_and_the_original_is_untouched(customer: Customer):
    first = ok_id(await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(RequestId="dup")))
    before = await customer.hub.store.get_message(first)
    again = await customer.post(
        SEND + "SendZaloMessage_V6/", customer.zns(RequestId="dup", Phone="0961234567")
    )
    assert again.status_code == 200
    assert again.content == (
        b'{"CodeResult":"124","CountRegenerate":0,"ErrorMessage":"Request exist 1","SendStatus":"5"}'
    )
    assert await customer.hub.store.get_message(first) == before
    account = await customer.hub.store.get_account(customer.new.account.id)
    assert account.balance == customer.new.account.balance - Decimal("300")


async def test_wrong_secret_is_101_exactly(customer: Customer):
    r = await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(SecretKey="nope"))
    assert r.content == b'{"CodeResult":"101","CountRegenerate":0,"ErrorMessage":"Authorize Failed"}'


async def test_stored_record_codes(customer: Customer):
    path = SEND + "SendZaloMessage_V6/"
    assert code(await customer.post(path, customer.zns(TempID="999"))) == "789"
    assert code(await customer.post(path, customer.zns(OAID="1234"))) == "799"
    assert code(await customer.post(path, customer.zns(SendingMode="3"))) == "802"
    assert (
        code(await customer.post(path, customer.zns(SendingMode="3", SendDate="2030-01-01 08:00:00")))
        == "801"
    )
    assert code(await customer.post(path, customer.zns(OAID=...))) == "791"


async def test_locked_account_is_143(customer: Customer, db):
    locked = dataclasses.replace(
        customer.new.account,
        id="acc_locked",
        status=models.AccountStatus.LOCKED,
        esms_api_key="LOCKEDKEY",
        nx_access_key="lockednx",
    )
    await db.create_account(locked, [])
    body = customer.zns(ApiKey="LOCKEDKEY")
    assert code(await customer.post(SEND + "SendZaloMessage_V6/", body)) == "143"


async def test_insufficient_balance_is_103(customer: Customer, db):
    poor = dataclasses.replace(
        customer.new.account,
        id="acc_poor",
        balance=Decimal(10),
        esms_api_key="POORKEY",
        nx_access_key="poornx",
    )
    await db.create_account(poor, [])
    await db.put_oa(dataclasses.replace(customer.new.oa, oa_id="9999", account_id="acc_poor"))
    body = customer.zns(ApiKey="POORKEY", OAID="9999")
    assert code(await customer.post(SEND + "SendZaloMessage_V6/", body)) == "103"


async def test_scheduled_send_keeps_its_time(customer: Customer):
    sms_id = ok_id(
        await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(SendDate="2030-01-01 07:00:00"))
    )
    message = await customer.hub.store.get_message(sms_id)
    assert message.send_at is not None
    assert message.send_at.isoformat() == "2030-01-01T00:00:00+00:00"


@pytest.mark.parametrize("variant", list(requests.Variant))
@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"just a string"',
        b"\xff\xfe\x00garbage",
        b'{"ApiKey": 5, "SecretKey": ["x"]}',
        b'{"ApiKey": "\\ud800", "SecretKey": "\\u0000"}',
        b"{" * 50_000,
        orjson.dumps({"ApiKey": "k" * 10_000, "SecretKey": "s"}),
        orjson.dumps({"x": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃ \u202e"}),
    ],
)
async def test_bad_input_gets_a_documented_code_never_500(customer: Customer, variant, raw):
    r = await customer.post(SEND + variant.value, raw)
    assert r.status_code == 200
    body = r.json()
    assert body["CodeResult"] in {"101", "110"}
    assert body["CountRegenerate"] == 0
    assert isinstance(body["ErrorMessage"], str)


@pytest.mark.parametrize("variant", list(requests.Variant))
async def test_wrong_types_with_good_credentials(customer: Customer, variant):
    bad = customer.zns(Phone=["0901888484"], HashPhone=5, ZaloUid={"a": 1}, OAID=True, TempData="x", Params=7)
    r = await customer.post(SEND + variant.value, bad)
    assert r.status_code == 200
    assert r.json()["CodeResult"] in {"108", "110", "115", "852", "853", "791"}


@pytest.mark.parametrize("variant", list(requests.Variant))
async def test_ten_megabyte_body_is_110(customer: Customer, variant):
    raw = b'{"ApiKey":"' + b"k" * (10 * 1024 * 1024) + b'"}'
    r = await customer.post(SEND + variant.value, raw)
    assert r.status_code == 200
    assert r.json()["CodeResult"] == "110"


async def test_unicode_values_are_stored_intact(customer: Customer):
    data = {"tên": "Đinh Thái Hà 😀", "note": "ừ \u202e"}
    sms_id = ok_id(
        await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(TempData=data, RequestId="đơn-1"))
    )
    message = await customer.hub.store.get_message(sms_id)
    assert message.template_data == data
    assert message.request_id == "đơn-1"


async def test_campaignid_is_stored_and_shown_by_the_native_api(customer: Customer):
    sms_id = ok_id(await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(campaignid="Tết 2025")))
    assert (await customer.hub.store.get_message(sms_id)).campaign_id == "Tết 2025"
    assert (await customer.native(sms_id))["campaign_id"] == "Tết 2025"
    other = ok_id(await customer.post(SEND + "SendZaloMessage_V6/", customer.zns()))
    assert (await customer.hub.store.get_message(other)).campaign_id is None


async def test_a_balance_topped_up_since_the_lookup_is_honoured_at_once(customer: Customer, db):
    poor = dataclasses.replace(
        customer.new.account,
        id="acc_topped",
        balance=Decimal(10),
        esms_api_key="TOPPEDKEY",
        nx_access_key="toppednx",
    )
    await db.create_account(poor, [])
    await db.put_oa(dataclasses.replace(customer.new.oa, oa_id="9998", account_id="acc_topped"))
    body = customer.zns(ApiKey="TOPPEDKEY", OAID="9998")
    assert code(await customer.post(SEND + "SendZaloMessage_V6/", body)) == "103"  # the account is now cached
    if isinstance(db, sqlite_core.SqliteCore):
        await db._tx(
            lambda conn: conn.execute("UPDATE accounts SET balance = '1000' WHERE id = 'acc_topped'")
        )
    else:
        await (await db.pool()).execute("UPDATE accounts SET balance = 1000 WHERE id = 'acc_topped'")
    assert code(await customer.post(SEND + "SendZaloMessage_V6/", body)) == "100"
