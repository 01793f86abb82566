"""Parsing the eSMS pull requests."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlrhub.core import errors
from dlrhub.dialects.esms import queries

CREDS = {"ApiKey": "KEY", "SecretKey": "SECRET"}


def code_of(parse, raw):
    with pytest.raises(errors.DialectError) as info:
        parse(raw)
    return info.value.code


def test_get_callback_documented_example():
    raw = orjson.dumps({**CREDS, "ListRefid": ["a", "b", "a"], "OAId": "1090257973118325189"})
    query = queries.parse_get_callback(raw)
    assert query.sms_ids == ("a", "b", "a")
    assert query.oa_id == "1090257973118325189"
    assert "SECRET" not in repr(query)


def test_get_callback_reads_only_the_first_200_of_10000():
    ids = [f"id{i}" for i in range(10_000)]
    query = queries.parse_get_callback(orjson.dumps({**CREDS, "ListRefid": ids}))
    assert query.sms_ids == tuple(ids[:200])


def test_get_callback_ignores_bad_items_after_the_first_200():
    ids: list[object] = [f"id{i}" for i in range(200)] + [{"bad": 1}]
    assert len(queries.parse_get_callback({**CREDS, "ListRefid": ids}).sms_ids) == 200


def test_get_callback_accepts_a_comma_separated_string_and_no_oa():
    query = queries.parse_get_callback({**CREDS, "ListRefid": "a, b,,c"})
    assert query.sms_ids == ("a", "b", "c")
    assert query.oa_id is None


@pytest.mark.parametrize("value", [5, {"a": 1}, True, [["a"]], [None], ["x" * 65]])
def test_get_callback_bad_list_is_110(value):
    assert code_of(queries.parse_get_callback, {**CREDS, "ListRefid": value}) == 110


def test_get_callback_credentials_first():
    assert code_of(queries.parse_get_callback, {"ListRefid": 5}) == 101


def test_get_callback_body_of_10_mb_is_110():
    raw = b'{"ApiKey":"KEY","SecretKey":"SECRET","ListRefid":["' + b"a" * (10 * 1024 * 1024) + b'"]}'
    assert code_of(queries.parse_get_callback, raw) == 110


def test_send_status():
    query = queries.parse_send_status({"RefId": "abc", **CREDS})
    assert query.message_id == "abc"
    assert code_of(queries.parse_send_status, CREDS) == 105
    assert code_of(queries.parse_send_status, {"RefId": "abc"}) == 101


def test_zns_status():
    query = queries.parse_zns_status({**CREDS, "SmsId": "abc", "SmsType": "24"})
    assert (query.message_id, query.sms_type) == ("abc", "24")
    assert code_of(queries.parse_zns_status, CREDS) == 851
    assert code_of(queries.parse_zns_status, {**CREDS, "SmsId": "a", "SmsType": "2"}) == 110


def test_zalo_message_status():
    query = queries.parse_zalo_message_status({**CREDS, "OAID": "1", "MessageId": "zm"})
    assert (query.message_id, query.oa_id) == ("zm", "1")
    assert code_of(queries.parse_zalo_message_status, {**CREDS, "OAID": "1"}) == 851
    assert code_of(queries.parse_zalo_message_status, {**CREDS, "MessageId": "zm"}) == 791


def test_balance():
    assert queries.parse_balance(CREDS).api_key == "KEY"
    assert code_of(queries.parse_balance, b"[]") == 110
    assert code_of(queries.parse_balance, {}) == 101


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)
PARSERS = [
    queries.parse_get_callback,
    queries.parse_zns_status,
    queries.parse_zalo_message_status,
    queries.parse_balance,
]


@settings(max_examples=200, deadline=None)
@given(
    parse=st.sampled_from(PARSERS),
    overrides=st.dictionaries(
        st.sampled_from(["ListRefid", "OAId", "OAID", "SmsId", "SmsType", "MessageId", "ApiKey"]),
        JSON,
        max_size=4,
    ),
)
def test_any_value_raises_only_dialect_errors(parse, overrides):
    code = 0
    try:
        parse({**CREDS, **overrides})
    except errors.DialectError as exc:
        code = exc.code
    assert code in {0, 101, 110, 791, 851}
