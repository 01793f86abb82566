"""Every bad input gets its documented code in an HTTP 200 JSON answer, never a 500."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlrhub.core import models
from dlrhub.dialects.nxcloud import codes, signing
from tests.customers import Customer
from tests.integration.nxcloud.conftest import custom_customer, mt_body, new_customer

pytestmark = pytest.mark.timeout(120)
MT = "/v1/zalo/mt"


def _answer(code: int) -> dict[str, object]:
    return {"code": code, "message": codes.text(code)}


async def _raw_post(customer: Customer, raw: bytes, headers: dict[str, str]) -> dict[str, object]:
    response = await customer.http.post(MT, content=raw, headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, object] = response.json()
    return found


async def test_missing_headers_are_1001(customer: Customer):
    raw = orjson.dumps({"appkey": customer.appkey} | mt_body())
    assert await _raw_post(customer, raw, {}) == _answer(1001)
    headers = signing.sign_headers(customer.new.account.nx_access_key, "x", raw)
    del headers["sign"]
    assert await _raw_post(customer, raw, headers) == _answer(1001)


@pytest.mark.parametrize("change", [{"bizType": "7"}, {"action": "send"}, {"algorithm": "sha1"}])
async def test_bad_header_values_are_1002(customer: Customer, change):
    assert await customer.signed(MT, mt_body(), headers=change) == _answer(1002)


async def test_journey_action_is_refused_on_mt(customer: Customer):
    assert await customer.signed(MT, mt_body(), action="initJourneyToken") == _answer(1002)


async def test_bad_signature_is_1003(customer: Customer):
    assert await customer.signed(MT, mt_body(), secret="not-the-secret") == _answer(1003)
    # The signature covers the exact bytes: the same object re-serialised no longer verifies.
    raw = orjson.dumps({"appkey": customer.appkey} | mt_body())
    headers = signing.sign_headers(
        customer.new.account.nx_access_key, customer.new.account.nx_access_secret, raw,
        ts_ms=int(customer.hub.clock().timestamp() * 1000),
    )  # fmt: skip
    spaced = orjson.dumps(orjson.loads(raw), option=orjson.OPT_INDENT_2)
    assert await _raw_post(customer, spaced, headers) == _answer(1003)
    assert (await _raw_post(customer, raw, headers))["code"] == 0


async def test_stale_timestamp_is_1004(customer: Customer):
    now = int(customer.hub.clock().timestamp() * 1000)
    assert await customer.signed(MT, mt_body(), ts_ms=now - 120_000) == _answer(1004)
    assert await customer.signed(MT, mt_body(), ts_ms=now + 120_000) == _answer(1004)


async def test_sha256_signatures_are_accepted(customer: Customer):
    assert (await customer.signed(MT, mt_body(), algorithm="sha256"))["code"] == 0


async def test_unknown_access_key_is_1005(customer: Customer):
    stranger = await custom_customer(customer, {"s": {}})
    stranger.credentials["nxcloud"]["accessKey"] = "nobody"
    assert await stranger.signed(MT, mt_body()) == _answer(1005)


async def test_locked_account_is_1100(customer: Customer):
    locked = await custom_customer(customer, {"l": {}}, status=models.AccountStatus.LOCKED)
    assert await locked.signed(MT, mt_body()) == _answer(1100)


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[]", b'{"appkey":', '{"appkey":"é"}'.encode("latin-1"), b"{" * 3000 + b"}" * 3000],
)
async def test_malformed_bodies_are_9000(customer: Customer, raw):
    assert await customer.signed(MT, raw) == _answer(9000)


async def test_huge_body_is_9000_without_reading_it_all(customer: Customer):
    raw = b'{"ext":"' + b"a" * 2_000_000 + b'"}'
    assert await customer.signed(MT, raw) == _answer(9000)


@pytest.mark.parametrize(
    "changes",
    [
        {"appkey": 5},
        {"phone": 84901888484},
        {"functionType": "text"},
        {"messageData": {"templateId": "1"}},
        {"messageData": []},
        {"ext": "é" * 32768},
        {"ext": ["x"]},
        {"drWebhook": "https://e.com/" + "a" * 243},
        {"drWebhook": "javascript:alert(1)"},
        {"drWebhook": "http://exa mple.com/"},
        {"messageData": {"templateId": "1", "templateData": {}, "journeyToken": "unknown-token"}},
    ],
)
async def test_wrong_fields_are_9000(customer: Customer, changes):
    assert await customer.signed(MT, mt_body(**changes)) == _answer(9000)


async def test_limits_are_inclusive(customer: Customer):
    body = mt_body(ext="é" * 32767 + "a", drWebhook="https://e.com/" + "a" * 242)
    assert (await customer.signed(MT, body))["code"] == 0


@pytest.mark.parametrize("phone", ["0901888484", "84 901 888 484", "+", "849018884", "abc"])
async def test_bad_phone_is_9002(customer: Customer, phone):
    assert await customer.signed(MT, mt_body(phone=phone)) == _answer(9002)


async def test_app_checks_9003_9004_9005(customer: Customer):
    other = await new_customer(customer)
    assert await customer.signed(MT, mt_body(appkey="no-such-app")) == _answer(9003)
    assert await customer.signed(MT, mt_body(appkey=other.appkey)) == _answer(9003)
    c = await custom_customer(
        customer,
        {
            "ok": {},
            "off": {"active": False},
            "unquoted": {"quotation": None},
            "other_currency": {"currency": "EUR"},  # no rate to debit a USD balance: no usable quotation
            "unrouted": {"routed": False},
            "no-oa": {"oa_id": "0000"},
        },
        currency="USD",
    )
    assert (await c.signed(MT, mt_body(appkey="ok")))["code"] == 0
    assert await c.signed(MT, mt_body(appkey="off")) == _answer(9003)
    assert await c.signed(MT, mt_body(appkey="unquoted")) == _answer(9004)
    assert await c.signed(MT, mt_body(appkey="other_currency")) == _answer(9004)
    assert await c.signed(MT, mt_body(appkey="unrouted")) == _answer(9005)
    assert await c.signed(MT, mt_body(appkey="no-oa")) == _answer(9005)


async def test_insufficient_balance_is_1102_and_nothing_is_stored(customer: Customer):
    poor = await new_customer(customer, balance=Decimal("0.0099"), quotation=Decimal("0.0100"))
    assert await poor.signed(MT, mt_body()) == _answer(1102)
    account = await poor.hub.store.get_account(poor.new.account.id)
    assert account.balance == Decimal("0.0099")


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=12,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    changes=st.dictionaries(
        st.sampled_from(["appkey", "phone", "functionType", "messageData", "ext", "drWebhook"]),
        _json,
        max_size=3,
    )
)
async def test_signed_hostile_bodies_get_a_documented_code(customer: Customer, changes):
    answer = await customer.signed(MT, mt_body(**changes))
    assert answer["code"] in (0, 9000, 9002, 9003)
