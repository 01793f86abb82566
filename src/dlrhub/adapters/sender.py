"""The sender: one pooled keep-alive aiohttp session per worker that makes one attempt of a callback."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import functools
import ipaddress
import ssl
import time
from collections.abc import Mapping, Sequence
from types import TracebackType

import aiohttp
import multidict
import yarl

from dlrhub.adapters import resolver
from dlrhub.core import clock as clock_
from dlrhub.core import errors, models, retry, urls
from dlrhub.core import signing as webhook_signing

USER_AGENT = "dlrhub-webhooks/0.1"
#: How much of an answer's body an Attempt keeps.
RESPONSE_KEEP = 1024
#: Endpoint semaphores kept when idle, before idle ones are dropped.
IDLE_LIMITERS = 4096
#: URLs whose guard verdict and wire form a sender remembers (all forgotten at once past this).
TARGETS_KEPT = 4096


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


class EndpointLimiter:
    """A cap on requests in flight per destination; idle caps are forgotten so the table stays bounded."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise errors.ConfigError("per-endpoint concurrency must be at least 1")
        self.limit = limit
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._busy: collections.Counter[str] = collections.Counter()

    def in_flight(self, endpoint: str) -> int:
        """Requests holding or waiting for the cap of `endpoint`."""
        return self._busy[endpoint]

    async def acquire(self, endpoint: str) -> None:
        """Wait for one of `endpoint`'s slots; pair with `release`."""
        sem = self._sems.get(endpoint)
        if sem is None:
            if len(self._sems) >= IDLE_LIMITERS:
                self._forget_idle()
            sem = self._sems[endpoint] = asyncio.Semaphore(self.limit)
        self._busy[endpoint] += 1
        try:
            await sem.acquire()
        except BaseException:
            self._done(endpoint)
            raise

    def release(self, endpoint: str) -> None:
        """Give back a slot taken by `acquire`."""
        self._sems[endpoint].release()
        self._done(endpoint)

    def _done(self, endpoint: str) -> None:
        left = self._busy[endpoint] - 1
        if left <= 0:
            del self._busy[endpoint]
        else:
            self._busy[endpoint] = left

    def _forget_idle(self) -> None:
        for key in [k for k in self._sems if k not in self._busy]:
            del self._sems[key]


class Slots:
    """The pool's cap: `limit` held at once, the others waiting in FIFO order. asyncio.Semaphore (Python 3.11)
    walks all its waiters on an acquire made while any wait; a full pool of a busy fleet has hundreds waiting."""

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        """Wait for a slot; pair with `release`."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed a slot just as it was cancelled: pass it on
            else:
                waiter.cancel()  # skipped by `release`
            raise

    def release(self) -> None:
        """Give a slot back: to the first waiter still waiting, if any."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._free += 1


@functools.lru_cache(maxsize=64)
def _plain_headers(content_type: str | None) -> multidict.CIMultiDictProxy[str] | None:
    """The headers of an unsigned attempt, built once per content type: aiohttp copies them into each request
    instead of converting a dict every time."""
    if not content_type:
        return None
    return multidict.CIMultiDictProxy(multidict.CIMultiDict({"Content-Type": content_type}))


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
    wire: yarl.URL
    #: `str(wire)`: what a GET's signature covers when it differs from the URL as stored.
    wire_text: str


def _check_literal(host: str, allow: urls.Allowlist) -> None:
    try:
        ip = ipaddress.ip_address(host.strip("[]").partition("%")[0])
    except ValueError:
        return
    urls.check_address(ip, allow)


def tls_context(ca_file: str = "") -> ssl.SSLContext | bool:
    """How https callbacks are verified: the system's CAs (honouring `SSL_CERT_FILE`), plus `ca_file`'s if given.

    Either way the certificate must name the URL's host: the connection goes to the address the guard admitted,
    and the TLS handshake names the host (SNI) and checks the certificate against it.
    Raises errors.ConfigError when `ca_file` cannot be read as PEM certificates.
    """
    if not ca_file:
        return True  # aiohttp's own verified context
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise errors.ConfigError(f"callback CA file {ca_file!r}: {exc}") from exc
    context.set_alpn_protocols(("http/1.1",))
    return context


def _classify(exc: BaseException) -> models.AttemptOutcome:
    if isinstance(exc, errors.BlockedURL | aiohttp.InvalidURL):
        # InvalidURL: aiohttp refuses it too (e.g. a legacy numeric IPv4 host such as `127.1`).
        return models.AttemptOutcome.BLOCKED_URL
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
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
        self._session: aiohttp.ClientSession | None = None
        self.limiter = EndpointLimiter(self.config.per_endpoint)
        if self.config.pool_size < 1:
            raise errors.ConfigError("the sender's pool size must be at least 1")
        self._slots = Slots(self.config.pool_size)
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
        """Open the pooled session."""
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            # Concurrency is capped by `_slots` instead, so no request ever queues inside aiohttp's pool
            # (where the wait would count against its timeout).
            limit=0,
            limit_per_host=0,
            resolver=resolver.GuardedResolver(self.config.allow, self._inner_resolver),
            ttl_dns_cache=10,
            enable_cleanup_closed=False,
            ssl=tls_context(self.config.ca_file),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=self.config.timeout_s),
            headers={"User-Agent": USER_AGENT},
            auto_decompress=False,
            skip_auto_headers=("Accept-Encoding",),
            # One session serves every account: a receiver's Set-Cookie must not ride on the next callback to
            # its host, which may be another account's.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def close(self) -> None:
        """Close the session and its connections."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()

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
        await self.limiter.acquire(target.endpoint)
        try:
            await self._slots.acquire()
            try:
                started_at = self._clock()
                t0 = time.perf_counter()
                return await self._attempt(callback.id, number, request, target, secrets, started_at, t0)
            finally:
                self._slots.release()
        finally:
            self.limiter.release(target.endpoint)

    def _target(self, url: str) -> _Target:
        """Guard `url` (raises errors.BlockedURL) and remember the verdict."""
        checked = urls.check_url(url)
        if checked.ip is not None and checked.ip not in self._admitted:
            # An IP literal is never resolved: its address is checked here, once per address (the allowlist is
            # fixed), since URLs that differ only in path or query (`/cb/1`, `?id=2`) are each new to `_targets`.
            urls.check_address(checked.ip, self.config.allow)
            if len(self._admitted) >= TARGETS_KEPT:
                self._admitted.clear()
            self._admitted.add(checked.ip)
        wire = _wire_url(url)
        if wire.raw_host != checked.host and checked.ip is None:
            # yarl reads the host unlike the guard: an IP literal to yarl is never resolved, so check it.
            _check_literal(wire.raw_host or "", self.config.allow)
        if len(self._targets) >= TARGETS_KEPT:
            self._targets.clear()
        target = self._targets[url] = _Target(checked.endpoint, wire, str(wire))
        return target

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
        if self._session is None:
            raise RuntimeError("Sender.send before Sender.start")
        headers: Mapping[str, str] | None = _plain_headers(request.content_type)
        if secrets:
            wire_text = target.wire_text
            signed = request if wire_text == request.url else dataclasses.replace(request, url=wire_text)
            signing = webhook_signing.headers_for(callback_id, int(started_at.timestamp()), secrets, signed)
            headers = multidict.CIMultiDict(signing)
            if request.content_type:
                headers["Content-Type"] = request.content_type
        status: int | None = None
        body = b""
        retry_after: str | None = None
        try:
            async with self._session.request(
                request.method,
                target.wire,
                data=request.body if request.method.upper() != "GET" else None,
                headers=headers,
                allow_redirects=False,
            ) as resp:
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
                # A short answer is usually whole by now: one read, none more to find its end.
                while len(body) < RESPONSE_KEEP and not resp.content.at_eof():
                    chunk = await resp.content.read(RESPONSE_KEEP - len(body))
                    if not chunk:
                        break
                    body += chunk
                if not resp.content.at_eof():
                    # Do not read a large body through: drop the connection instead of reusing it.
                    resp.close()
        except (aiohttp.ClientError, TimeoutError, OSError, errors.BlockedURL) as exc:
            if status is None:
                return models.Attempt(
                    callback_id=callback_id,
                    number=number,
                    started_at=started_at,
                    duration_ms=(time.perf_counter() - t0) * 1000.0,
                    outcome=_classify(exc),
                    error=(type(exc).__name__ + ": " + str(exc))[:200],
                )
            # The status line arrived but the body did not: judge by the status.
        assert status is not None
        delay = retry.parse_retry_after(retry_after, started_at)
        return models.Attempt(
            callback_id=callback_id,
            number=number,
            started_at=started_at,
            duration_ms=(time.perf_counter() - t0) * 1000.0,
            outcome=models.AttemptOutcome.OK if 200 <= status <= 299 else models.AttemptOutcome.HTTP_STATUS,
            status_code=status,
            response=body.decode("utf-8", errors="replace"),
            retry_after_s=delay.total_seconds() if delay is not None else None,
        )
