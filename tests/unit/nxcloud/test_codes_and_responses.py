from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import orjson
import pytest

from dlrhub.core import errors, ids
from dlrhub.dialects.nxcloud import codes, responses

#: The shape of an NXCloud `requestId` (`ids.message_id(Dialect.NXCLOUD, now)` makes them).
REQUEST_ID = re.compile(r"zalomid\.[0-9a-f]{32}")
SEED_TABLE = (Path(__file__).parent / "golden" / "codes.txt").read_text(encoding="utf-8").splitlines()[1:]


@pytest.mark.parametrize("line", SEED_TABLE)
def test_texts_are_the_seeds(line):
    number, _, rest = line.partition(" ")
    assert rest.startswith(codes.TEXTS[codes.Code(int(number))] + " ")


def test_every_code_has_a_text():
    assert set(codes.TEXTS) == set(codes.Code)
    assert codes.text(17007) == "Journey expires and has never been used"
    assert codes.text(123456) == "Unknown error"


def test_error_carries_code_and_text():
    err = codes.error(codes.Code.PHONE_ERROR)
    assert isinstance(err, errors.DialectError)
    assert (err.code, err.text) == (9002, "Phone number error")


def test_accepted_body():
    rid = ids.message_id(ids.ZALOMID, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert re.fullmatch(REQUEST_ID, rid)
    assert responses.accepted(rid) == (
        b'{"code":0,"message":"Success","data":{"requestId":"' + rid.encode() + b'"}}'
    )


def test_refused_bodies():
    assert responses.refused(1003) == b'{"code":1003,"message":"Invalid signature"}'
    assert responses.from_error(codes.error(codes.Code.APP_NO_QUOTATION)) == (
        b'{"code":9004,"message":"Customer APP does not have quotation"}'
    )


def test_journey_bodies():
    assert orjson.loads(responses.journey_token("1257624175686111232", "tok")) == {
        "code": 0,
        "message": "Success",
        "data": {"journeyId": "1257624175686111232", "token": "tok"},
    }
    data = orjson.loads(responses.journey_check(1, 2, "app", "token_logistics_7", "oa"))["data"]
    assert list(data.items()) == [
        ("createdAt", "1"),
        ("expiredAt", "2"),
        ("appId", "app"),
        ("tokenType", "token_logistics_7"),
        ("oaId", "oa"),
    ]
