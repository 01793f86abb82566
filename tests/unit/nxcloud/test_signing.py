from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import errors
from dlrhub.dialects.nxcloud import signing

# PROTOCOLS.md §2.1: the published test vectors (md5) and the computed sha256 values.
VECTOR = {"access_key": "fme2na3kdi3ki", "ts": "1655710885431", "biz_type": "1", "action": "send"}
SECRET = "abciiiko2k3"
VECTORS = [
    (
        '{"name":"牛小信","id":10001}',
        "87c3560d3331ae23f1021e2025722354",
        "e0eec2c99ef80f269a82795e2223f618ebfc0616c8b6c8c7d438021ec38ad0eb",
    ),
    (
        '{"id":10001,"name":"牛小信"}',
        "7750759da06333f20d0640be09355e34",
        "d04863619d46121592cdb312ec0a91c148a1f5daea64930ad0e1fb31a04dc808",
    ),
    (
        '{"id": 10001, "name": "牛小信"}',
        "d0c24a9886c629330d7f3f2056c65bc2",
        "feaa901c8a317a0f5e488dd7d9ae046742afa0d0a70f415817c835873efa4cb7",
    ),
]
NOW = 1_714_529_559_833
BODY = b'{"appkey":"app1","phone":"84900000001","functionType":"template"}'


def _sign(body: bytes, algorithm: str) -> str:
    v = VECTOR
    return signing.sign(v["access_key"], v["action"], v["biz_type"], v["ts"], body, SECRET, algorithm)


@pytest.mark.parametrize(("body", "md5", "sha256"), VECTORS)
def test_published_vectors(body, md5, sha256):
    assert _sign(body.encode(), "md5") == md5
    assert _sign(body.encode(), "sha256") == sha256


@pytest.mark.parametrize(("body", "md5", "sha256"), VECTORS)
def test_sign_headers_reproduces_the_vectors(body, md5, sha256):
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        headers = signing.sign_headers(
            "fme2na3kdi3ki",
            SECRET,
            body,
            action="send",
            biz_type="1",
            ts_ms=1655710885431,
            algorithm=algorithm,
        )
        assert headers["sign"] == expected


def test_empty_body_leaves_the_body_out():
    assert _sign(b"", "md5") == "884afe159e39b6c88a0d6102ca97d704"
    assert b"&body=" not in signing.string_to_sign("a", "mt", "9", "1", b"", "s")


def test_sign_headers_shape():
    md5 = signing.sign_headers("AK", "S", BODY, ts_ms=NOW)
    assert md5 == {"accessKey": "AK", "ts": str(NOW), "bizType": "9", "action": "mt", "sign": md5["sign"]}
    sha = signing.sign_headers("AK", "S", BODY, ts_ms=NOW, algorithm="sha256")
    assert sha["algorithm"] == "sha256"
    assert len(sha["sign"]) == 64


def test_sign_headers_uses_the_clock_when_no_ts():
    before = int(time.time() * 1000)
    headers = signing.sign_headers("AK", "S", BODY)
    signing.verify(headers, BODY, "S", before)


def test_unknown_algorithm_is_a_value_error():
    with pytest.raises(ValueError, match="sha1"):
        signing.sign_headers("AK", "S", BODY, algorithm="sha1")


@pytest.mark.parametrize("algorithm", ["md5", "sha256"])
def test_verify_accepts_a_signed_request(algorithm):
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW, algorithm=algorithm)
    checked = signing.verify(headers, BODY, "S", NOW)
    assert (checked.access_key, checked.action, checked.ts_ms, checked.algorithm) == (
        "AK",
        "mt",
        NOW,
        algorithm,
    )


def test_verify_matches_header_names_case_insensitively_and_sign_in_any_case():
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW)
    lowered = {k.lower(): v for k, v in headers.items()}
    lowered["sign"] = lowered["sign"].upper()
    signing.verify(lowered, BODY, "S", NOW)


def _code(headers, body=BODY, secret="S", now=NOW, api="mt") -> int:
    with pytest.raises(errors.DialectError) as info:
        signing.verify(headers, body, secret, now, api=api)
    return info.value.code


@pytest.mark.parametrize("name", ["accessKey", "ts", "bizType", "action", "sign"])
def test_missing_or_empty_header_is_1001(name):
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW)
    assert _code({k: v for k, v in headers.items() if k != name}) == 1001
    assert _code(headers | {name: " "}) == 1001


@pytest.mark.parametrize(
    "change", [{"bizType": "1"}, {"action": "send"}, {"algorithm": "sha1"}, {"accessKey": "a" * 257}]
)
def test_bad_parameter_is_1002(change):
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW)
    assert _code(headers | change) == 1002


def test_journey_apis_take_mt_or_their_own_action():
    for action in ("mt", "initJourneyToken"):
        headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW, action=action)
        assert signing.verify(headers, BODY, "S", NOW, api="initJourneyToken").action == action
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW, action="checkJourneyToken")
    assert _code(headers, api="initJourneyToken") == 1002
    assert _code(headers, api="mt") == 1002


@pytest.mark.parametrize(
    ("offset", "ok"), [(60_000, True), (-60_000, True), (60_001, False), (-60_001, False)]
)
def test_clock_skew_of_60_seconds(offset, ok):
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW + offset)
    if ok:
        signing.verify(headers, BODY, "S", NOW)
    else:
        assert _code(headers) == 1004


@pytest.mark.parametrize("ts", ["abc", "-5", "1.5e12", "１２３", "9" * 17])
def test_malformed_ts_is_1004(ts):
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW)
    assert _code(headers | {"ts": ts}) == 1004


def test_unknown_access_key_is_1005():
    assert _code(signing.sign_headers("AK", "S", BODY, ts_ms=NOW), secret=None) == 1005


def test_wrong_secret_tampered_body_or_garbage_sign_is_1003():
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW)
    assert _code(headers, secret="T") == 1003
    assert _code(headers, body=BODY + b" ") == 1003
    assert _code(headers | {"sign": "é" * 32}) == 1003
    assert _code(headers | {"ts": str(NOW + 1)}) == 1003


def test_sha256_sign_does_not_pass_as_md5():
    headers = signing.sign_headers("AK", "S", BODY, ts_ms=NOW, algorithm="sha256")
    assert _code({k: v for k, v in headers.items() if k != "algorithm"}) == 1003


_text = st.text(max_size=80)


@given(
    headers=st.dictionaries(
        st.sampled_from(["accessKey", "ts", "bizType", "action", "sign", "algorithm", "x"]) | _text, _text
    ),
    body=st.binary(max_size=200),
    secret=st.none() | _text,
    now=st.integers(min_value=0, max_value=2**62),
)
def test_hostile_headers_only_raise_dialect_errors(headers, body, secret, now):
    code = None
    try:
        signing.verify(headers, body, secret, now)
    except errors.DialectError as err:
        code = err.code
    assert code in (None, 1001, 1002, 1003, 1004, 1005)


def test_collect_headers_refuses_a_repeated_auth_header_and_keeps_others():
    assert signing.collect_headers([(b"Sign", b"a"), (b"x-any", b"1"), (b"x-any", b"2")]) == {
        "sign": "a",
        "x-any": "2",
    }
    for name in signing.AUTH_HEADERS:
        with pytest.raises(errors.DialectError) as caught:
            signing.collect_headers([(name.encode(), b"a"), (name.upper().encode(), b"b")])
        assert caught.value.code == 1002
