"""The URL guard: syntax rules, refused address classes, the allow-list, and properties over hostile input."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlrhub.core import errors, urls


@pytest.mark.parametrize(
    ("url", "endpoint"),
    [
        ("http://example.com/cb?x=1", "http://example.com:80"),
        ("HTTPS://Example.COM./cb", "https://example.com:443"),
        ("https://example.com:8443", "https://example.com:8443"),
        ("http://[2606:4700::1111]:81/x", "http://[2606:4700::1111]:81"),
        ("http://bücher.example/cb", "http://xn--bcher-kva.example:80"),
    ],
)
def test_check_url_accepts_and_names_the_endpoint(url, endpoint):
    assert urls.check_url(url).endpoint == endpoint


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "http:///nohost",
        "http://",
        "https://user:pw@example.com/",
        "http://example.com:0/",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "http://example.com/\r\nHost: evil",
        "https://example.com/" + "a" * 2048,
        "//example.com/",
        "example.com",
    ],
)
def test_check_url_refuses(url):
    with pytest.raises(errors.BlockedURL):
        urls.check_url(url)


def test_url_of_exactly_2048_characters_passes():
    url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert len(url) == 2048
    urls.check_url(url)


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "127.5.6.7",
        "::1",
        "10.0.0.1",
        "172.16.3.4",
        "192.168.1.1",
        "169.254.169.254",
        "169.254.1.1",
        "fe80::1",
        "fd00:ec2::254",
        "fc00::5",
        "0.0.0.0",
        "::",
        "224.0.0.1",
        "ff02::1",
        "100.64.0.1",
        "100.127.255.254",
        "240.0.0.1",
        "255.255.255.255",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::a9fe:a9fe",
        "::127.0.0.1",
        "192.0.2.1",
    ],
)
def test_refused_addresses(ip):
    with pytest.raises(errors.BlockedURL):
        urls.check_address(ip)


@pytest.mark.parametrize(
    "ip", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:1.1.1.1", "100.128.0.1"]
)
def test_public_addresses_pass(ip):
    assert str(urls.check_address(ip)) == str(ipaddress.ip_address(ip))


def test_metadata_is_named():
    with pytest.raises(errors.BlockedURL, match="metadata"):
        urls.check_address("169.254.169.254")


def test_allow_list_opens_loopback_only_as_listed():
    allow = urls.parse_allowlist(["127.0.0.1", "10.1.0.0/16", "Receiver.Local."])
    urls.check_address("127.0.0.1", allow)
    urls.check_address("10.1.200.3", allow)
    urls.check_address("192.168.0.9", allow, host="receiver.local")
    for ip in ("127.0.0.2", "10.2.0.1", "::1", "169.254.169.254"):
        with pytest.raises(errors.BlockedURL):
            urls.check_address(ip, allow)


def test_check_target_checks_ip_literals_and_leaves_names_to_the_resolver():
    with pytest.raises(errors.BlockedURL):
        urls.check_target("http://127.0.0.1:8080/cb")
    with pytest.raises(errors.BlockedURL):
        urls.check_target("http://[::ffff:7f00:1]/cb")
    allow = urls.parse_allowlist(["127.0.0.1/32"])
    assert urls.check_target("http://127.0.0.1:8080/cb", allow).port == 8080
    assert urls.check_target("http://localhost/cb").host == "localhost"


def test_parse_allowlist_refuses_garbage():
    with pytest.raises(errors.ConfigError):
        urls.parse_allowlist(["not a host!"])
    with pytest.raises(errors.ConfigError):
        urls.parse_allowlist(["1.1.1.1"] * (urls.MAX_ALLOW_ENTRIES + 1))


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    try:
        urls.check_address(ip)
    except errors.BlockedURL:
        return True
    return False


@given(st.ip_addresses(v=4))
def test_every_v4_refusal_holds_for_its_mapped_v6_form(ip):
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert _blocked(ip) == _blocked(mapped)


def _judged(ip: urls.IPAddress) -> urls.IPAddress:
    """The address the guard judges: the IPv4 inside an IPv6 form that carries one, else `ip` itself."""
    if isinstance(ip, ipaddress.IPv4Address):
        return ip
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.IPv6Network("64:ff9b::/96") or (int(ip) >> 32 == 0 and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


@given(st.ip_addresses())
def test_a_passing_address_is_global_and_not_special(ip):
    # The guard refuses where Python releases disagree, so what it lets through is global on every release.
    if not _blocked(ip):
        judged = _judged(ip)
        assert judged.is_global
        assert not judged.is_loopback
        assert not judged.is_private
        assert not judged.is_link_local
        assert not judged.is_multicast


@pytest.mark.parametrize(
    ("ip", "refused"),
    [
        # 6to4 is judged by the IPv4 address it carries: Python 3.13 calls all of 2002::/16 private, 3.11 none.
        ("2002:101:101::1", False),
        ("2002:5db8:d822::", False),
        ("2002:a00:1::", True),
        ("2002:a9fe:a9fe::", True),
        # Where Python 3.11 and 3.13 disagree the other way, or only one of them lists a range, it is refused.
        ("192.0.0.9", True),
        ("192.0.0.10", True),
        ("192.0.0.100", True),
        ("2001:1::1", True),
        ("2001:3::1", True),
        ("2001:20::1", True),
        ("64:ff9b:1::1", True),
        ("3fff::1", True),
        ("5f00::1", True),
    ],
)
def test_the_guard_decides_alone_where_python_releases_differ(ip, refused):
    assert _blocked(ipaddress.ip_address(ip)) is refused


def _read(self):
    pytest.fail("the guard read the interpreter's address tables")


def test_the_guard_does_not_read_the_interpreters_tables(monkeypatch):
    addresses = ["1.1.1.1", "10.0.0.1", "2002:101:101::", "2002:7f00:1::", "2606:4700::1", "fc00::1", "::1"]
    before = {a: _blocked(ipaddress.ip_address(a)) for a in addresses}
    for cls in (ipaddress.IPv4Address, ipaddress.IPv6Address):
        for name in ("is_private", "is_global", "is_reserved", "sixtofour", "teredo", "ipv4_mapped"):
            if hasattr(cls, name):
                monkeypatch.setattr(cls, name, property(_read))
    assert {a: _blocked(ipaddress.ip_address(a)) for a in addresses} == before


@given(
    st.ip_addresses(network="10.0.0.0/8")
    | st.ip_addresses(network="127.0.0.0/8")
    | st.ip_addresses(network="169.254.0.0/16")
    | st.ip_addresses(network="fc00::/7")
)
def test_private_ranges_are_always_refused(ip):
    assert _blocked(ip)


@given(st.text(max_size=300))
def test_check_url_only_ever_raises_blocked_url(text):
    try:
        target = urls.check_url(text)
    except errors.BlockedURL:
        return
    assert target.scheme in ("http", "https")
    assert target.host
    assert 1 <= target.port <= 65535


@given(st.from_regex(r"\Ahttps?://[a-z0-9.\-]{1,30}(:[0-9]{1,5})?(/[ -~]{0,40})?\Z"))
def test_check_url_on_url_shaped_input(text):
    try:
        target = urls.check_url(text)
    except errors.BlockedURL:
        return
    assert target.endpoint.startswith(("http://", "https://"))


@pytest.mark.parametrize(
    ("url", "ip"),
    [
        ("http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:8080/x", "127.0.0.1"),
        ("http://127\u30020\u30020\u30021/x", "127.0.0.1"),
        (
            "http://\uff11\uff16\uff19.\uff12\uff15\uff14.\uff11\uff16\uff19.\uff12\uff15\uff14/",
            "169.254.169.254",
        ),
        ("http://10\uff0e0\uff0e0\uff0e1./", "10.0.0.1"),
    ],
)
def test_a_host_that_idna_makes_an_ip_literal_is_judged_as_that_address(url, ip):
    target = urls.check_url(url)
    assert target.ip == ipaddress.ip_address(ip) and target.host == ip
    with pytest.raises(errors.BlockedURL):
        urls.check_target(url)
    assert urls.check_target(url, urls.parse_allowlist([ip])).ip == ipaddress.ip_address(ip)


@pytest.mark.parametrize(
    "host",
    ["127.1", "2130706433", "0x7f.1", "0x7f000001", "0177.0.0.1", "127.000.000.001", "1.2.3.0x", "a.b.09"],
)
def test_numeric_ipv4_forms_that_are_not_plain_literals_are_no_names(host):
    with pytest.raises(errors.BlockedURL, match="not a valid name"):
        urls.check_url(f"http://{host}/x")


@pytest.mark.parametrize("host", ["1.example", "x1.2x", "example.0xz", "0x.example"])
def test_names_with_digits_stay_names(host):
    assert urls.check_url(f"http://{host}/x").ip is None
