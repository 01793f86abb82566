"""GetCallback and the eSMS status APIs over HTTP, on each backend, with the TPS limit in memory and in Redis."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import orjson
import pytest

from dlrhub import store
from dlrhub.core import models
from dlrhub.services import events
from tests import customers
from tests.customers import Customer
from tests.integration.esms.conftest import SEND, limit_config, until_limited

GET_CALLBACK = "/ZaloCallback/GetCallback"


async def send(customer: Customer, **changes) -> str:
    r = await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(**changes))
    assert r.json()["CodeResult"] == "100", r.text
    sms_id: str = r.json()["SMSID"]
    return sms_id


async def apply(customer: Customer, sms_id: str, kind: models.EventKind, **fields) -> None:
    event = models.StatusEvent(
        id=f"{sms_id}:{kind.value}",
        kind=kind,
        occurred_at=dt.datetime(2024, 4, 24, 9, 58, 1, tzinfo=dt.UTC),
        message_id=sms_id,
        **fields,
    )
    await events.apply(customer.hub, event, customer.new.account)


async def get_callback(customer: Customer, ids, **extra):
    return await customer.post(GET_CALLBACK, {**customer.creds, "ListRefid": ids, **extra})


async def test_get_callback_shows_latest_state_in_order(customer: Customer):
    a = await send(customer)
    b = await send(customer)
    zalo = {"error": 0, "message": "Success", "data": {"msg_id": "zm-b"}}
    # The channel worker records Zalo's msg id on the message; here the event carries it in zalo_res.
    await apply(customer, b, models.EventKind.SUCCESS, code=0, zalo_res=zalo)
    r = await get_callback(customer, [b, "unknown", a], OAId=customer.oa_id)
    assert r.status_code == 200
    body = r.json()
    assert (body["Code"], body["Message"]) == (100, "Success")
    records = body["Data_callback"]
    assert [rec["SMSID"] for rec in records] == [b, a]
    assert records[0]["SendStatus"] == 5
    assert records[0]["SendSuccess"] == 1
    assert records[0]["TotalPrice"] == 300.0
    assert records[0]["ErrorInfo"] == '{"error":0,"message":"Success"}'
    assert records[1]["SendStatus"] == 2
    assert records[1]["ErrorInfo"] is None
    assert records[1]["CallbackUrl"] == "https://customer.example/esms"


async def test_only_messages_sent_with_a_callback_url(customer: Customer):
    with_url = await send(customer)
    without = await send(customer, CallbackUrl=...)
    records = (await get_callback(customer, [with_url, without])).json()["Data_callback"]
    assert [rec["SMSID"] for rec in records] == [with_url]


async def test_first_200_ids_only(customer: Customer):
    late = await send(customer)
    early = await send(customer)
    ids = [early] + [f"x{i}" for i in range(199)] + [late] + [f"y{i}" for i in range(9_800)]
    records = (await get_callback(customer, ids)).json()["Data_callback"]
    assert [rec["SMSID"] for rec in records] == [early]


async def test_oa_filter_and_unknown_oa(customer: Customer, db: store.Store):
    sms_id = await send(customer)
    assert (await get_callback(customer, [sms_id], OAId="123")).json() == {
        "Code": 204,
        "Message": "OAID does not exist",
    }
    assert (await get_callback(customer, [sms_id], OAId=customer.oa_id)).json()["Data_callback"][0][
        "SMSID"
    ] == sms_id


async def test_other_accounts_messages_are_invisible(customer: Customer, db: store.Store):
    sms_id = await send(customer)
    other = await customers.in_process(db)
    try:
        assert (await get_callback(other, [sms_id])).json()["Data_callback"] == []
    finally:
        await other.aclose()


async def test_wrong_keys_are_101(customer: Customer):
    r = await customer.post(GET_CALLBACK, {"ApiKey": "x", "SecretKey": "y", "ListRefid": []})
    assert r.content == b'{"Code":101,"Message":"Authorize Failed"}'


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"nope",
        b"[]",
        b'{"ApiKey":1}',
        b'{"ListRefid":"\\ud800"}',
        b"{" * 50_000,
        '{"ApiKey":"☃","SecretKey":"𝔘"}'.encode(),
    ],
)
async def test_get_callback_bad_input_never_500(customer: Customer, raw):
    r = await customer.post(GET_CALLBACK, raw)
    assert r.status_code == 200
    assert r.json()["Code"] in {101, 110}


async def test_get_callback_wrong_types_with_good_keys(customer: Customer):
    for bad in ({"ListRefid": 5}, {"ListRefid": [{"a": 1}]}, {"OAId": ["x"]}, {"ListRefid": ["x" * 100]}):
        r = await customer.post(GET_CALLBACK, {**customer.creds, **bad})
        assert r.status_code == 200
        assert r.json()["Code"] == 110


async def test_get_callback_10_mb_body_is_110(customer: Customer):
    raw = b'{"ListRefid":["' + b"a" * (10 * 1024 * 1024) + b'"]}'
    r = await customer.post(GET_CALLBACK, raw)
    assert (r.status_code, r.json()["Code"]) == (200, 110)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_over_the_tps_limit_is_429(db: store.Store, backend):
    customer = await customers.in_process(db, await limit_config(backend, esms_getcallback_tps=1))
    try:
        answers = await until_limited(lambda: get_callback(customer, []))
        assert [a.status_code for a in answers[:-1]] == [200] * (len(answers) - 1)
        limited = answers[-1]
        assert limited.status_code == 429, [a.status_code for a in answers]
        assert limited.content == b'{"Code":160,"Message":"TPS exceeded"}'
        assert limited.headers["retry-after"] == "1"
    finally:
        await customer.aclose()


async def test_tps_is_per_account(db: store.Store):
    one = await customers.in_process(db, {"esms_getcallback_tps": 1})
    try:
        assert (await until_limited(lambda: get_callback(one, [])))[-1].status_code == 429
        # Another account of the same app is not limited by the first one's burst.
        from dlrhub.services import accounts

        two_new = await accounts.create(one.hub, "other")
        creds = {"ApiKey": two_new.account.esms_api_key, "SecretKey": two_new.account.esms_secret_key}
        r = await one.post(GET_CALLBACK, {**creds, "ListRefid": []})
        assert r.status_code == 200
    finally:
        await one.aclose()


async def test_get_send_status(customer: Customer):
    sms_id = await send(customer)
    await apply(
        customer, sms_id, models.EventKind.SUCCESS, code=0, zalo_res={"error": 0, "message": "Success"}
    )
    q = {**customer.creds, "RefId": sms_id}
    r = await customer.http.get(SEND + "GetSendStatus", params=q)
    assert r.status_code == 200
    assert r.content == (
        b'{"CodeResponse":"100","SMSID":"'
        + sms_id.encode()
        + b'","SendFailed":0,"SendStatus":5,"SendSuccess":1,'
        b'"TotalPrice":300.0000,"TotalReceiver":1,"TotalSent":1}'
    )
    r = await customer.http.get(SEND + "GetSendStatus", params={**customer.creds, "RefId": "nope"})
    assert r.json()["CodeResponse"] == "105"
    r = await customer.http.get(SEND + "GetSendStatus", params={"RefId": sms_id, "ApiKey": "☃"})
    assert r.json()["CodeResponse"] == "101"


async def test_query_zns_status(customer: Customer):
    sms_id = await send(customer)
    await apply(
        customer, sms_id, models.EventKind.FAILED, code=-118, zalo_res={"error": -118, "message": "x"}
    )
    r = await customer.post(SEND + "QueryZnsStatus/", {**customer.creds, "SmsId": sms_id, "SmsType": "25"})
    data = r.json()["Data"]
    assert r.json()["CodeResult"] == "100"
    assert (data["ErrorInfo"], data["FinalStatus"], data["SendFailed"], data["TotalPrice"]) == (
        "-118",
        "1",
        1,
        0.0,
    )
    r = await customer.post(SEND + "QueryZnsStatus/", {**customer.creds})
    assert r.json()["CodeResult"] == "851"


async def test_get_zalo_message_status(customer: Customer, db: store.Store):
    sms_id = await send(customer)
    message = await db.get_message(sms_id)
    assert message.zalo_msg_id is None
    r = await customer.post(
        SEND + "GetZaloMessageStatus", {**customer.creds, "OAID": customer.oa_id, "MessageId": "zm-unknown"}
    )
    assert r.json()["CodeResult"] == "854"
    r = await customer.post(SEND + "GetZaloMessageStatus", {**customer.creds, "OAID": "1", "MessageId": "zm"})
    assert r.json()["CodeResult"] == "204"


async def test_get_zalo_message_status_found(customer: Customer):
    zalo_id = uuid.uuid4().hex[:20]
    await events.ingest_external(
        customer.hub,
        events.ExternalEvent(
            event_id="e1",
            message_id="ext-1",
            account_id=customer.new.account.id,
            kind=models.EventKind.DELIVERED,
            type_id=25,
            dialect=models.Dialect.ESMS,
            occurred_at=dt.datetime(2026, 1, 6, 5, 40, 30, 984000, tzinfo=dt.UTC),
            oa_id=customer.oa_id,
            zalo_msg_id=zalo_id,
            price=Decimal(300),
        ),
    )
    r = await customer.post(
        SEND + "GetZaloMessageStatus", {**customer.creds, "OAID": customer.oa_id, "MessageId": zalo_id}
    )
    body = r.json()
    assert body["CodeResult"] == "100"
    assert body["ErrorMessage"] == "success. "
    assert body["Data"]["status"] == 1
    assert body["Data"]["message"] == "The message was delivered to the user's phone"


async def test_get_balance(customer: Customer):
    r = await customer.post(SEND + "GetBalance_json", customer.creds)
    body = orjson.loads(r.content)
    assert list(body) == ["Balance", "CodeResponse", "UserID"]
    assert body["Balance"] == 1_000_000
    assert body["CodeResponse"] == "100"
    r = await customer.post(SEND + "GetBalance_json", {"ApiKey": "x", "SecretKey": "y"})
    assert r.content == b'{"Balance":0,"CodeResponse":"101","ErrorMessage":"Authorize Failed"}'


@pytest.mark.parametrize("path", ["QueryZnsStatus/", "GetZaloMessageStatus", "GetBalance_json"])
@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b'{"ApiKey":{"a":1}}', b'{"ApiKey":"\\u0000"}'])
async def test_status_apis_bad_input_never_500(customer: Customer, path, raw):
    r = await customer.post(SEND + path, raw)
    assert r.status_code == 200
    body = r.json()
    assert (body.get("CodeResult") or body.get("CodeResponse")) in {"101", "110"}


async def test_status_apis_10_mb_body(customer: Customer):
    for path in ("QueryZnsStatus/", "GetZaloMessageStatus", "GetBalance_json"):
        r = await customer.post(SEND + path, b'{"a":"' + b"x" * (10 * 1024 * 1024) + b'"}')
        body = r.json()
        assert (body.get("CodeResult") or body.get("CodeResponse")) == "110"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "RefId=",
        "RefId=" + "x" * 10_000,
        "RefId=%00&ApiKey=%00&SecretKey=%00",
        "RefId=%F0%9D%94%98&ApiKey=%E2%98%83&SecretKey=%FF%FE",
        "RefId=a&RefId=b&ApiKey=k&ApiKey=l",
        "apikey=%ED%A0%80&secretkey=x&refid=y",
    ],
)
async def test_get_send_status_hostile_query_never_500(customer: Customer, query):
    r = await customer.http.get(SEND + "GetSendStatus?" + query)
    assert r.status_code == 200
    assert r.json()["CodeResponse"] in {"101", "105", "110"}
