"""Zalo's template list and detail answers, read into dlrhub's templates; errors and malformed answers are values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson

from dlrhub.core import templates
from dlrhub.dialects.zalo import templates as zalo_templates

LIST: dict[str, Any] = {
    "error": 0,
    "message": "Success",
    "data": [
        {"templateId": 209413, "templateName": "OTP", "createdTime": 1620000000000, "status": "ENABLE"},
        {"templateId": "209414", "templateName": "Old", "status": "disable"},
    ],
    "metadata": {"total": 7},
}
INFO: dict[str, Any] = {
    "error": 0,
    "message": "Success",
    "data": {
        "templateId": 209413,
        "templateName": "OTP",
        "status": "ENABLE",
        "listParams": [
            {
                "name": "otp",
                "require": True,
                "type": "NUMBER",
                "maxLength": 6,
                "minLength": 4,
                "acceptNull": False,
            }
        ],
        "listButtons": [],
        "timeout": 7200000,
        "previewUrl": "https://example.invalid/p",
        "templateQuality": "HIGH",
        "templateTag": "OTP",
        "price": "300",
    },
}


def test_the_list_answer() -> None:
    answer = zalo_templates.page_answer(orjson.dumps(LIST))
    assert answer.value == zalo_templates.Page(
        (
            zalo_templates.Listed("209413", "OTP", "ENABLE"),
            zalo_templates.Listed("209414", "Old", "DISABLE"),
        ),
        7,
    )


def test_the_detail_answer_becomes_a_synced_template() -> None:
    answer = zalo_templates.detail_answer(orjson.dumps(INFO))
    assert answer.value is not None
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    made = answer.value.template("oa1", now)
    assert made.params == (templates.Param("otp", "NUMBER", True, 6, 4, False),)
    assert (made.template_id, made.price, made.synced_at, made.source) == (
        "209413",
        Decimal("300"),
        now,
        templates.Source.ZALO,
    )
    assert made.info == {
        "timeout": 7200000,
        "previewUrl": "https://example.invalid/p",
        "templateQuality": "HIGH",
        "templateTag": "OTP",
    }
    assert zalo_templates.detail_json(answer.value)["listParams"] == INFO["data"]["listParams"]


def test_zalo_errors_and_malformed_answers_are_values() -> None:
    refused = zalo_templates.detail_answer(b'{"error":-124,"message":"Access token is invalid"}')
    assert (refused.value, refused.error, refused.message) == (None, -124, "Access token is invalid")
    bad_param = {**INFO, "data": {**INFO["data"], "listParams": [{"name": "a b"}]}}
    malformed = zalo_templates.detail_answer(orjson.dumps(bad_param))
    assert malformed.value is None and malformed.message is not None
    assert zalo_templates.page_answer(b"not json").value is None
    assert zalo_templates.page_answer(orjson.dumps({**LIST, "data": [{"templateId": None}]})).value is None
