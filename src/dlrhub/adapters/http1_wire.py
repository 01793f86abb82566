"""HTTP/1.1 on one connection for `http1`: the request's bytes, and an asyncio protocol reading answers with httptools."""

from __future__ import annotations

import asyncio
import dataclasses
import typing
from collections.abc import Sequence

import httptools

#: Longest header (or trailer) name or value read, in bytes (aiohttp's limit).
MAX_FIELD = 8190
#: Most bytes of an answer's header (and trailer) names and values in all.
MAX_HEAD = 65536
#: Most headers and trailers an answer may carry.
MAX_HEADERS = 100
#: Most bytes of an answer that are not its body (status line, headers, chunk framing, trailers): bounds what
#: the parser buffers of a header whose end never comes.
MAX_OVERHEAD = 2 * MAX_HEAD


class ProtocolError(ConnectionError):
    """The answer was not HTTP/1.x, or a request header could not be written."""


class HeadTooLarge(ProtocolError):
    """The answer's headers or trailers passed a limit (MAX_FIELD, MAX_HEAD, MAX_HEADERS, MAX_OVERHEAD)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Response:
    """An answer: its status, its headers as they came, and at most the pool's body limit of its body."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    #: The answer was read to its end (its body kept up to the limit); False when it was cut short: the body past
    #: the limit still coming, or the timeout or a failure after the headers.
    complete: bool

    def header(self, name: str) -> str | None:
        """The first value of header `name` (any case), or None."""
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None


def request_bytes(
    method: str, target: str, host: str, headers: Sequence[tuple[str, str]], body: bytes | None
) -> bytes:
    """The request as written: its line, Host, `headers`, Content-Length when `body` is not None, then `body`.

    Raises ProtocolError when a header would break the framing (a CR or LF in a name or a value) or is not
    Latin-1.
    """
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    lines += [f"{name}: {value}\r\n" for name, value in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}\r\n")
    lines.append("\r\n")
    head = "".join(lines)
    lines_n = len(lines) + 1
    if head.count("\n") != lines_n or head.count("\r") != lines_n:
        raise ProtocolError("a request header holds a line break")
    try:
        encoded = head.encode("latin-1")
    except UnicodeEncodeError as exc:
        raise ProtocolError("a request header is not Latin-1") from exc
    return encoded + body if body else encoded


class Connection(asyncio.Protocol):
    """One connection, one request at a time (`start`, write, await the waiter), its answer parsed as it comes.

    The waiter is done when the answer has ended, or its body reached the limit (the rest is never read: the
    connection is closed), or with an exception: TimeoutError (`time_out`), ProtocolError, or ConnectionError when
    the connection closed first. A body with neither Content-Length nor chunked framing ends when the connection
    closes (HTTP/1.0 answers, `Connection: close` without a length).
    """

    def __init__(self, registry: set[Connection]) -> None:
        self._registry = registry
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[None] | None = None
        self._limit = 0
        self.open = True
        #: Set once given back to the idle list: a later request on it rides a kept-alive connection.
        self.reused = False
        self.idle_since = 0.0
        #: Bytes came after an answer's end (an overlong body, a body on a 204, a second answer): the connection's
        #: framing cannot be trusted, so it is never reused.
        self.dirty = False
        self._clear()

    def _clear(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        #: Any byte of the answer arrived.
        self.received = False
        #: The body's end is announced (Content-Length or chunked), not marked by the close.
        self._framed = False
        self._head_bytes = 0
        #: Bytes fed to the parser that were not body bytes.
        self._overhead = 0
        self._error: ProtocolError | None = None

    # -- the caller's side ------------------------------------------------------------------------------------
    def start(self, limit: int, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
        """Ready for a new request; returns the waiter of its answer."""
        self._clear()
        self._limit = limit
        waiter = self._waiter = loop.create_future()
        if not self.open:
            waiter.set_exception(ConnectionResetError("the connection was closed"))
        return waiter

    @property
    def usable(self) -> bool:
        """Open, and not closed by the server while idle (its EOF or close already seen)."""
        return self.open and self._transport is not None and not self._transport.is_closing()

    def write(self, data: bytes) -> None:
        if self.open and self._transport is not None:
            self._transport.write(data)

    def response(self, complete: bool) -> Response:
        return Response(self.status, tuple(self.headers), bytes(self.body), complete)

    def time_out(self) -> None:
        self._finish(TimeoutError("no answer within the timeout"))

    def close(self) -> None:
        """Close gracefully (the answer was read whole)."""
        self.open = False
        self._registry.discard(self)
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        """Close at once, dropping anything unread or unsent."""
        self.open = False
        self._registry.discard(self)
        if self._transport is not None:
            self._transport.abort()

    def _finish(self, exc: BaseException | None = None) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if exc is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(exc)

    # -- asyncio's side ---------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = typing.cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._registry.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._registry.discard(self)
        if self.headers_done and not self._framed and not self.complete:
            self.complete = True  # a close-delimited body ends here
            self._finish()
        else:
            self._finish(ConnectionResetError("the connection closed before the answer ended"))

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.abort()  # bytes nobody asked for: this connection cannot be trusted with another request
            return
        self.received = True
        self._overhead += len(data)
        try:
            self._parser.feed_data(data)
            if self._overhead > MAX_OVERHEAD:
                raise HeadTooLarge(f"more than {MAX_OVERHEAD} bytes of headers and framing")
        except httptools.HttpParserUpgrade:
            self._finish(ProtocolError("the server switched protocols"))
        except HeadTooLarge as exc:
            self._finish(exc)
        except httptools.HttpParserError as exc:
            if self.complete:
                self.dirty = (
                    True  # garbage after the answer's end: the answer stands, the connection does not
                )
            else:
                self._finish(self._error or ProtocolError(f"malformed answer: {exc}"))

    def eof_received(self) -> bool:
        self.open = False  # never taken again, even before connection_lost runs
        return False  # close the transport: connection_lost judges whether the answer ended

    # -- httptools' callbacks ---------------------------------------------------------------------------------
    # Once an answer is complete it is frozen: anything the parser reads after it in the same bytes (a next
    # answer nobody asked for) only marks the connection dirty.
    def on_message_begin(self) -> None:
        if self.complete:
            self.dirty = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.complete:
            return
        self._head_bytes += len(name) + len(value)
        if len(name) > MAX_FIELD or len(value) > MAX_FIELD:
            self._error = HeadTooLarge(f"a header longer than {MAX_FIELD} bytes")
        elif len(self.headers) >= MAX_HEADERS:
            self._error = HeadTooLarge(f"more than {MAX_HEADERS} headers")
        elif self._head_bytes > MAX_HEAD:
            self._error = HeadTooLarge(f"more than {MAX_HEAD} bytes of headers")
        if self._error is not None:
            raise self._error  # httptools stops and raises HttpParserCallbackError
        lower = name.lower()
        if lower == b"content-length" or lower == b"transfer-encoding":
            self._framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        self.status = self._parser.get_status_code()
        if self.status >= 200:
            self.headers_done = True
            self.keep_alive = self._parser.should_keep_alive()
        if self.status in (204, 304):
            self._framed = True  # no body, whatever the headers say

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        self._overhead -= len(body)
        room = self._limit - len(self.body)
        if room > 0:
            self.body += body[:room]
        if len(body) > room:
            self._finish()  # past the limit: the rest is not read (the caller closes the connection)

    def on_message_complete(self) -> None:
        if self.complete:
            return
        if self.status < 200:
            self._clear()  # an interim answer (100 Continue...): the real one follows
            self.received = True
            return
        self.complete = True
        self._finish()
