"""The one endpoint key: its normal form, its fixed point, planning and the guard agreeing, and the 0002 re-key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dlrhub.core import errors, models, urls
from dlrhub.planning import events as planning
from dlrhub.store import migrations
from tests.conftest import make_account

NOW = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://example.com/cb?x=1", "http://example.com:80"),
        ("https://example.com", "https://example.com:443"),
        ("https://example.com:443/x", "https://example.com:443"),
        ("http://example.com:8080", "http://example.com:8080"),
        ("HTTPS://Example.COM/cb", "https://example.com:443"),
        ("http://example.com./cb", "http://example.com:80"),
        ("http://EXAMPLE.com.:81/", "http://example.com:81"),
        ("http://bücher.example/cb", "http://xn--bcher-kva.example:80"),
        ("https://BÜCHER.example./cb", "https://xn--bcher-kva.example:443"),
        ("http://xn--bcher-kva.example/", "http://xn--bcher-kva.example:80"),
        ("http://[::1]/", "http://[::1]:80"),
        ("http://[0:0:0:0:0:0:0:1]:8080/", "http://[::1]:8080"),
        ("http://[2606:4700:0:0::1111]/", "http://[2606:4700::1111]:80"),
        ("http://[2001:DB8::A]/", "http://[2001:db8::a]:80"),
        ("http://[::FFFF:1.2.3.4]/", "http://[::ffff:1.2.3.4]:80"),
        ("http://[::ffff:102:304]/", "http://[::ffff:1.2.3.4]:80"),
        ("http://93.184.216.34:80/", "http://93.184.216.34:80"),
        ("http://user@[::1", "http://user@[::1"),  # refused by the guard: its authority, lower-cased
        ("HTTP://Exa_mple..com/x", "http://exa_mple..com"),
    ],
)
def test_endpoint_key_normal_form(url: str, key: str) -> None:
    assert urls.endpoint_key(url) == key
    assert urls.endpoint_key(key) == key


def test_guard_and_key_are_one_reading() -> None:
    for url in ("http://bücher.example./x", "https://[::ffff:102:304]:8443/", "HTTP://A.example"):
        assert urls.check_url(url).endpoint == urls.endpoint_key(url)


_LABEL = st.text(alphabet="abcXYZ019-üéßÄñ中", min_size=1, max_size=12)
_NAMES = st.builds(
    lambda labels, dot: ".".join(labels) + ("." if dot else ""),
    st.lists(_LABEL, min_size=1, max_size=4),
    st.booleans(),
)
_V4 = st.ip_addresses(v=4).map(str)
_V6 = st.builds(
    lambda ip, full, upper: "[" + _case(ip.exploded if full else ip.compressed, upper) + "]",
    st.ip_addresses(v=6),
    st.booleans(),
    st.booleans(),
)
_HOSTS = _NAMES | _V4 | _V6
_URLS = st.builds(
    lambda scheme, host, port, path: f"{scheme}://{host}{'' if port is None else f':{port}'}{path}",
    st.sampled_from(["http", "https", "HTTP", "Https"]),
    _HOSTS,
    st.none() | st.integers(1, 65535),
    st.sampled_from(["", "/", "/cb?x=1", "#f"]),
)


def _case(text: str, upper: bool) -> str:
    return text.upper() if upper else text


@given(_URLS)
def test_a_key_is_its_own_key(url: str) -> None:
    key = urls.endpoint_key(url)
    assert urls.endpoint_key(key) == key
    assert urls.endpoint_key(key + "/any/path?q=1") == key


@given(_URLS)
def test_planning_and_the_guard_agree(url: str) -> None:
    try:
        guard = urls.check_url(url).endpoint
    except errors.BlockedURL:
        assume(False)
        return

    event = models.StatusEvent(id="s", kind=models.EventKind.SUCCESS, occurred_at=NOW, message_id="m1")
    inputs = planning.RenderInputs(make_account(id="a1"))
    (cb,) = planning.plan_event(event, _message(callback_url=url), None, inputs, NOW).callbacks
    assert cb.request.url == url
    assert cb.endpoint == guard


def _old_endpoint_of(url: str) -> str:
    """The key planning stored before 0002 (`planning.endpoint_of`), for the migration's tests."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


@given(_URLS)
def test_the_migration_maps_an_old_key_to_its_urls_key(url: str) -> None:
    try:
        new = urls.check_url(url).endpoint
    except errors.BlockedURL:
        assume(False)
        return
    old = _old_endpoint_of(url)
    assert dict(migrations.PRELUDES["0002_endpoint_keys"].compute([(old,), (new,)])).get(old, old) == new


def test_the_migration_maps_only_keys_that_change() -> None:
    old = ["http://example.com:80", "http://example.com.:80", "http://bücher.example:443", "http://::1:8080"]
    assert migrations.PRELUDES["0002_endpoint_keys"].compute([(k,) for k in old]) == [
        ("http://example.com.:80", "http://example.com:80"),
        ("http://bücher.example:443", "http://xn--bcher-kva.example:443"),
        ("http://::1:8080", "http://[::1]:8080"),
    ]


def test_canonical_ipv6_is_what_ipaddress_reads() -> None:
    for text in ("::1", "2001:db8::a", "::ffff:1.2.3.4"):
        host = urls.check_url(f"http://[{text}]/").host
        assert ipaddress.ip_address(host) == ipaddress.ip_address(text)


def _message(**changes: Any) -> models.Message:
    return dataclasses.replace(_MESSAGE, **changes)


_MESSAGE = models.Message(
    id="m1",
    account_id="a1",
    dialect=models.Dialect.NATIVE,
    type_id=25,
    recipient="84900000001",
    state=models.MessageState.ACCEPTED,
    seq=0,
    created_at=NOW,
    updated_at=NOW,
    callback_url="https://example.com/cb",
)
