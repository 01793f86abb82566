"""NXCloud request signing: the `sign` header over headers, exact body and secret (md5, or sha256 on request).

The string signed is ``accessKey=…&action=…&bizType=…&ts=…`` + ``&body=<exact body>`` (left out when the
body is empty) + ``&accessSecret=<secret>``, hashed as UTF-8 and written in lowercase hex (PROTOCOLS.md §2.1).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping

from dlrhub.dialects.nxcloud import codes

#: The most a client's clock may differ from ours, in milliseconds.
MAX_SKEW_MS = 60_000
#: NXCloud's `bizType` for Zalo.
ZALO_BIZ_TYPE = "9"
#: The hash functions the `algorithm` header may name; md5 when the header is absent.
ALGORITHMS: dict[str, str] = {"md5": "md5", "sha256": "sha256"}
#: Header values longer than this are refused before any work (a sha256 `sign` is 64 characters).
MAX_HEADER_CHARS = 256

#: How long a taken signature is kept: its `ts` passes for MAX_SKEW_MS after `ts`, and one more window covers a
#: process whose clock lags behind the one that took it.
TAKEN_FOR_MS = 2 * MAX_SKEW_MS

_REQUIRED = ("accesskey", "ts", "biztype", "action", "sign")
#: The headers that authenticate a request: each may be sent at most once.
AUTH_HEADERS = frozenset((*_REQUIRED, "algorithm"))


@dataclasses.dataclass(frozen=True, slots=True)
class SignedHeaders:
    """The signing headers of one request, checked for presence, shape and freshness."""

    access_key: str
    action: str
    biz_type: str
    ts: str
    ts_ms: int
    sign: str
    algorithm: str


def string_to_sign(access_key: str, action: str, biz_type: str, ts: str, body: bytes, secret: str) -> bytes:
    """The exact bytes NXCloud hashes; the body is included only when it is not empty."""
    head = f"accessKey={access_key}&action={action}&bizType={biz_type}&ts={ts}".encode()
    tail = f"&accessSecret={secret}".encode()
    if body:
        return head + b"&body=" + body + tail
    return head + tail


def sign(
    access_key: str, action: str, biz_type: str, ts: str, body: bytes, secret: str, algorithm: str = "md5"
) -> str:
    """The `sign` value for these inputs, in lowercase hex. Raises `ValueError` for an unknown algorithm."""
    name = ALGORITHMS.get(algorithm.lower())
    if name is None:
        raise ValueError(f"unknown algorithm {algorithm!r}; use md5 or sha256")
    data = string_to_sign(access_key, action, biz_type, ts, body, secret)
    return hashlib.new(name, data).hexdigest()


def collect_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """A request's headers (ASGI's `(name, value)` byte pairs) by lowercase name.

    Raises `errors.DialectError` 1002 when an authentication header (`AUTH_HEADERS`) is sent more than once: which
    copy counts would otherwise be up to each proxy on the way, and a wrong `sign` could hide behind a right one.
    """
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1").lower()
        if key in headers and key in AUTH_HEADERS:
            raise codes.error(codes.Code.BAD_HEADER_PARAMETER)
        headers[key] = value.decode("latin-1")
    return headers


def replay_key(checked: SignedHeaders) -> str:
    """What a repeat of this request has in common with it: its signature (which covers `ts` and the body)."""
    return checked.sign.lower()


def parse_headers(headers: Mapping[str, str], now_ms: int, *, api: str = "mt") -> SignedHeaders:
    """Check the signing headers of a request to `api` (`mt`, `initJourneyToken` or `checkJourneyToken`).

    Header names are matched case-insensitively. Raises `errors.DialectError`: 1001 when a required header
    is missing or empty, 1002 when `bizType` is not 9, `action` is neither `mt` nor `api`, `algorithm` is
    neither md5 nor sha256, or a value is over 256 characters, 1004 when `ts` is not an integer or is more
    than 60 s from `now_ms`.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    values: dict[str, str] = {}
    for name in _REQUIRED:
        value = lowered.get(name, "").strip()
        if not value:
            raise codes.error(codes.Code.MISSING_HEADERS)
        if len(value) > MAX_HEADER_CHARS:
            raise codes.error(codes.Code.BAD_HEADER_PARAMETER)
        values[name] = value
    algorithm = lowered.get("algorithm", "").strip().lower() or "md5"
    if algorithm not in ALGORITHMS:
        raise codes.error(codes.Code.BAD_HEADER_PARAMETER)
    if values["biztype"] != ZALO_BIZ_TYPE or values["action"] not in ("mt", api):
        raise codes.error(codes.Code.BAD_HEADER_PARAMETER)
    ts = values["ts"]
    if not (ts.isascii() and ts.isdigit() and len(ts) <= 16):
        raise codes.error(codes.Code.TIMESTAMP_EXPIRED)
    ts_ms = int(ts)
    if abs(now_ms - ts_ms) > MAX_SKEW_MS:
        raise codes.error(codes.Code.TIMESTAMP_EXPIRED)
    return SignedHeaders(
        access_key=values["accesskey"],
        action=values["action"],
        biz_type=values["biztype"],
        ts=ts,
        ts_ms=ts_ms,
        sign=values["sign"],
        algorithm=algorithm,
    )


def verify(
    headers: Mapping[str, str], raw_body: bytes, secret: str | None, now_ms: int, *, api: str = "mt"
) -> SignedHeaders:
    """Verify a signed request and return its checked headers.

    `secret` is the access secret the caller found for the `accessKey` header, or None when it found none.
    The signature covers the header values as sent and the body bytes as received. Raises
    `errors.DialectError` with 1001, 1002 or 1004 (see `parse_headers`), 1005 when `secret` is None, 1003 when
    `sign` does not match. The comparison takes constant time.
    """
    checked = parse_headers(headers, now_ms, api=api)
    check_sign(checked, raw_body, secret)
    return checked


def check_sign(checked: SignedHeaders, raw_body: bytes, secret: str | None) -> None:
    """The second half of `verify`, for headers already checked by `parse_headers`: raises 1005 or 1003."""
    if secret is None:
        raise codes.error(codes.Code.NO_PERMISSION)
    expected = sign(
        checked.access_key, checked.action, checked.biz_type, checked.ts, raw_body, secret, checked.algorithm
    )
    given = checked.sign.lower()
    if not given.isascii() or not hmac.compare_digest(expected.encode(), given.encode()):
        raise codes.error(codes.Code.INVALID_SIGNATURE)


def sign_headers(
    access_key: str,
    access_secret: str,
    body: bytes | str,
    *,
    action: str = "mt",
    biz_type: str = ZALO_BIZ_TYPE,
    ts_ms: int | None = None,
    algorithm: str = "md5",
) -> dict[str, str]:
    """Sign a request to dlrhub's (or NXCloud's) API, for customers and tests.

    Args:
        access_key: the account's access key, sent in the `accessKey` header.
        access_secret: the account's access secret; it is hashed, never sent.
        body: the exact body that will be sent. A `str` is encoded as UTF-8. Send these same bytes: a
            change of key order or spacing invalidates the signature.
        action: `mt` for sends; `initJourneyToken` / `checkJourneyToken` (or `mt`) for the journey-token APIs.
        biz_type: `9` (Zalo).
        ts_ms: the time in milliseconds since the epoch; the current time when None. The server refuses a
            timestamp more than 60 s from its own clock.
        algorithm: `md5` (the default) or `sha256`.

    Returns:
        The headers to send: `accessKey`, `ts`, `bizType`, `action`, `sign`, plus `algorithm` when it is
        not md5.

    Raises:
        ValueError: `algorithm` is neither md5 nor sha256.

    Example:
        >>> body = '{"appkey":"k","phone":"84900000001"}'
        >>> h = sign_headers("AK", "SECRET", body, ts_ms=1714529559833)
        >>> sorted(h)
        ['accessKey', 'action', 'bizType', 'sign', 'ts']
    """
    raw = body.encode() if isinstance(body, str) else body
    ts = str(int(time.time() * 1000) if ts_ms is None else ts_ms)
    headers = {
        "accessKey": access_key,
        "ts": ts,
        "bizType": biz_type,
        "action": action,
        "sign": sign(access_key, action, biz_type, ts, raw, access_secret, algorithm),
    }
    if algorithm.lower() != "md5":
        headers["algorithm"] = algorithm.lower()
    return headers
