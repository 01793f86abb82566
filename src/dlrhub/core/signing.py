"""Standard Webhooks signing of callbacks, with dlrhub's extension for GET (signs the exact query string)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence

from dlrhub.core import errors, models

PREFIX = "whsec_"
#: How many secrets may be active at once (rotation keeps two or three).
MAX_SECRETS = 8
#: Bounds on the decoded key, in bytes (Standard Webhooks asks for 24..64).
MIN_KEY_BYTES = 24
MAX_KEY_BYTES = 64
#: How far a verifier accepts `webhook-timestamp` from its own clock, in seconds.
TOLERANCE_S = 300
#: The most signatures a verifier reads from one header.
MAX_HEADER_SIGNATURES = 16


def _key(secret: str) -> bytes:
    if not secret.startswith(PREFIX) or len(secret) > 200:
        raise errors.InvalidInput("signing_secret", "must be whsec_ followed by base64")
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidInput("signing_secret", "must be whsec_ followed by base64") from exc
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise errors.InvalidInput("signing_secret", f"key must be {MIN_KEY_BYTES} to {MAX_KEY_BYTES} bytes")
    return key


def check_secret(secret: str) -> None:
    """Raise errors.InvalidInput unless `secret` is a usable `whsec_` secret (base64 of 24 to 64 bytes)."""
    _key(secret)


def signed_content(request: models.CallbackRequest) -> bytes:
    """What the signature covers after `id.timestamp.`: the body, or for GET the exact query string."""
    if request.method.upper() == "GET":
        _, sep, query = request.url.partition("?")
        query = query.partition("#")[0] if sep else ""
        return query.encode("utf-8")
    return request.body


def sign(secret: str, callback_id: str, timestamp: int, content: bytes) -> str:
    """One `v1,<base64>` signature of `callback_id.timestamp.content` under `secret`."""
    to_sign = f"{callback_id}.{timestamp}.".encode() + content
    digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def headers_for(
    callback_id: str, timestamp: int, secrets: Sequence[str], request: models.CallbackRequest
) -> dict[str, str]:
    """The `webhook-id`, `webhook-timestamp` and `webhook-signature` headers for one attempt.

    Each active secret contributes one space-separated `v1,` signature. No secrets: no headers (unsigned).
    Raises errors.InvalidInput on a malformed secret or more than MAX_SECRETS.
    """
    if not secrets:
        return {}
    if len(secrets) > MAX_SECRETS:
        raise errors.InvalidInput("signing_secrets", f"at most {MAX_SECRETS} may be active")
    content = signed_content(request)
    signatures = " ".join(sign(secret, callback_id, timestamp, content) for secret in secrets)
    return {
        "webhook-id": callback_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def verify(
    secrets: Sequence[str],
    headers: Mapping[str, str],
    request: models.CallbackRequest,
    now: int,
    tolerance_s: int = TOLERANCE_S,
) -> bool:
    """Whether `headers` carry a valid signature of `request` (POST body or GET query) under any of `secrets`.

    `now` is the verifier's clock in epoch seconds; a timestamp further than `tolerance_s` from it fails.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    callback_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    header = lowered.get("webhook-signature", "")
    if not callback_id or not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12 or not header:
        return False
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance_s:
        return False
    content = signed_content(request)
    offered = header.split(" ")[:MAX_HEADER_SIGNATURES]
    for secret in secrets[:MAX_SECRETS]:
        expected = sign(secret, callback_id, timestamp, content)
        if any(
            hmac.compare_digest(expected.encode(), sig.encode()) for sig in offered if sig.startswith("v1,")
        ):
            return True
    return False
