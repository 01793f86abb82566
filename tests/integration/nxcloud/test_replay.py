"""A signed request is taken once (issue 11): a replay within its window, through any API process sharing the
store, and a request with a repeated authentication header are refused; on both backends."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import httpx
import orjson
import pytest

from dlrhub import settings, store
from dlrhub.api import app as app_
from dlrhub.dialects.nxcloud import codes, signing
from dlrhub.services import hub as hub_
from tests.customers import ADMIN, Customer
from tests.integration.nxcloud.conftest import mt_body, new_customer

MT = "/v1/zalo/mt"
T0 = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


def _signed(customer: Customer, body: bytes, later_ms: int = 0) -> dict[str, str]:
    account = customer.new.account
    ts_ms = int(customer.hub.clock().timestamp() * 1000) + later_ms
    return signing.sign_headers(account.nx_access_key, account.nx_access_secret, body, ts_ms=ts_ms)


def _mt(customer: Customer) -> bytes:
    return orjson.dumps({"appkey": customer.appkey} | mt_body())


async def _post(http: httpx.AsyncClient, raw: bytes, headers: dict[str, str] | list[tuple[str, str]]) -> int:
    response = await http.post(MT, content=raw, headers=headers)
    assert response.status_code == 200, response.text
    code: int = response.json()["code"]
    return code


async def _spent(customer: Customer) -> Decimal:
    """What the customer's sends were charged: each accepted message costs the app's quotation once."""
    return Decimal("1000") - (await customer.hub.store.get_account(customer.new.account.id)).balance


async def test_a_replayed_mt_is_refused_through_another_api_process(customer: Customer, db_url: str):
    raw = _mt(customer)
    headers = _signed(customer, raw)
    assert await _post(customer.http, raw, headers) == 0
    # Another API process: its own store connection and app over the same database.
    other_store = store.from_url(db_url)
    other_hub = hub_.Hub(settings=settings.Settings(admin_token=ADMIN), store=other_store)
    transport = httpx.ASGITransport(app=app_.create_app(other_hub))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as other:
            assert await _post(other, raw, headers) == codes.Code.INVALID_SIGNATURE
    finally:
        await other_store.close()
    assert await _post(customer.http, raw, headers) == codes.Code.INVALID_SIGNATURE
    assert await _spent(customer) == Decimal("0.0125")
    # Signed afresh (a new `ts`), the same body is a new request.
    assert await _post(customer.http, raw, _signed(customer, raw, later_ms=1)) == 0
    assert await _spent(customer) == Decimal("0.025")


async def test_a_refused_request_takes_its_signature_too(customer: Customer):
    broke = await new_customer(customer, balance=Decimal("0"), quotation=Decimal("1"))
    raw = _mt(broke)
    headers = _signed(broke, raw)
    assert await _post(broke.http, raw, headers) == codes.Code.INSUFFICIENT_BALANCE
    assert await _post(broke.http, raw, headers) == codes.Code.INVALID_SIGNATURE


async def test_a_request_refused_before_its_send_takes_its_signature_too(customer: Customer):
    raw = orjson.dumps({"appkey": customer.appkey} | mt_body() | {"phone": ""})
    headers = _signed(customer, raw)
    assert await _post(customer.http, raw, headers) == codes.Code.PHONE_ERROR
    assert await _post(customer.http, raw, headers) == codes.Code.INVALID_SIGNATURE


async def test_an_accepted_send_takes_its_signature_with_its_batch(
    customer: Customer, monkeypatch: pytest.MonkeyPatch
):
    """No take of its own: the signature goes in the send's batch (one statement on PostgreSQL)."""

    async def no_take(*args: object) -> bool:
        raise AssertionError("the send took its signature on its own")

    raw = _mt(customer)
    headers = _signed(customer, raw)
    monkeypatch.setattr(customer.hub.store, "take_signature", no_take)
    assert await _post(customer.http, raw, headers) == 0
    monkeypatch.undo()
    assert await _post(customer.http, raw, headers) == codes.Code.INVALID_SIGNATURE
    assert await _spent(customer) == Decimal("0.0125")


async def test_one_request_sent_twice_at_once_is_sent_once(customer: Customer):
    raw = _mt(customer)
    headers = _signed(customer, raw)
    answers = await asyncio.gather(*(_post(customer.http, raw, headers) for _ in range(3)))
    assert sorted(answers) == [0, codes.Code.INVALID_SIGNATURE, codes.Code.INVALID_SIGNATURE]
    assert await _spent(customer) == Decimal("0.0125")


async def test_a_bad_signature_takes_nothing(customer: Customer):
    raw = _mt(customer)
    headers = _signed(customer, raw)
    wrong = headers | {"sign": "0" * 32}
    assert await _post(customer.http, raw, wrong) == codes.Code.INVALID_SIGNATURE
    assert await _post(customer.http, raw, headers) == 0


@pytest.mark.parametrize("name", ["sign", "accessKey", "ts", "bizType", "action", "algorithm"])
@pytest.mark.parametrize("right_first", [False, True])
async def test_a_repeated_auth_header_is_1002(customer: Customer, name: str, right_first: bool):
    raw = _mt(customer)
    headers = _signed(customer, raw)
    right = headers.get(name, "md5")
    wrong = {"sign": "0" * 32, "accessKey": "nobody", "ts": "1", "bizType": "7", "action": "x"}.get(
        name, "sha1"
    )
    pairs = [(k, v) for k, v in headers.items() if k != name]
    copies = [(name, right), (name, wrong)] if right_first else [(name, wrong), (name, right)]
    assert await _post(customer.http, raw, pairs + copies) == codes.Code.BAD_HEADER_PARAMETER
    assert await _spent(customer) == 0


async def test_the_fast_lane_and_the_stack_refuse_alike(customer: Customer):
    api = customer.api
    raw = _mt(customer)
    pairs = [*_signed(customer, raw).items(), ("SIGN", "0" * 32)]
    assert await _post(customer.http, raw, pairs) == codes.Code.BAD_HEADER_PARAMETER
    assert isinstance(api, app_.App)
    api.fast_lane.clear()
    assert await _post(customer.http, raw, pairs) == codes.Code.BAD_HEADER_PARAMETER


async def test_signatures_expire_and_are_swept(db: store.Store):
    await db.migrate()
    assert await db.take_signature("old", T0, T0 - dt.timedelta(seconds=1))
    assert await db.take_signature("fresh", T0 + dt.timedelta(minutes=2), T0)
    assert not await db.take_signature("old", T0, T0)
    assert not await db.take_signature("fresh", T0 + dt.timedelta(minutes=2), T0)
    # Any later take drops the expired ones on its way; the live one stays taken.
    later = T0 + dt.timedelta(seconds=1)
    assert await db.take_signature("another", later + dt.timedelta(minutes=2), later)
    assert await db.take_signature("old", later + dt.timedelta(minutes=2), later)
    assert not await db.take_signature("fresh", T0 + dt.timedelta(minutes=2), later)


async def test_takes_made_together_answer_each_on_its_own(db: store.Store):
    """On PostgreSQL the takes made together go in one statement: each still gets its own answer, and a signature
    taken twice in one group is taken once."""
    await db.migrate()
    until = T0 + dt.timedelta(minutes=2)
    assert await db.take_signature("before", until, T0)
    answers = await asyncio.gather(
        *(db.take_signature(sign, until, T0) for sign in ["a", "b", "a", "before", "c", "b"])
    )
    assert answers == [True, True, False, False, True, False]
    assert not await db.take_signature("c", until, T0)
