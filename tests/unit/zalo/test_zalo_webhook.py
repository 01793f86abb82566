"""Zalo webhook: the signature (with PROTOCOLS §3.5's worked example) and parsing of hostile input."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlrhub.core import errors
from dlrhub.dialects.zalo import webhook

# PROTOCOLS §3.5: the exact 276 bytes as received.
EXAMPLE_BODY = (
    b'{"sender":{"id":"2222222222222222222"},"recipient":{"id":"84900000001"},'
    b'"event_name":"user_received_message","message":{"delivery_time":"1714529561000",'
    b'"msg_id":"0123456789abcdef0123","tracking_id":"dlrhub-msg-0001"},'
    b'"app_id":"1111111111111111111","timestamp":"1714529561250"}'
)
EXAMPLE_APP = "1111111111111111111"
EXAMPLE_SECRET = "dlrhub-example-oa-secret"
EXAMPLE_TS = "1714529561250"
EXAMPLE_MAC = "mac=3cca3a6e40831627986ba49715ddf19b867b7c3ab2c003dabc062f4a4abe772a"


def test_worked_example_signature():
    assert len(EXAMPLE_BODY) == 276
    assert webhook.signature(EXAMPLE_APP, EXAMPLE_BODY, EXAMPLE_TS, EXAMPLE_SECRET) == EXAMPLE_MAC


def test_verify_accepts_mac_and_bare_hex():
    assert webhook.verify(EXAMPLE_MAC, EXAMPLE_BODY, EXAMPLE_APP, EXAMPLE_TS, EXAMPLE_SECRET)
    assert webhook.verify(EXAMPLE_MAC[4:], EXAMPLE_BODY, EXAMPLE_APP, EXAMPLE_TS, EXAMPLE_SECRET)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "mac=",
        EXAMPLE_MAC.upper(),
        EXAMPLE_MAC[:-1] + "b",
        "sha256=" + EXAMPLE_MAC[4:],
        EXAMPLE_MAC + "00",
        "mac=" + "0" * 64,
        "x" * 500,
    ],
)
def test_verify_rejects_other_values(header):
    assert not webhook.verify(header, EXAMPLE_BODY, EXAMPLE_APP, EXAMPLE_TS, EXAMPLE_SECRET)


def test_verify_rejects_other_secret_and_reserialised_body():
    assert not webhook.verify(EXAMPLE_MAC, EXAMPLE_BODY, EXAMPLE_APP, EXAMPLE_TS, "another-secret")
    assert not webhook.verify(EXAMPLE_MAC, EXAMPLE_BODY, EXAMPLE_APP, EXAMPLE_TS, "")
    indented = json.dumps(json.loads(EXAMPLE_BODY), indent=2).encode()
    assert not webhook.verify(EXAMPLE_MAC, indented, EXAMPLE_APP, EXAMPLE_TS, EXAMPLE_SECRET)
    # PROTOCOLS §3.5: the re-serialised object hashes to 2e0d4457…
    assert webhook.signature(EXAMPLE_APP, indented, EXAMPLE_TS, EXAMPLE_SECRET).startswith("mac=2e0d4457")


def test_parse_zns_receipt():
    event = webhook.parse(EXAMPLE_BODY, "ZNS")
    assert event == webhook.DeliveryReceipt(
        app_id=EXAMPLE_APP,
        oa_id="2222222222222222222",
        timestamp=EXAMPLE_TS,
        recipient="84900000001",
        msg_id="0123456789abcdef0123",
        tracking_id="dlrhub-msg-0001",
        delivered_at=dt.datetime(2024, 5, 1, 2, 12, 41, tzinfo=dt.UTC),
    )


def test_receipt_without_zns_header_is_ignored():
    event = webhook.parse(EXAMPLE_BODY, None)
    assert event == webhook.Ignored(EXAMPLE_APP, "2222222222222222222", EXAMPLE_TS, "user_received_message")


def test_parse_journey_events():
    ack = webhook.encode(
        {
            "app_id": "1",
            "oa_id": "2",
            "event_name": "event_journey_acknowledged",
            "journey_id": "1257624175686111232",
            "msg_id": "abc123",
            "tracking_id": "zalomid.00",
            "timestamp": "1720602861913",
        }
    )
    event = webhook.parse(ack, None)
    assert isinstance(event, webhook.JourneyAcknowledged)
    assert (event.oa_id, event.journey_id, event.msg_id, event.tracking_id) == (
        "2",
        "1257624175686111232",
        "abc123",
        "zalomid.00",
    )
    timeout = webhook.encode(
        {
            "app_id": "1",
            "event_name": "event_journey_time_out",
            "data": {"journey_id": "99"},
            "sender": {"id": "7"},
            "timestamp": "1721206920581",
        }
    )
    assert webhook.parse(timeout, "ZNS") == webhook.JourneyTimedOut(
        "1", "7", "1721206920581", "99", dt.datetime(2024, 7, 17, 9, 2, 0, 581000, tzinfo=dt.UTC)
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b"null",
        b'{"event_name":"user_received_message"}',
        b"{" * 5000,
        b"[" * 100_000,
        EXAMPLE_BODY.replace(b'"msg_id":"0123456789abcdef0123"', b'"msg_id":12'),
        EXAMPLE_BODY.replace(b'"1714529561250"', b'"99999999999999999999"'),
        # 9999-12-31T23:59:59Z: UTC holds it, an account's zone east of UTC cannot write it.
        EXAMPLE_BODY.replace(b'"1714529561250"', b'"253402300799000"'),
        EXAMPLE_BODY.replace(b'"sender":{"id":"2222222222222222222"}', b'"sender":{"id":"x y"}'),
        EXAMPLE_BODY.replace(b'"recipient":{"id":"84900000001"}', b'"recipient":[]'),
        b'{"a":"\xff"}',
    ],
)
def test_malformed_bodies_raise_invalid_input(body):
    with pytest.raises(errors.InvalidInput):
        webhook.parse(body, "ZNS")


def test_oversized_body_is_refused_before_parsing():
    with pytest.raises(errors.InvalidInput, match="larger"):
        webhook.parse(b" " * (webhook.MAX_BODY_BYTES + 1), "ZNS")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048), st.sampled_from([None, "ZNS", "zns", "OA"]))
def test_hostile_bytes_only_raise_invalid_input(raw, server):
    with contextlib.suppress(errors.InvalidInput):
        webhook.parse(raw, server)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
_field_values = st.one_of(_json_values, st.from_regex(r"[0-9]{1,20}", fullmatch=True))


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event_name": st.sampled_from(
                ["user_received_message", "event_journey_acknowledged", "event_journey_time_out", "x"]
            )
            | _json_values,
            "app_id": _field_values,
            "timestamp": _field_values,
            "oa_id": _field_values,
            "journey_id": _field_values,
            "sender": st.fixed_dictionaries({}, optional={"id": _field_values}) | _json_values,
            "recipient": st.fixed_dictionaries({}, optional={"id": _field_values}) | _json_values,
            "message": st.fixed_dictionaries(
                {},
                optional={
                    "msg_id": _field_values,
                    "tracking_id": _field_values,
                    "delivery_time": _field_values,
                },
            )
            | _json_values,
            "data": _json_values,
        },
    )
)
def test_hostile_json_only_raises_invalid_input(body):
    raw = json.dumps(body).encode()
    try:
        event = webhook.parse(raw, "ZNS")
    except errors.InvalidInput:
        return
    assert isinstance(
        event,
        webhook.DeliveryReceipt | webhook.JourneyAcknowledged | webhook.JourneyTimedOut | webhook.Ignored,
    )
