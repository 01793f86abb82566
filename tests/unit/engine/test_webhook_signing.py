"""Standard Webhooks signing: the PyPI verifier accepts our POST signatures; our GET extension verifies."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time

import pytest
import standardwebhooks
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import errors, models
from dlrhub.core import signing as webhook_signing
from tests import conftest

SECRETS = (
    conftest.signing_secret(bytes(range(24))),
    conftest.signing_secret(bytes(range(100, 132))),
    conftest.signing_secret(b"\xff" * 64),
)
POST = models.CallbackRequest(
    method="POST",
    url="https://example.com/hook",
    body=b'{"type":"message.success","timestamp":"2026-01-01T00:00:00.000Z","data":{"message_id":"m"}}',
    content_type="application/json",
)
GET = models.CallbackRequest(
    method="GET",
    url="https://example.com/cb?SMSID=abc&error_info=%257B%2522error%2522%253A0%257D&x=",
)


def test_spec_example_signature():
    # The example from the Standard Webhooks specification (spec/standard-webhooks.md).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    expected = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert webhook_signing.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == expected


@pytest.mark.parametrize("secret_index", [0, 1, 2])
def test_pypi_verifier_accepts_post_signatures_for_each_active_secret(secret_index):
    now = int(time.time())
    headers = webhook_signing.headers_for("cb_123", now, SECRETS, POST)
    assert headers["webhook-id"] == "cb_123"
    assert headers["webhook-timestamp"] == str(now)
    assert len(headers["webhook-signature"].split(" ")) == 3
    parsed = standardwebhooks.Webhook(SECRETS[secret_index]).verify(POST.body, headers)
    assert parsed["type"] == "message.success"


def test_pypi_verifier_refuses_a_tampered_body_or_an_inactive_secret():
    now = int(time.time())
    headers = webhook_signing.headers_for("cb_123", now, SECRETS[:1], POST)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRETS[0]).verify(POST.body + b" ", headers)
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(SECRETS[1]).verify(POST.body, headers)


def test_get_signs_id_timestamp_and_exact_query():
    headers = webhook_signing.headers_for("cb_9", 1700000000, SECRETS[:1], GET)
    query = GET.url.split("?", 1)[1].encode()
    assert headers["webhook-signature"] == webhook_signing.sign(SECRETS[0], "cb_9", 1700000000, query)
    # What a receiver would check with any HMAC library, spelled out.
    key = base64.b64decode(SECRETS[0].removeprefix("whsec_"))
    mac = hmac.new(key, b"cb_9.1700000000." + query, hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(mac).decode()


def test_verify_get_extension_and_its_failures():
    headers = webhook_signing.headers_for("cb_9", 1700000000, SECRETS, GET)
    assert webhook_signing.verify(SECRETS[2:], headers, GET, now=1700000010)
    # Re-encoding the query (even to an equivalent form) breaks it: the signature covers the exact bytes.
    changed = models.CallbackRequest(method="GET", url=GET.url.replace("%257B", "%257b"))
    assert not webhook_signing.verify(SECRETS, headers, changed, now=1700000010)
    assert not webhook_signing.verify(SECRETS, headers, GET, now=1700000000 + 301)
    assert not webhook_signing.verify((conftest.signing_secret(b"z" * 24),), headers, GET, now=1700000000)
    assert not webhook_signing.verify(SECRETS, {**headers, "webhook-id": "cb_10"}, GET, now=1700000000)
    assert not webhook_signing.verify(SECRETS, {}, GET, now=1700000000)


def test_no_secrets_no_headers():
    assert webhook_signing.headers_for("cb", 1, (), POST) == {}


def test_get_without_query_signs_empty_content():
    request = models.CallbackRequest(method="GET", url="https://example.com/cb")
    assert webhook_signing.signed_content(request) == b""


@pytest.mark.parametrize(
    "secret", ["", "whsec_", "abc", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()]
)
def test_malformed_secrets_are_refused(secret):
    with pytest.raises(errors.InvalidInput):
        webhook_signing.headers_for("cb", 1, (secret,), POST)


def test_too_many_secrets_are_refused():
    with pytest.raises(errors.InvalidInput):
        webhook_signing.headers_for("cb", 1, SECRETS * 3, POST)


@given(
    st.binary(min_size=24, max_size=64),
    st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40),
    st.binary(max_size=300),
)
def test_any_post_signature_verifies_with_the_pypi_library(key, callback_id, body):
    secret = conftest.signing_secret(key)
    request = models.CallbackRequest(method="POST", url="https://e.com/", body=body)
    headers = webhook_signing.headers_for(callback_id, 1700000000, (secret,), request)
    assert webhook_signing.verify((secret,), headers, request, now=1700000000)
    text = body.decode("utf-8", errors="ignore").encode()
    request = models.CallbackRequest(method="POST", url="https://e.com/", body=text)
    signature = webhook_signing.headers_for(callback_id, 1700000000, (secret,), request)["webhook-signature"]
    library = standardwebhooks.Webhook(secret).sign(
        callback_id, dt.datetime.fromtimestamp(1700000000, dt.UTC), text.decode()
    )
    assert signature == library
