"""services/search.py's pure half: a form's fields into a bounded store query, and the page cursor."""

from __future__ import annotations

import base64
import datetime as dt

import pytest

from dlrhub.core import control, errors, models, scopes
from dlrhub.services import search

ADMIN = scopes.Principal("ops", control.TokenKind.ADMIN)
CUSTOMER = scopes.Principal("shop", control.TokenKind.CUSTOMER, "acc_mine")
AT = dt.datetime(2026, 12, 3, 13, 22, 31, 123456, tzinfo=dt.UTC)


def test_a_cursor_round_trips_exactly():
    for message_id in ("zalomid.0123abcd", "d8e0f1f0702544b2acb456ca9ccfd111250", "a|b"):
        assert search.decode_cursor(search.encode_cursor(AT, message_id)) == (AT, message_id)
    other_zone = AT.astimezone(dt.timezone(dt.timedelta(hours=7)))
    assert search.decode_cursor(search.encode_cursor(other_zone, "m")) == (AT, "m")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 at all!",
        "x" * (search.MAX_CURSOR_CHARS + 1),
        _b64(b"\xff\xfe"),  # not UTF-8
        _b64(b"2026-12-03T13:22:31+00:00"),  # no id
        _b64(b"2026-12-03T13:22:31|m1"),  # no zone
        _b64(b"yesterday|m1"),
        _b64(b"2026-12-03T13:22:31+00:00|m\x00"),  # a NUL in the id
        _b64(b"2026-12-03T13:22:31+00:00|" + b"m" * 101),
        "",
    ],
)
def test_a_tampered_cursor_is_invalid_input_naming_the_cursor(cursor):
    with pytest.raises(errors.InvalidInput) as caught:
        search.decode_cursor(cursor)
    assert caught.value.field == "cursor"


def test_a_customer_is_held_to_its_own_account_whatever_it_asks():
    assert search.to_query(search.Search(account_id="acc_other"), CUSTOMER).account_id == "acc_mine"
    assert search.to_query(search.Search(), CUSTOMER).account_id == "acc_mine"
    assert search.to_query(search.Search(account_id="acc_other"), ADMIN).account_id == "acc_other"
    assert search.to_query(search.Search(), ADMIN).account_id is None


def test_fields_become_a_typed_query():
    q = search.to_query(
        search.Search(
            public_id=" SMS1 ",
            phone="+84 901 888 484",
            state="failed",
            dialect="esms",
            since="2026-12-01",
            until="2026-12-02T10:30+07:00",
            cursor=search.encode_cursor(AT, "m9"),
            limit=20,
        ),
        ADMIN,
    )
    assert q.public_id == "SMS1"
    assert q.phones == ("84901888484", "0901888484")
    assert q.state is models.MessageState.FAILED and q.dialect is models.Dialect.ESMS
    assert q.since == dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    assert q.until == dt.datetime(2026, 12, 2, 3, 30, tzinfo=dt.UTC)
    assert q.before == (AT, "m9") and q.limit == 20
    empty = search.to_query(search.Search(), ADMIN)
    assert empty == search.to_query(search.Search(public_id="  ", phone=" "), ADMIN)
    assert (empty.public_id, empty.phones, empty.state, empty.before) == (None, (), None, None)


def test_phone_forms_find_a_number_however_it_was_written():
    assert search.phone_forms("0901888484") == ("0901888484", "84901888484")
    assert search.phone_forms("84901888484") == ("84901888484", "0901888484")
    assert search.phone_forms("+6591234567") == ("6591234567",)
    assert search.phone_forms("8123456789abcdef") == ("8123456789abcdef",)  # a Zalo UID or hash, as is
    assert search.phone_forms("") == ()


@pytest.mark.parametrize(
    ("asked", "field"),
    [
        (search.Search(public_id="x" * (search.MAX_ID_CHARS + 1)), "public_id"),
        (search.Search(public_id="a\x00b"), "public_id"),
        (search.Search(phone="9" * (search.MAX_PHONE_CHARS + 1)), "phone"),
        (search.Search(account_id="acc\x07"), "account_id"),
        (search.Search(state="lost"), "state"),
        (search.Search(dialect="smpp"), "dialect"),
        (search.Search(since="last tuesday"), "since"),
        (search.Search(until="2026-13-01"), "until"),
        (search.Search(since="2026-12-02", until="2026-12-01"), "until"),
        (search.Search(limit=0), "limit"),
        (search.Search(limit=search.MAX_LIMIT + 1), "limit"),
        (search.Search(cursor="%%%"), "cursor"),
    ],
)
def test_out_of_bounds_fields_are_refused_by_name(asked, field):
    with pytest.raises(errors.InvalidInput) as caught:
        search.to_query(asked, ADMIN)
    assert caught.value.field == field
