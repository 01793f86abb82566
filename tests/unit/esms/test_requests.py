"""Parsing eSMS send requests: every variant, every documented code, and hostile input."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlrhub.core import errors
from dlrhub.dialects.esms import fields, requests

V = requests.Variant


def body(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "ApiKey": "KEY",
        "SecretKey": "SECRET",
        "OAID": "4097311281936189049",
        "Phone": "0901888484",
        "TempID": "200607",
        "TempData": {"customer_name": "Đinh Thái Hà", "order_code": "HD00001"},
    }
    base.update(extra)
    return {key: value for key, value in base.items() if value is not ...}


def code_of(raw, variant=V.V6):
    with pytest.raises(errors.DialectError) as info:
        requests.parse_send(raw, variant)
    return info.value.code


def test_v6_documented_example_parses():
    raw = orjson.dumps(
        body(
            campaignid="Xác nhận mua hàng",
            RequestId="96accf59-0c41-4bc7-a5c4-4a466c2e41c2",
            CallbackUrl="https://esms.vn/webhook/",
        )
    )
    req = requests.parse_send(raw, V.V6)
    assert req.recipient == "0901888484"
    assert req.recipient_kind is requests.RecipientKind.PHONE
    assert req.telco_id == 2
    assert req.oa_id == "4097311281936189049"
    assert req.template_id == "200607"
    assert list(req.template_data) == ["customer_name", "order_code"]
    assert req.template_data["customer_name"] == "Đinh Thái Hà"
    assert req.type_id == 25
    assert req.request_id == "96accf59-0c41-4bc7-a5c4-4a466c2e41c2"
    assert req.callback_url == "https://esms.vn/webhook/"
    assert req.campaign_id == "Xác nhận mua hàng"
    assert req.sandbox is False
    assert req.send_at is None
    assert req.sending_mode == "1"
    assert "SECRET" not in repr(req)


def test_v5_key_value_list_keeps_order():
    raw = body(TempData=[{"key": "b", "value": "2"}, {"key": "a", "value": 1}])
    req = requests.parse_send(raw, V.V5)
    assert list(req.template_data.items()) == [("b", "2"), ("a", "1")]


def test_v5_duplicate_key_is_110():
    raw = body(TempData=[{"key": "a", "value": "1"}, {"key": "a", "value": "2"}])
    assert code_of(raw, V.V5) == 110


def test_v4_params_become_numbered_keys():
    raw = body(TempData=..., Params=["x", "y", "z"])
    req = requests.parse_send(raw, V.V4)
    assert req.template_data == {"1": "x", "2": "y", "3": "z"}
    assert req.type_id == 25
    assert req.is_journey is False


def test_v4_journey_is_type_27_with_order_id():
    raw = body(TempData=..., Params=["x"], IsJourney=True, OrderId="J-1")
    req = requests.parse_send(raw, V.V4)
    assert (req.type_id, req.is_journey, req.order_id) == (27, True, "J-1")


def test_v4_journey_as_string_true():
    req = requests.parse_send(body(TempData=..., Params=[], IsJourney="true", OrderId=7), V.V4)
    assert (req.type_id, req.order_id) == (27, "7")


def test_v4_journey_without_order_id_is_110():
    assert code_of(body(TempData=..., Params=["x"], IsJourney=True), V.V4) == 110


def test_is_journey_is_ignored_outside_v4():
    assert requests.parse_send(body(IsJourney=True, OrderId="J"), V.V6).type_id == 25


def test_hash_phone():
    digest = "A" * 64
    req = requests.parse_send(body(Phone=..., HashPhone=digest), V.V6_HASH_PHONE)
    assert req.recipient == "a" * 64
    assert req.recipient_kind is requests.RecipientKind.HASH_PHONE
    assert req.telco_id is None


@pytest.mark.parametrize("value", [..., "", "abc", "g" * 64, "a" * 63, "a" * 65, 12345, ["a" * 64]])
def test_bad_hash_phone_is_115(value):
    assert code_of(body(Phone=..., HashPhone=value), V.V6_HASH_PHONE) == 115


def test_zalo_uid():
    req = requests.parse_send(body(Phone=..., ZaloUid="5308693166941955879"), V.V6_ZALO_UID)
    assert (req.recipient, req.recipient_kind, req.telco_id) == (
        "5308693166941955879",
        requests.RecipientKind.ZALO_UID,
        9,
    )


@pytest.mark.parametrize("value", [..., None, ""])
def test_missing_zalo_uid_is_853(value):
    assert code_of(body(Phone=..., ZaloUid=value), V.V6_ZALO_UID) == 853


@pytest.mark.parametrize("value", ["1" * 21, "12ab", {"x": 1}, True, " "])
def test_bad_zalo_uid_is_852(value):
    assert code_of(body(Phone=..., ZaloUid=value), V.V6_ZALO_UID) in {852, 853}


def test_over_20_char_uid_is_852_exactly():
    assert code_of(body(Phone=..., ZaloUid="1" * 21), V.V6_ZALO_UID) == 852


@pytest.mark.parametrize(
    "phone",
    [..., "", "12345", "0901888484x", "+1 555 0100", 901888484.0, ["0901888484"], "０９０１８８８４８４"],
)
def test_bad_phone_is_108(phone):
    assert code_of(body(Phone=phone)) == 108


@pytest.mark.parametrize("phone", ["0901888484", "84901888484", "+84901888484", " 0901888484 "])
def test_phone_forms(phone):
    assert requests.parse_send(body(Phone=phone), V.V6).recipient == phone.strip()


@pytest.mark.parametrize(("phone", "telco"), [("0961234567", 1), ("84911234567", 3), ("0551234567", 7)])
def test_telco_from_prefix(phone, telco):
    assert requests.telco_of(phone) == telco


@pytest.mark.parametrize("missing", ["OAID", "TempID"])
def test_missing_oa_or_template_is_791(missing):
    assert code_of(body(**{missing: ...})) == 791


@pytest.mark.parametrize("missing", ["ApiKey", "SecretKey"])
def test_missing_credentials_is_101(missing):
    assert code_of(body(**{missing: ...})) == 101


def test_credentials_checked_before_anything_else():
    assert code_of({"Phone": "bad"}) == 101


def test_keys_are_case_insensitive():
    raw = {k.lower(): v for k, v in body().items()}
    assert requests.parse_send(raw, V.V6).oa_id == "4097311281936189049"


def test_send_date_is_vietnam_time():
    req = requests.parse_send(body(SendDate="2024-05-01 08:30:00"), V.V6)
    assert req.send_at == dt.datetime(2024, 5, 1, 1, 30, tzinfo=dt.UTC)
    assert req.send_at.tzinfo is not None


@pytest.mark.parametrize(
    "value", ["2024-13-01 00:00:00", "01/05/2024 08:30", "0001-01-01 00:00:00", 5, "x" * 40]
)
def test_bad_send_date_is_110(value):
    assert code_of(body(SendDate=value)) == 110


def test_mode3_with_send_date_is_801():
    assert code_of(body(SendingMode="3", SendDate="2024-05-01 08:30:00")) == 801


def test_mode3_now_is_accepted():
    assert requests.parse_send(body(SendingMode=3), V.V6).sending_mode == "3"


def test_unknown_sending_mode_is_110():
    assert code_of(body(SendingMode="2")) == 110


@pytest.mark.parametrize(("value", "expected"), [("1", True), (1, True), ("0", False), (False, False)])
def test_sandbox(value, expected):
    assert requests.parse_send(body(Sandbox=value), V.V6).sandbox is expected


def test_bad_sandbox_is_110():
    assert code_of(body(Sandbox="yes")) == 110


@pytest.mark.parametrize(("field", "limit"), [("RequestId", 50), ("CallbackUrl", 2048), ("campaignid", 254)])
def test_length_limits(field, limit):
    prefix = "https://e.com/" if field == "CallbackUrl" else ""
    ok = prefix + "a" * (limit - len(prefix))
    assert len(ok) == limit
    requests.parse_send(body(**{field: ok}), V.V6)
    assert code_of(body(**{field: ok + "a"})) == 110


@pytest.mark.parametrize(
    "url", ["ftp://e.com/x", "javascript:alert(1)", "https://", "http://[::1", "https://e.com/a b", "e.com"]
)
def test_bad_callback_url_is_110(url):
    assert code_of(body(CallbackUrl=url)) == 110


@pytest.mark.parametrize(
    "data",
    [[], "x", 5, None, {"a": {"nested": 1}}, {"a": True}, {"": "x"}, {f"k{i}": "v" for i in range(101)}],
)
def test_bad_temp_data_is_110(data):
    assert code_of(body(TempData=data if data is not None else ...)) == 110


def test_nul_and_lone_surrogates_are_110():
    assert code_of(body(TempData={"a": "x\x00y"})) == 110
    assert code_of(body(RequestId="\ud800")) == 110


@pytest.mark.parametrize(
    "raw", [b"", b"not json", b"[1,2]", b"null", b'"x"', b"\xff\xfe", "{", [], 3, None, b"{" * 10_000]
)
def test_not_an_object_is_110(raw):
    assert code_of(raw) == 110


def test_body_too_large_is_110():
    raw = orjson.dumps(body(TempData={"a": "x" * (fields.MAX_BODY_BYTES + 1)}))
    assert code_of(raw) == 110


def test_too_many_fields_is_110():
    assert code_of(body(**{f"f{i}": 1 for i in range(100)})) == 110


def test_huge_integer_is_110():
    assert code_of(body(TempID=10**40)) == 110


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)
FIELD_NAMES = st.sampled_from(
    ["ApiKey", "SecretKey", "OAID", "TempID", "TempData", "Params", "Phone", "HashPhone", "ZaloUid",
     "SendDate", "SendingMode", "Sandbox", "CallbackUrl", "RequestId", "campaignid", "IsJourney", "OrderId"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(raw=JSON, variant=st.sampled_from(list(V)))
def test_any_json_value_raises_only_dialect_errors(raw, variant):
    code = 0
    try:
        requests.parse_send(raw, variant)
    except errors.DialectError as exc:
        code = exc.code
    assert code == 0 or 99 <= code <= 999


@settings(max_examples=300, deadline=None)
@given(overrides=st.dictionaries(FIELD_NAMES, JSON, max_size=6), variant=st.sampled_from(list(V)))
def test_any_field_values_raise_only_dialect_errors(overrides, variant):
    raw = body(HashPhone="a" * 64, ZaloUid="123", Params=["x"])
    raw.update(overrides)
    try:
        req = requests.parse_send(raw, variant)
    except errors.DialectError as exc:
        code = exc.code
    else:
        code = 0
        assert all(isinstance(v, str) for v in req.template_data.values())
        assert req.request_id is None or len(req.request_id) <= 50
    assert code == 0 or 99 <= code <= 999


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=200))
def test_any_bytes_raise_only_dialect_errors(raw):
    code = 0
    try:
        requests.parse_send(raw, V.V6)
    except errors.DialectError as exc:
        code = exc.code
    assert code in {0, 101, 110}
