from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import errors
from dlrhub.dialects.nxcloud import requests

GOOD: dict[str, Any] = {
    "appkey": "app1",
    "phone": "84901888484",
    "functionType": "template",
    "messageData": {"templateId": "228386", "templateData": {"name": "An", "amount": 100}},
}


def _code(raw: bytes, parse=requests.parse_mt) -> int:
    with pytest.raises(errors.DialectError) as info:
        parse(raw)
    return info.value.code


def _mt(**changes: Any) -> bytes:
    body = dict(GOOD)
    for key, value in changes.items():
        if value is ...:
            body.pop(key, None)
        else:
            body[key] = value
    return orjson.dumps(body)


def test_valid_mt():
    raw = _mt(ext="ext info", drWebhook="https://example.com/dr")
    req = requests.parse_mt(raw)
    assert req == requests.MtRequest(
        appkey="app1",
        phone="84901888484",
        template_id="228386",
        template_data={"name": "An", "amount": 100},
        dr_webhook="https://example.com/dr",
        ext="ext info",
    )


def test_optional_fields_default_to_none_and_journey_token_is_read():
    data = {"templateId": "1", "templateData": {}, "journeyToken": "tok"}
    req = requests.parse_mt(_mt(messageData=data, ext=None, drWebhook=""))
    assert (req.ext, req.dr_webhook, req.journey_token) == (None, None, "tok")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1,2]",
        b'"a string"',
        b"\xff\xfe",
        b'{"appkey":',
        b"{" * 5000 + b"}" * 5000,
        b" " * (requests.MAX_BODY_BYTES + 1),
        b'{"appkey":"a","phone":"84901888484","ext":"\\ud800"}',
        b'{"appkey":"a","phone":"84901888484","x":1e400}',
    ],
)
def test_malformed_bodies_are_9000(raw):
    assert _code(raw) == 9000


@pytest.mark.parametrize(
    "changes",
    [
        {"appkey": ...},
        {"appkey": 5},
        {"appkey": ""},
        {"appkey": "k" * 129},
        {"phone": ...},
        {"phone": 84901888484},
        {"functionType": ...},
        {"functionType": "text"},
        {"messageData": ...},
        {"messageData": "x"},
        {"messageData": {"templateData": {}}},
        {"messageData": {"templateId": 228386, "templateData": {}}},
        {"messageData": {"templateId": "1"}},
        {"messageData": {"templateId": "1", "templateData": []}},
        {"messageData": {"templateId": "1", "templateData": {str(i): i for i in range(101)}}},
        {"messageData": {"templateId": "1", "templateData": {}, "journeyToken": 5}},
        {"messageData": {"templateId": "1", "templateData": {}, "journeyToken": ""}},
        {"ext": 5},
        {"ext": "é" * 32768},
        {"drWebhook": 5},
        {"drWebhook": "https://e.com/" + "a" * 243},
        {"drWebhook": "ftp://example.com/dr"},
    ],
)
def test_wrong_fields_are_9000(changes):
    assert _code(_mt(**changes)) == 9000


def test_limits_are_inclusive():
    ext = "é" * 32767 + "a"  # 65,535 bytes
    url = "https://e.com/" + "a" * 242  # 256 characters
    req = requests.parse_mt(_mt(ext=ext, drWebhook=url))
    assert req.ext is not None
    assert req.dr_webhook is not None
    assert (len(req.ext.encode()), len(req.dr_webhook)) == (65_535, 256)


@pytest.mark.parametrize(
    ("phone", "normalised"),
    [
        ("84901888484", "84901888484"),
        ("+84901888484", "84901888484"),
        ("849018884841", "849018884841"),
        ("14155550123", "14155550123"),
        ("12345678", "12345678"),
    ],
)
def test_good_phones(phone, normalised):
    assert requests.parse_mt(_mt(phone=phone)).phone == normalised


@pytest.mark.parametrize(
    "phone",
    [
        "",
        "0901888484",
        "84 901888484",
        "+",
        "++84901888484",
        "8490188848",
        "8490188848412",
        "1234567",
        "1234567890123456",
        "849018884８4",
        "abc",
        "84-901-888-484",
    ],
)
def test_bad_phones_are_9002(phone):
    assert _code(_mt(phone=phone)) == 9002


def test_the_field_at_fault_is_the_cause():
    with pytest.raises(errors.DialectError) as info:
        requests.parse_mt(_mt(functionType="text"))
    assert isinstance(info.value.__cause__, errors.InvalidInput)
    assert info.value.__cause__.field == "functionType"


def test_init_journey_token():
    raw = orjson.dumps({"appkey": "a", "phone": "84901888484", "tokenType": "token_logistics_7"})
    assert requests.parse_init_journey_token(raw) == requests.InitJourneyTokenRequest(
        "a", "84901888484", "token_logistics_7"
    )
    bad_type = orjson.dumps({"appkey": "a", "phone": "84901888484", "tokenType": "token_x"})
    assert _code(bad_type, requests.parse_init_journey_token) == 9000
    bad_phone = orjson.dumps({"appkey": "a", "phone": "0901888484", "tokenType": "token_logistics_7"})
    assert _code(bad_phone, requests.parse_init_journey_token) == 9002


def test_check_journey_token():
    raw = orjson.dumps({"appkey": "a", "journeyToken": "tok"})
    assert requests.parse_check_journey_token(raw) == requests.CheckJourneyTokenRequest("a", "tok")
    assert _code(orjson.dumps({"appkey": "a"}), requests.parse_check_journey_token) == 9000
    assert _code(orjson.dumps({"appkey": "a", "journeyToken": 1}), requests.parse_check_journey_token) == 9000


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_fields = st.sampled_from(
    ["appkey", "phone", "functionType", "messageData", "ext", "drWebhook", "tokenType", "journeyToken"]
)
_PARSERS = [requests.parse_mt, requests.parse_init_journey_token, requests.parse_check_journey_token]


def _codes(raw: bytes) -> set[int]:
    """The codes the three parsers refuse `raw` with; any other exception escapes and fails the test."""
    found = set()
    for parse in _PARSERS:
        try:
            parse(raw)
        except errors.DialectError as err:
            found.add(err.code)
    return found


@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_dialect_errors(raw):
    assert _codes(raw) <= {9000, 9002}


@given(
    base=st.sampled_from([GOOD, {}]),
    changes=st.dictionaries(_fields | st.text(max_size=8), _json, max_size=6),
    template=st.dictionaries(st.sampled_from(["templateId", "templateData", "journeyToken"]), _json),
)
def test_arbitrary_json_only_raises_dialect_errors(base, changes, template):
    body = dict(base) | changes | ({"messageData": template} if template else {})
    raw = json.dumps(body).encode()
    assert _codes(raw) <= {9000, 9002}


@given(value=_json)
def test_any_json_value_only_raises_dialect_errors(value):
    assert _codes(json.dumps(value).encode()) <= {9000, 9002}
