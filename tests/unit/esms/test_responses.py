"""The exact response bytes of the eSMS APIs, and the code table."""

from __future__ import annotations

import pytest

from dlrhub.core import errors
from dlrhub.dialects.esms import codes, responses


def test_send_ok_is_the_documented_shape():
    assert responses.send_ok("d8e0f1f0702544b2acb456ca9ccfd111250") == (
        b'{"CodeResult":"100","CountRegenerate":0,"SMSID":"d8e0f1f0702544b2acb456ca9ccfd111250"}'
    )


def test_send_error_is_the_documented_shape():
    assert (
        responses.send_error(101)
        == b'{"CodeResult":"101","CountRegenerate":0,"ErrorMessage":"Authorize Failed"}'
    )
    assert responses.send_error(789) == (
        b'{"CodeResult":"789","CountRegenerate":0,"ErrorMessage":"TemplateId is not config"}'
    )


def test_duplicate_carries_send_status():
    assert responses.send_error(124) == (
        b'{"CodeResult":"124","CountRegenerate":0,"ErrorMessage":"Request exist 1","SendStatus":"5"}'
    )


def test_get_callback_errors_use_a_numeric_code():
    assert responses.get_callback_error(160) == b'{"Code":160,"Message":"TPS exceeded"}'
    assert responses.get_callback_error(101) == b'{"Code":101,"Message":"Authorize Failed"}'
    assert responses.get_callback([]) == b'{"Code":100,"Message":"Success","Data_callback":[]}'


def test_tps_exceeded_in_each_status_apis_shape():
    assert responses.code_result_error(160) == b'{"CodeResult":"160","ErrorMessage":"TPS exceeded"}'
    assert responses.code_response_error(160) == b'{"CodeResponse":"160","ErrorMessage":"TPS exceeded"}'
    assert responses.balance_error(160) == b'{"Balance":0,"CodeResponse":"160","ErrorMessage":"TPS exceeded"}'


def test_balance_error_is_the_documented_shape():
    assert (
        responses.balance_error(101)
        == b'{"Balance":0,"CodeResponse":"101","ErrorMessage":"Authorize Failed"}'
    )


def test_other_error_shapes():
    assert responses.code_response_error(105).startswith(b'{"CodeResponse":"105","ErrorMessage":')
    assert responses.code_result_error(851).startswith(b'{"CodeResult":"851","ErrorMessage":')


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (101, "Authorize Failed"),
        (124, "Request exist 1"),
        (789, "TemplateId is not config"),
        (852, "Zalo UID Invalid"),
        (853, "Missing ZaloUid"),
        (160, "TPS exceeded"),
    ],
)
def test_documented_texts_are_verbatim(code, text):
    assert codes.text(code) == text
    exc = codes.error(codes.Code(code))
    assert isinstance(exc, errors.DialectError)
    assert (exc.code, exc.text) == (code, text)


def test_every_code_has_a_text_and_the_issue_codes_exist():
    assert set(codes.TEXT) == set(codes.Code)
    assert {101, 103, 108, 124, 789, 790, 791, 799, 801, 802, 852, 853} <= {int(c) for c in codes.Code}
    assert -114 not in {int(c) for c in codes.Code}  # Zalo's codes (<= 0) are not eSMS's
    assert codes.text(4242) == "Error 4242"
