"""The SSRF guard's rules on callback URLs (pure): syntax, refused address classes, the allow-list, the endpoint key."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import ipaddress
import re
import urllib.parse
from collections.abc import Iterable

from dlrhub.core import errors

MAX_URL_LENGTH = 2048
#: Most entries an allow-list may hold.
MAX_ALLOW_ENTRIES = 256
SCHEMES = {"http": 80, "https": 443}

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_METADATA = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
#: The only IPv6 addresses that may be public: global unicast. Everything else is refused, except the forms
#: that carry an IPv4 address, which are judged by that address.
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _table(*rows: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), name) for net, name in rows)


#: The refused ranges, each with the reason the guard gives: the IANA special-purpose registries' ranges that are
#: not globally reachable, written out here so that the guard decides alone. Python's `is_private` and
#: `is_global` follow the registries as of the interpreter's release (3.13 made 2002::/16 private and
#: 192.0.0.9 global, for example), and a guard whose answer changes with the interpreter is no guard. Where two
#: Python releases disagree, the range is refused.
_REFUSED_V4 = _table(
    ("0.0.0.0/32", "unspecified"),
    ("0.0.0.0/8", "reserved"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "cgnat"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),
    ("192.0.2.0/24", "reserved"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "reserved"),
    ("198.51.100.0/24", "reserved"),
    ("203.0.113.0/24", "reserved"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)
_REFUSED_V6 = _table(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fe80::/10", "link-local"),
    ("fc00::/7", "private"),
    ("ff00::/8", "multicast"),
    ("2001::/23", "reserved"),
    ("2001:db8::/32", "reserved"),
    ("3fff::/20", "reserved"),
)
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
#: A host's last label that makes it a numeric IPv4 form (WHATWG URL's "ends in a number"), not a name.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedTarget:
    """A callback URL that passed the syntax rules."""

    scheme: str
    #: Lower-case host name in punycode, no trailing dot; or an IP literal in canonical form (IPv6 without brackets).
    host: str
    port: int
    #: Set when `host` is an IP literal; such hosts are checked without resolving.
    ip: IPAddress | None

    @property
    def endpoint(self) -> str:
        """`scheme://host:port`: this target's `endpoint_key`, the unit of endpoint health and concurrency."""
        host = f"[{self.host}]" if self.ip is not None and self.ip.version == 6 else self.host
        return f"{self.scheme}://{host}:{self.port}"


@dataclasses.dataclass(frozen=True, slots=True)
class Allowlist:
    """Networks and host names the guard lets through although they would be refused."""

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = frozenset()

    def admits(self, ip: IPAddress, host: str | None = None) -> bool:
        """Whether `ip` (reached by the name `host`, if any) is on the list."""
        if host is not None and host.lower().rstrip(".") in self.hosts:
            return True
        return any(ip.version == net.version and ip in net for net in self.networks)


NOTHING = Allowlist()


def parse_allowlist(entries: Iterable[str]) -> Allowlist:
    """Read allow-list entries: CIDRs (`127.0.0.1/32`), bare addresses (`::1`) or host names (`localhost`).

    Raises errors.ConfigError on more than MAX_ALLOW_ENTRIES or a malformed entry.
    """
    networks: list[IPNetwork] = []
    hosts: set[str] = set()
    for count, raw in enumerate(entries, start=1):
        if count > MAX_ALLOW_ENTRIES:
            raise errors.ConfigError(f"url allow-list: more than {MAX_ALLOW_ENTRIES} entries")
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        name = entry.lower().rstrip(".")
        if not name or len(name) > 253 or not all(c.isalnum() or c in "-._" for c in name):
            raise errors.ConfigError(f"url allow-list: cannot read {entry[:80]!r}")
        hosts.add(name)
    return Allowlist(networks=tuple(networks), hosts=frozenset(hosts))


@functools.lru_cache(maxsize=8)
def allowlist(entries: tuple[str, ...]) -> Allowlist:
    """`parse_allowlist(entries)`, read once per distinct setting (the doors check every send against it)."""
    return parse_allowlist(entries)


def check_url(url: str) -> ParsedTarget:
    """Check a callback URL's syntax: http or https, at most 2,048 characters, a host, a valid port.

    Raises errors.BlockedURL naming the rule broken. Addresses are not checked here (see `check_target`).
    """
    if len(url) > MAX_URL_LENGTH:
        raise errors.BlockedURL(f"URL longer than {MAX_URL_LENGTH} characters")
    if _CONTROL.search(url) is not None:
        raise errors.BlockedURL("URL holds whitespace or control characters")
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise errors.BlockedURL("only http and https URLs are allowed")
    return _check_authority(scheme, _netloc(rest))


def endpoint_key(url: str) -> str:
    """`scheme://host:port` of a callback URL: the one key of endpoint health, the breaker and concurrency caps.

    The guard's reading of the URL (`check_url(url).endpoint`): scheme and host lower-cased, no trailing dot, a
    name in punycode (the stdlib IDNA 2003 codec), an IP literal in canonical form (IPv6 bracketed, RFC 5952),
    the default port written out. `HTTPS://Bücher.DE./x` gives `https://xn--bcher-kva.de:443`. A key is its own
    key. A URL whose authority the guard refuses is never sent; it still gets a key (its scheme and authority,
    lower-cased), so that planning a callback never fails on it.
    """
    scheme, sep, rest = url.partition("://")
    netloc = _netloc(rest)
    try:
        return _check_authority(scheme, netloc).endpoint
    except errors.BlockedURL:
        return f"{scheme}{sep}{netloc}".lower()


def _netloc(rest: str) -> str:
    """The authority of a URL after its `scheme://`."""
    return rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]


@functools.lru_cache(maxsize=4096)
def _check_authority(scheme: str, netloc: str) -> ParsedTarget:
    try:
        parts = urllib.parse.urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError as exc:
        raise errors.BlockedURL(f"URL cannot be parsed: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise errors.BlockedURL("only http and https URLs are allowed")
    if parts.username is not None or parts.password is not None:
        raise errors.BlockedURL("URL must not carry credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise errors.BlockedURL("URL has no host")
    if port == 0:
        raise errors.BlockedURL("URL port 0 is not allowed")
    literal, percent, zone = host.partition("%")
    try:
        ip: IPAddress | None = ipaddress.ip_address(literal)
    except ValueError:
        ip = None
    if ip is None:
        try:
            host = host.encode("idna").decode("ascii").rstrip(".")
        except UnicodeError as exc:
            raise errors.BlockedURL("URL host is not a valid name") from exc
        try:
            # IDNA maps full-width digits and ideographic full stops (`１２７。０.０.１`) to an IP literal, which a
            # client dials as it is: it is judged as that address.
            ip = ipaddress.ip_address(host)
            percent = zone = ""
        except ValueError:
            if _NUMERIC_LABEL.fullmatch(host.rpartition(".")[2]) is not None:
                # `127.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`: what a resolver or a browser may read as an
                # IPv4 address is no name: refused rather than guessed at.
                raise errors.BlockedURL("URL host is not a valid name") from None
    if ip is not None:
        # One spelling per address, so that `[::1]` and `[0:0::1]` are one endpoint.
        host = _canonical(ip) + percent + zone
    return ParsedTarget(scheme=scheme, host=host.lower(), port=port or SCHEMES[scheme], ip=ip)


def _canonical(ip: IPAddress) -> str:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        # RFC 5952 section 5, spelled out: Python 3.13 changed `str()` of these, and keys are stored.
        return f"::ffff:{ip.ipv4_mapped}"
    return ip.compressed


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries, read here rather than by `ipaddress`, for the same reason."""
    value = int(ip)
    if value >> 32 == 0xFFFF:
        # IPv4-mapped ::ffff:a.b.c.d.
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if ip in _SIXTOFOUR:
        # 6to4 2002:AABB:CCDD::/48: the address follows the 16-bit prefix.
        return ipaddress.IPv4Address((value >> 80) & 0xFFFFFFFF)
    if ip in _TEREDO:
        # Teredo: the client's address, inverted, in the last 32 bits.
        return ipaddress.IPv4Address(~value & 0xFFFFFFFF)
    if ip in _NAT64:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    if value >> 32 == 0 and value > 1:
        # Deprecated IPv4-compatible form ::a.b.c.d.
        return ipaddress.IPv4Address(value)
    return None


def refusal(ip: IPAddress) -> str | None:
    """Why `ip` is refused as a callback destination, or None when it is a public address.

    Decided by this module's tables alone, never by the interpreter's `is_private` or `is_global`.
    """
    if ip in _METADATA:
        return "metadata"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_v4(ip)
        if embedded is not None:
            inner = refusal(embedded)
            return f"{inner} (embedded in IPv6)" if inner else None
    table = _REFUSED_V4 if isinstance(ip, ipaddress.IPv4Address) else _REFUSED_V6
    for net, name in table:
        if ip.version == net.version and ip in net:
            return name
    if isinstance(ip, ipaddress.IPv6Address) and ip not in _GLOBAL_UNICAST:
        return "not global"
    return None


def check_address(ip: IPAddress | str, allow: Allowlist = NOTHING, host: str | None = None) -> IPAddress:
    """Return `ip` when a callback may connect to it; raise errors.BlockedURL when it is refused.

    Refused: loopback, private, link-local, multicast, unspecified, reserved, CGNAT, metadata, and those
    inside IPv4-mapped, 6to4, Teredo or NAT64 IPv6 forms, unless `allow` admits the address or `host`.
    """
    if isinstance(ip, str):
        try:
            ip = ipaddress.ip_address(ip.partition("%")[0])
        except ValueError as exc:
            raise errors.BlockedURL("not an IP address") from exc
    if allow.admits(ip, host):
        return ip
    reason = refusal(ip)
    if reason is not None:
        raise errors.BlockedURL(f"destination address is {reason}")
    return ip


def check_target(url: str, allow: Allowlist = NOTHING) -> ParsedTarget:
    """`check_url`, plus `check_address` when the host is an IP literal (those are never resolved)."""
    target = check_url(url)
    if target.ip is not None:
        check_address(target.ip, allow)
    return target


#: Longest `health_target`; a longer one keeps its first HEALTH_CUT characters and a digest of the whole.
MAX_HEALTH_TARGET = 512
HEALTH_CUT = 480
#: What a health key's path keeps as written; any other character (non-ASCII, say) is percent-encoded, so a key
#: is printable ASCII and its length bounds its size in an index.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def health_target(url: str) -> str:
    """`scheme://host:port/path` of a callback URL: its `endpoint_key` and its path, without query or fragment.

    The path is as written (an empty one is `/`), characters outside printable ASCII percent-encoded; a target
    longer than MAX_HEALTH_TARGET keeps its first HEALTH_CUT characters, `~` and 16 hex digits of its SHA-256.
    `HTTPS://Example.COM/dr?x=1` gives `https://example.com:443/dr`. A target is its own target.
    """
    _, sep, rest = url.partition("://")
    after = rest[len(_netloc(rest)) :] if sep else ""
    path = after.split("?", 1)[0].split("#", 1)[0] or "/"
    target = endpoint_key(url) + urllib.parse.quote(path, safe=_PATH_SAFE)
    if len(target) <= MAX_HEALTH_TARGET:
        return target
    digest = hashlib.sha256(target.encode()).hexdigest()[:16]
    return f"{target[:HEALTH_CUT]}~{digest}"


def health_key(account_id: str, url: str) -> str:
    """`account_id:scheme://host:port/path`: the unit of endpoint health (pause, disable, 410 Gone).

    One account's endpoint: the account, then the URL's `health_target`. Two accounts sending to one URL have
    two keys, so neither's failures pause, disable or cancel the other's callbacks; the destination's connection
    limit stays on `endpoint_key`, shared by every account.
    """
    return f"{account_id}:{health_target(url)}"


def split_health_key(key: str) -> tuple[str, str]:
    """`(account_id, target)` of a `health_key`: the account ends at the first `:http://` or `:https://` (an
    account id holding one of those is not told apart), else at the `:` before the first `://`.

    A key without an account (`https://h:443/p`, say) gives `("", key)`.
    """
    cuts = [n for n in (key.find(":http://"), key.find(":https://")) if n > 0]
    if cuts:
        cut = min(cuts)
    else:
        start = key.find("://")
        cut = key.rfind(":", 0, start) if start > 0 else -1
    if cut <= 0 or key.startswith(("http://", "https://")):
        return "", key
    return key[:cut], key[cut + 1 :]


def health_label(key: str) -> str:
    """A health key (or target) as logs, alerts and metrics show it: its origin, and its path only as a digest.

    Customers put tokens in callback paths, so a line, an alert or a label never holds one: `/` stays `/`, any
    other path is `/~` and 12 hex digits of its SHA-256. `acc_x:https://h:443/dr?` gives `https://h:443/~…`; the
    endpoint listing (`GET /v1/endpoints`) shows each key with its label.
    """
    target = split_health_key(key)[1]
    start = target.find("://")
    slash = target.find("/", start + 3) if start >= 0 else -1
    if slash < 0:
        return target
    origin, path = target[:slash], target[slash:]
    if path == "/":
        return target
    return f"{origin}/~{hashlib.sha256(path.encode()).hexdigest()[:12]}"


_PASSWORD_PARAM = re.compile(r"(?i)([?&](?:password|passwd|sslpassword)=)[^&#]*")


def shown_url(url: str) -> str:
    """A store or Redis URL as a banner may print it: a password in its authority or its query shown as `…`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, tail = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = userinfo.partition(":")[0] + ":…@" + host
    return _PASSWORD_PARAM.sub(r"\1…", f"{scheme}://{authority}{slash}{tail}")
