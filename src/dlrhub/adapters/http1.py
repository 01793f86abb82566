"""The callback sender's HTTP/1.1 client: keep-alive connections per destination, answers read by httptools.

Lean by design (ADR 0011): one request per connection at a time, written in one `write`; the status, headers
and at most `body_limit` bytes of the body read by httptools; no cookies, no redirects, no compression, no
retries but one (an idempotent request on a reused connection the server closed before any answer came back; an
idle connection the server closed is seen before it is used). A connection goes
back to its destination's idle list only when its answer ended and both ends keep it alive; a timed-out,
failed, cut-short or half-read one is closed, never reused.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Sequence

import aiohappyeyeballs

from dlrhub.adapters import http1_wire as wire

#: Seconds an idle connection is kept (aiohttp's default keep-alive).
IDLE_S = 15.0

#: Seconds before the next address is tried while one is still connecting (RFC 8305, aiohttp's).
HAPPY_EYEBALLS_S = 0.25

#: Methods sent again on a new connection when a kept-alive one closes before any answer (RFC 9110 9.2.2). A POST
#: the server may have read is never sent twice: its failure is the attempt's outcome, retried by the dispatcher.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})

#: Answers a name's addresses for a port, each already admitted by the URL guard.
Resolve = Callable[[str, int], Awaitable[Sequence[str]]]
Response = wire.Response
ProtocolError = wire.ProtocolError


class ResolveError(OSError):
    """The destination's name did not resolve."""


@dataclasses.dataclass(frozen=True, slots=True)
class Destination:
    """Where requests go: the pool's key. `host` is a name (punycode) or an IP literal (no brackets)."""

    scheme: str
    host: str
    port: int
    #: The Host header: `host`, bracketed when IPv6, with `:port` unless it is the scheme's default.
    host_header: str
    #: `host` is an IP literal: dialled as it is, never resolved.
    literal: bool

    @classmethod
    def of(cls, scheme: str, host: str, port: int) -> Destination:
        """The destination of a URL's scheme (http or https), host and port. A fully qualified name's trailing
        dot is dropped (as aiohttp did): the certificate, SNI and Host name the host without it."""
        host = host.rstrip(".") or host
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        shown = f"[{host}]" if ip is not None and ip.version == 6 else host
        default = {"http": 80, "https": 443}.get(scheme)
        return cls(scheme, host, port, shown if port == default else f"{shown}:{port}", ip is not None)

    @property
    def tls(self) -> bool:
        return self.scheme == "https"


def _addr_info(address: str, port: int) -> aiohappyeyeballs.AddrInfoType:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))


class _Stale(Exception):
    """A reused connection was closed by the server before any byte of the answer came back."""


class Pool:
    """Keep-alive connections per destination. Concurrency is the caller's to cap; `max_idle` bounds the idle.

    Use `request`, then `close` once done.
    """

    def __init__(
        self,
        resolve: Resolve,
        ssl_context: ssl.SSLContext | None = None,
        body_limit: int = 1024,
        max_idle: int = 1024,
        admit: Callable[[str], None] | None = None,
    ) -> None:
        self._resolve = resolve
        #: Checks an IP literal before it is dialled unresolved (raises to refuse it).
        self._admit = admit
        self._ssl = ssl_context
        self._limit = body_limit
        self._max_idle = max_idle
        self._idle: dict[Destination, list[wire.Connection]] = collections.defaultdict(list)
        self._idle_count = 0
        self._open: set[wire.Connection] = set()
        self._sweep_at = 0.0
        self._turn = 0
        #: Set by `close`: requests still in flight are never retried, nor their connections kept.
        self._closed = False

    def open_connections(self) -> int:
        """Connections open now, idle or busy."""
        return len(self._open)

    async def request(
        self,
        dest: Destination,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes | None,
        timeout_s: float,
    ) -> wire.Response:
        """Send one request and read its answer, within `timeout_s` in all (connect, send, read).

        `target` is the request target as sent (path and query, already encoded); `body` None sends no
        Content-Length (a GET). Returns the answer with at most `body_limit` bytes of its body; once the status
        and headers are in, a failure or the timeout while the body is read returns what arrived
        (`complete` False). Raises TimeoutError, ResolveError, ProtocolError, OSError (refused, reset, TLS) or
        whatever `resolve` raises (the guard's errors.BlockedURL) when no answer came.
        """
        if self._closed:
            raise ConnectionResetError("the connection pool is closed")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        data = wire.request_bytes(method, target, dest.host_header, headers, body)
        conn = self._take(dest, loop.time())
        if conn is not None:
            try:
                return await self._exchange(dest, conn, data, deadline, loop, method in IDEMPOTENT)
            except _Stale as stale:
                if self._closed:
                    raise stale.__cause__ or ConnectionResetError("the connection pool is closed") from None
                # the server closed it as it was taken: a GET once more on a new connection
        conn = await self._connect(dest, deadline, loop)
        return await self._exchange(dest, conn, data, deadline, loop)

    def _take(self, dest: Destination, now: float) -> wire.Connection | None:
        if now >= self._sweep_at:
            self._sweep(now)
        idle = self._idle.get(dest)
        while idle:
            conn = idle.pop()
            self._idle_count -= 1
            if conn.usable and now - conn.idle_since < IDLE_S:
                return conn
            conn.abort()
        return None

    def _give_back(self, dest: Destination, conn: wire.Connection, now: float) -> None:
        if self._closed or self._idle_count >= self._max_idle:
            conn.close()
            return
        conn.idle_since = now
        conn.reused = True
        self._idle[dest].append(conn)
        self._idle_count += 1

    def _sweep(self, now: float) -> None:
        """Close the connections idle too long, and forget destinations with none left."""
        self._sweep_at = now + IDLE_S / 2
        for dest in list(self._idle):
            idle = self._idle[dest]
            kept = [c for c in idle if c.open and now - c.idle_since < IDLE_S]
            for conn in idle:
                if conn not in kept:
                    conn.abort()
            self._idle_count -= len(idle) - len(kept)
            if kept:
                self._idle[dest] = kept
            else:
                del self._idle[dest]

    async def _connect(
        self, dest: Destination, deadline: float, loop: asyncio.AbstractEventLoop
    ) -> wire.Connection:
        async with asyncio.timeout_at(deadline):
            if dest.literal:
                if self._admit is not None:
                    self._admit(dest.host)
                addresses: Sequence[str] = (dest.host,)
            else:
                try:
                    addresses = await self._resolve(dest.host, dest.port)
                except OSError as exc:
                    raise ResolveError(f"{dest.host}: {exc}") from exc
            if not addresses:
                raise ResolveError(f"{dest.host}: no address")
            # Happy Eyeballs (RFC 8305) over the admitted addresses alone, each connection starting at the next
            # one in turn: a dead address costs a connection HAPPY_EYEBALLS_S, not the whole timeout.
            self._turn += 1
            turn = self._turn % len(addresses)
            sock = await aiohappyeyeballs.start_connection(
                [_addr_info(a, dest.port) for a in (*addresses[turn:], *addresses[:turn])],
                happy_eyeballs_delay=HAPPY_EYEBALLS_S,
            )
            try:
                _, conn = await loop.create_connection(
                    lambda: wire.Connection(self._open),
                    sock=sock,
                    ssl=self._ssl if dest.tls else None,
                    # The certificate is checked against the URL's host, not the pinned address.
                    server_hostname=dest.host if dest.tls else None,
                )
            except BaseException:
                sock.close()
                raise
            if self._closed:
                conn.abort()  # opened as the pool closed: nothing may stay open after `close`
                raise ConnectionResetError("the connection pool is closed")
            return conn

    async def _exchange(
        self,
        dest: Destination,
        conn: wire.Connection,
        data: bytes,
        deadline: float,
        loop: asyncio.AbstractEventLoop,
        retry: bool = False,
    ) -> wire.Response:
        waiter = conn.start(self._limit, loop)
        timer = loop.call_at(deadline, conn.time_out)
        try:
            conn.write(data)
            await waiter
        except BaseException as exc:
            conn.abort()
            if retry and isinstance(exc, ConnectionError) and conn.reused and not conn.received:
                raise _Stale from exc
            if not conn.headers_done or not isinstance(exc, Exception) or isinstance(exc, wire.HeadTooLarge):
                raise
            return conn.response(complete=False)
        finally:
            timer.cancel()
        response = conn.response(complete=conn.complete)
        if conn.complete and conn.keep_alive and conn.usable and not conn.dirty:
            self._give_back(dest, conn, loop.time())
        else:
            conn.abort() if not conn.complete else conn.close()
        return response

    async def close(self) -> None:
        """Close every connection, idle or busy; requests in flight fail, and none is sent again."""
        self._closed = True
        for conn in list(self._open):
            conn.abort()
        self._idle.clear()
        self._idle_count = 0
        await asyncio.sleep(0)  # let the transports' connection_lost run
