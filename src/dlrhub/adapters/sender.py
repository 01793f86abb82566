"""The sender: one pool of keep-alive connections (`http1`) per worker, making one attempt of a callback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import ipaddress
import socket
import ssl
import time
from collections.abc import Sequence
from types import TracebackType

import aiohttp.abc
import yarl

from dlrhub.adapters import caps, http1, resolver
from dlrhub.core import clock as clock_
from dlrhub.core import errors, models, retry, urls
from dlrhub.core import signing as webhook_signing

USER_AGENT = "dlrhub-webhooks/0.1"
#: How much of an answer's body an Attempt keeps.
RESPONSE_KEEP = 1024
#: URLs whose guard verdict and wire form a sender remembers (all forgotten at once past this).
TARGETS_KEPT = 4096
#: Seconds a name's admitted addresses are reused for new connections (aiohttp's `ttl_dns_cache` before).
DNS_TTL_S = 10.0


def storable(text: str) -> str:
    """`text` from a receiver (its answer, an error naming what it sent) as an attempt stores it: NUL, which
    PostgreSQL's text cannot hold, shown as U+FFFD. Stored as it came, it failed the batch's write, and the
    recorder kept retrying it, with every other account's attempts of that batch."""
    return text.replace("\x00", "\ufffd")


@dataclasses.dataclass(frozen=True, slots=True)
class SenderConfig:
    """How the sender's HTTP client behaves."""

    #: Seconds before an attempt counts as a timeout (connect, send and read the first 1 KB).
    timeout_s: float = 10.0
    #: Requests in flight at once across all destinations (and so, connections open at once).
    pool_size: int = 256
    #: Requests in flight at once to one destination (scheme, host, port).
    per_endpoint: int = 64
    allow: urls.Allowlist = urls.NOTHING
    #: A PEM file of CA certificates trusted for https callbacks besides the system's ("": the system's alone).
    ca_file: str = ""


@functools.lru_cache(maxsize=64)
def _plain_headers(content_type: str | None) -> tuple[tuple[str, str], ...]:
    """The headers of an unsigned attempt besides Host and Content-Length, built once per content type."""
    if not content_type:
        return (("User-Agent", USER_AGENT),)
    return (("User-Agent", USER_AGENT), ("Content-Type", content_type))


@functools.lru_cache(maxsize=TARGETS_KEPT)
def _destination(scheme: str, host: str, port: int) -> http1.Destination:
    # A fleet's URLs differ in path (`/cb/1`, `/cb/2`) far more than in destination: each new URL parsed its
    # host as an IP address again (about a twentieth of the dispatcher's CPU a callback in bench/fleet.py).
    return http1.Destination.of(scheme, host, port)


@functools.lru_cache(maxsize=TARGETS_KEPT)
def _ip(literal: str) -> urls.IPAddress:
    """An IP literal's address (raises ValueError), parsed once per literal."""
    return ipaddress.ip_address(literal.partition("%")[0])


def _wire_url(url: str) -> yarl.URL:
    # Send an ASCII URL byte for byte (the GET signature covers its exact query); quote anything else once.
    try:
        return yarl.URL(url, encoded=url.isascii())
    except ValueError as exc:
        raise errors.BlockedURL(f"URL cannot be parsed: {exc}") from exc


@dataclasses.dataclass(frozen=True, slots=True)
class _Target:
    """A callback URL the guard let through: its destination (`urls.endpoint_key`) and the URL as sent."""

    endpoint: str
    #: Where it is sent: the pool's key (the host as sent: punycode, the port written out).
    dest: http1.Destination
    #: The request target: path and query, encoded as sent.
    path: str
    #: The URL as sent: what a GET's signature covers when it differs from the URL as stored.
    wire_text: str


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """How https callbacks are verified: the system's CAs (honouring `SSL_CERT_FILE`), plus `ca_file`'s if given.

    Either way the certificate must name the URL's host: the connection goes to the address the guard admitted,
    and the TLS handshake names the host (SNI) and checks the certificate against it.
    Raises errors.ConfigError when `ca_file` cannot be read as PEM certificates.
    """
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise errors.ConfigError(f"callback CA file {ca_file!r}: {exc}") from exc
    context.set_alpn_protocols(("http/1.1",))
    return context


def _classify(exc: BaseException) -> models.AttemptOutcome:
    if isinstance(exc, errors.BlockedURL):
        return models.AttemptOutcome.BLOCKED_URL
    if isinstance(exc, http1.ResolveError):
        return models.AttemptOutcome.DNS
    if isinstance(exc, TimeoutError):
        return models.AttemptOutcome.TIMEOUT
    return models.AttemptOutcome.CONNECT


class Sender:
    """Makes attempts: guard the URL, sign, send, classify, keep the first 1 KB. Use as an async context."""

    def __init__(
        self,
        config: SenderConfig | None = None,
        clock: clock_.Clock = clock_.utcnow,
        resolver: aiohttp.abc.AbstractResolver | None = None,
    ) -> None:
        self.config = config or SenderConfig()
        self._clock = clock
        self._inner_resolver = resolver
        self._pool: http1.Pool | None = None
        self._guard: aiohttp.abc.AbstractResolver | None = None
        #: (host, port) -> (monotonic expiry, the addresses the guard admitted).
        self._dns: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self.limiter = caps.EndpointLimiter(self.config.per_endpoint)
        if self.config.pool_size < 1:
            raise errors.ConfigError("the sender's pool size must be at least 1")
        self._slots = caps.Slots(self.config.pool_size)
        #: The guard's verdict on a URL's text is the same every time (the allowlist is fixed): it is checked
        #: once, not per attempt. Names are still resolved, and their addresses checked, per connection.
        self._targets: dict[str, _Target] = {}
        #: IP literals of URLs the guard admitted.
        self._admitted: set[urls.IPAddress] = set()

    async def __aenter__(self) -> Sender:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the connection pool. It keeps no cookies: one pool serves every account, and a receiver's
        Set-Cookie must not ride on the next callback to its host, which may be another account's."""
        if self._pool is not None:
            return
        self._guard = resolver.GuardedResolver(self.config.allow, self._inner_resolver)
        # Concurrency is capped by `_slots` and `limiter`: no request queues inside the pool (where the wait
        # would count against its timeout).
        self._pool = http1.Pool(
            self._resolve,
            tls_context(self.config.ca_file),
            body_limit=RESPONSE_KEEP,
            max_idle=self.config.pool_size,
            admit=self._admit,
        )

    async def close(self) -> None:
        """Close the pool and its connections."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _resolve(self, host: str, port: int) -> list[str]:
        """The addresses of `host` the guard admits (raises errors.BlockedURL when none), kept DNS_TTL_S."""
        now = time.monotonic()
        key = (host, port)
        known = self._dns.get(key)
        if known is not None and known[0] > now:
            return known[1]
        assert self._guard is not None
        found = await self._guard.resolve(host, port, socket.AF_UNSPEC)
        addresses = list(dict.fromkeys(r["host"] for r in found))
        if len(self._dns) >= TARGETS_KEPT:
            self._dns.clear()
        self._dns[key] = (now + DNS_TTL_S, addresses)
        return addresses

    async def send(
        self,
        callback: models.Callback,
        secrets: Sequence[str] = (),
        url: str | None = None,
    ) -> models.Attempt:
        """Make attempt `callback.attempts + 1` of `callback`, to `url` when given (a replay elsewhere).

        Never raises for a failed attempt: every failure is an Attempt with its outcome class.
        """
        number = callback.attempts + 1
        request = callback.request if url is None else dataclasses.replace(callback.request, url=url)
        try:
            target = self._targets.get(request.url) or self._target(request.url)
        except errors.BlockedURL as exc:
            return models.Attempt(
                callback_id=callback.id,
                number=number,
                started_at=self._clock(),
                duration_ms=0.0,
                outcome=models.AttemptOutcome.BLOCKED_URL,
                error=str(exc)[:200],
            )
        # The destination's slot first, then one of the pool's: a stuck destination waits on its own cap and
        # holds at most that many of the pool. The timeout starts once both are held, so waiting for a slot is
        # never counted against a healthy receiver.
        endpoint = target.endpoint
        if not self.limiter.take(endpoint):
            await self.limiter.acquire(endpoint)
        try:
            if not self._slots.take():
                await self._slots.acquire()
            try:
                started_at = self._clock()
                t0 = time.perf_counter()
                return await self._attempt(callback.id, number, request, target, secrets, started_at, t0)
            finally:
                self._slots.release()
        finally:
            self.limiter.release(endpoint)

    def _target(self, url: str) -> _Target:
        """Guard `url` (raises errors.BlockedURL) and remember the verdict."""
        checked = urls.check_url(url)
        if checked.ip is not None:
            self._admit(checked.ip)
        wire = _wire_url(url)
        if wire.scheme not in ("http", "https") or not wire.raw_host or wire.port is None:
            raise errors.BlockedURL("URL cannot be parsed")
        dest = _destination(wire.scheme, wire.raw_host, wire.port)
        if dest.literal:
            # What is dialled unresolved is checked as the address it is, however the guard read the URL.
            self._admit(dest.host)
        if len(self._targets) >= TARGETS_KEPT:
            self._targets.clear()
        target = self._targets[url] = _Target(checked.endpoint, dest, wire.raw_path_qs, str(wire))
        return target

    def _admit(self, literal: urls.IPAddress | str) -> None:
        """Check an IP literal's address (raises errors.BlockedURL), once per address (the allowlist is fixed):
        URLs that differ only in path or query (`/cb/1`, `?id=2`) are each new to `_targets`."""
        ip = _ip(literal) if isinstance(literal, str) else literal
        if ip in self._admitted:
            return
        urls.check_address(ip, self.config.allow)
        if len(self._admitted) >= TARGETS_KEPT:
            self._admitted.clear()
        self._admitted.add(ip)

    async def _attempt(
        self,
        callback_id: str,
        number: int,
        request: models.CallbackRequest,
        target: _Target,
        secrets: Sequence[str],
        started_at: dt.datetime,
        t0: float,
    ) -> models.Attempt:
        if self._pool is None:
            raise RuntimeError("Sender.send before Sender.start")
        headers: Sequence[tuple[str, str]] = _plain_headers(request.content_type)
        if secrets:
            wire_text = target.wire_text
            signed = request if wire_text == request.url else dataclasses.replace(request, url=wire_text)
            signing = webhook_signing.headers_for(callback_id, int(started_at.timestamp()), secrets, signed)
            headers = [*headers, *signing.items()]
        method = request.method.upper()
        try:
            answer = await self._pool.request(
                target.dest,
                method,
                target.path,
                headers,
                None if method == "GET" else request.body,
                self.config.timeout_s,
            )
        except (OSError, errors.BlockedURL) as exc:  # TimeoutError, http1's errors, TLS, refused, reset
            return models.Attempt(
                callback_id=callback_id,
                number=number,
                started_at=started_at,
                duration_ms=(time.perf_counter() - t0) * 1000.0,
                outcome=_classify(exc),
                error=storable(type(exc).__name__ + ": " + str(exc))[:200],
            )
        # A body cut short after the status line (the limit, a timeout, a close) is judged by the status.
        status = answer.status
        delay = retry.parse_retry_after(answer.header("Retry-After"), started_at)
        return models.Attempt(
            callback_id=callback_id,
            number=number,
            started_at=started_at,
            duration_ms=(time.perf_counter() - t0) * 1000.0,
            outcome=models.AttemptOutcome.OK if 200 <= status <= 299 else models.AttemptOutcome.HTTP_STATUS,
            status_code=status,
            response=storable(answer.body.decode("utf-8", errors="replace")),
            retry_after_s=delay.total_seconds() if delay is not None else None,
        )
