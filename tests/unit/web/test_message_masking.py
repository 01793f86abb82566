"""What a message page may show of a callback's request: credentials masked in URLs, headers and JSON bodies."""

from __future__ import annotations

import datetime as dt

from dlrhub.core import models
from dlrhub.services import message_view

T0 = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)


def test_credential_named_query_values_and_passwords_are_masked_and_the_rest_kept_byte_for_byte():
    url = "https://user:hunter2@h.example/cb?SMSID=a%20b&token=SEKRET1&x_signature=SEKRET2&api_key=K3Y#frag"
    shown = message_view.mask_url(url)
    assert shown == "https://user:…@h.example/cb?SMSID=a%20b&token=…&x_signature=…&api_key=…#frag"
    assert message_view.query_pairs(url) == [
        ("SMSID", "a b"),
        ("token", "…"),
        ("x_signature", "…"),
        ("api_key", "…"),
    ]
    esms = "http://h/cb?SMSID=1&SendFailed=0&SendStatus=5&SendSuccess=1&RequestId=r&TypeId=24&oaid=7&tempid=9"
    assert message_view.mask_url(esms) == esms  # nothing of eSMS's own query looks like a credential


def test_a_credential_keeps_only_its_scheme():
    assert message_view.mask_value("v1,AAAA v1,BBBB") == "v1,… v1,…"
    assert message_view.mask_value("Bearer abc.def") == "Bearer …"
    assert message_view.mask_value("sha256=deadbeef") == "sha256=…"
    assert message_view.mask_value("plain") == "…"


def test_json_bodies_are_pretty_printed_with_credential_keys_masked_and_other_bodies_kept_raw():
    text, is_json = message_view.shown_body(b'{"a":1,"secret":"S3","nested":{"access_token":"T"}}')
    assert is_json and '"a": 1' in text and "S3" not in text and '"T"' not in text
    assert message_view.shown_body(b"<b>x</b>") == ("<b>x</b>", False)


def test_signature_headers_name_the_key_ids_and_never_a_value():
    cb = models.Callback(
        id="cb1",
        event_id="e1",
        account_id="a1",
        dialect=models.Dialect.NATIVE,
        order_key="m1",
        seq=1,
        request=models.CallbackRequest("POST", "http://h/x", b"{}", "application/json"),
        state=models.CallbackState.FAILED,
        due_at=T0,
        attempts=0,
        created_at=T0,
    )
    headers = {h.name: h for h in message_view.headers_of(cb, ("whk_0123abcd",))}
    assert headers["webhook-signature"].value == "v1,… (whk_0123abcd)"
    assert headers["webhook-signature"].masked and headers["webhook-signature"].at_send
    assert headers["webhook-id"].value == "cb1"
    assert headers["Content-Type"].value == "application/json" and not headers["Content-Type"].at_send
    assert "webhook-signature" not in {h.name for h in message_view.headers_of(cb, ())}
