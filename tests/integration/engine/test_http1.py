"""The callback HTTP/1.1 client (`adapters.http1`) against real loopback servers that write the answer's bytes
as each test scripts them: keep-alive reuse, every body framing, timeouts, cut-short answers and TLS."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import uvloop

from dlrhub.adapters import http1, http1_wire
from dlrhub.adapters import sender as sender_
from tests import certs

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#: A script: given the connection's number (from 0) and the request's number on it (from 0), the bytes to
#: answer with, then whether to close; HOLD holds the request unanswered until the server stops.
Script = Callable[[int, int], tuple[bytes | None, bool]]
HOLD: tuple[bytes | None, bool] = (None, False)


class RawServer:
    """A loopback HTTP/1.1 server that answers with scripted bytes and counts connections and requests."""

    def __init__(self, script: Script, context: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.context = context
        self.connections = 0
        #: (connection number, method, target, the head's lines, body) per request.
        self.requests: list[tuple[int, str, str, list[str], bytes]] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._stop = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            for index in range(1_000_000):
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")[:-2]
                method, target, _ = lines[0].split(" ")
                length = next(
                    (int(h.split(":")[1]) for h in lines if h.lower().startswith("content-length")), 0
                )
                body = await reader.readexactly(length)
                self.requests.append((number, method, target, lines[1:], body))
                answer, close = self.script(number, index)
                if answer is None and not close:
                    await self._stop.wait()
                    return
                if answer:
                    writer.write(answer)
                    await writer.drain()
                if close:
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._stop.set()
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    def dest(self, host: str = "127.0.0.1", scheme: str = "http") -> http1.Destination:
        return http1.Destination.of(scheme, host, self.port)


async def no_names(host: str, port: int) -> list[str]:
    raise AssertionError(f"{host} resolved: IP literals are dialled as they are")


@pytest.fixture
async def pool() -> AsyncIterator[http1.Pool]:
    p = http1.Pool(no_names, body_limit=1024)
    yield p
    await p.close()


def always(answer: bytes, close: bool = False) -> Script:
    return lambda _conn, _index: (answer, close)


async def post(pool: http1.Pool, server: RawServer, timeout_s: float = 2.0) -> http1.Response:
    return await pool.request(
        server.dest(), "POST", "/cb?x=%7B", (("Content-Type", "application/json"),), b'{"a":1}', timeout_s
    )


async def test_keep_alive_connections_are_reused_and_the_request_is_written_whole(pool):
    async with RawServer(always(OK)) as server:
        answers = [await post(pool, server) for _ in range(5)]
        await asyncio.gather(*(post(pool, server) for _ in range(3)))
        await asyncio.gather(*(post(pool, server) for _ in range(3)))
    assert [(a.status, a.body, a.complete) for a in answers] == [(200, b"ok", True)] * 5
    assert len(server.requests) == 11
    assert server.connections == 3  # one for the first five, then at most three at once, reused
    _, method, target, lines, body = server.requests[0]
    assert (method, target, body) == ("POST", "/cb?x=%7B", b'{"a":1}')
    assert lines == [f"Host: 127.0.0.1:{server.port}", "Content-Type: application/json", "Content-Length: 7"]
    assert not any(line.lower().startswith("cookie") for *_, lines, _ in server.requests for line in lines)


async def test_a_get_has_no_content_length(pool):
    async with RawServer(always(OK)) as server:
        answer = await pool.request(server.dest(), "GET", "/cb?id=1", (), None, 2.0)
    assert answer.status == 200
    assert server.requests[0][1:4] == ("GET", "/cb?id=1", [f"Host: 127.0.0.1:{server.port}"])


async def test_a_chunked_answer_is_read_whole_and_its_connection_reused(pool):
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    async with RawServer(always(chunked)) as server:
        first, second = await post(pool, server), await post(pool, server)
    assert (first.body, first.complete, second.body) == (b"hello world", True, b"hello world")
    assert server.connections == 1


async def test_a_close_delimited_answer_ends_with_the_close_and_its_connection_is_not_reused(pool):
    async with RawServer(always(b"HTTP/1.1 200 OK\r\nRetry-After: 7\r\n\r\nall of it", close=True)) as server:
        first, second = await post(pool, server), await post(pool, server)
    assert (first.status, first.body, first.complete) == (200, b"all of it", True)
    assert first.header("retry-after") == "7"
    assert second.body == b"all of it"
    assert server.connections == 2


@pytest.mark.parametrize(
    ("answer", "closes"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\n\r\nok", True),
    ],
    ids=["connection-close", "http-1.0", "http-1.0-close-delimited"],
)
async def test_an_answer_that_does_not_keep_alive_closes_its_connection(pool, answer, closes):
    # Where the length is known the server keeps its end open: the client alone must see the connection is done.
    async with RawServer(always(answer, closes)) as server:
        first, second = await post(pool, server), await post(pool, server)
    assert (first.status, first.body, second.body) == (200, b"ok", b"ok")
    assert server.connections == 2


async def test_an_interim_answer_is_skipped(pool):
    async with RawServer(always(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)) as server:
        answer = await post(pool, server)
    assert (answer.status, answer.body) == (200, b"ok")


async def test_a_hang_times_out_and_its_connection_is_never_reused(pool):
    async with RawServer(lambda conn, index: HOLD if conn == 0 and index == 1 else (OK, False)) as server:
        await post(pool, server)
        with pytest.raises(TimeoutError):
            await post(pool, server, timeout_s=0.2)
        assert pool.open_connections() == 0
        after = await post(pool, server)
    assert after.status == 200
    assert [r[0] for r in server.requests] == [0, 0, 1]


async def test_a_body_cut_short_is_returned_with_its_status_and_the_connection_dropped(pool):
    head = b"HTTP/1.1 503 Busy\r\nContent-Length: 100\r\n\r\n" + b"x" * 10

    def script(conn: int, index: int) -> tuple[bytes | None, bool]:
        if conn == 0:
            return head, index == 0  # closed mid-body, then (second connection) the body never ends
        if conn == 1:
            return head, False
        return OK, False

    async with RawServer(script) as server:
        closed = await post(pool, server)
        # the second connection's body stalls: the timeout returns what came
        stalled = await post(pool, server, timeout_s=0.3)
        after = await post(pool, server)
    assert (closed.status, closed.body, closed.complete) == (503, b"x" * 10, False)
    assert (stalled.status, stalled.body, stalled.complete) == (503, b"x" * 10, False)
    assert after.status == 200
    assert server.connections == 3


async def test_a_close_before_any_answer_is_a_connection_error(pool):
    async with RawServer(always(b"", close=True)) as server:
        with pytest.raises(ConnectionError):
            await post(pool, server)


async def test_a_reused_connection_closed_as_it_is_taken_is_retried_once_on_a_new_one(pool):
    # Each connection answers its first request, then closes on the next without answering (the race of a
    # keep-alive connection the server drops while idle): a GET is sent once more, on a new connection.
    async with RawServer(lambda conn, index: (OK, False) if index == 0 else (b"", True)) as server:
        first, second = [await pool.request(server.dest(), "GET", "/g", (), None, 2.0) for _ in range(2)]
    assert (first.status, second.status) == (200, 200)
    assert [r[0] for r in server.requests] == [0, 0, 1]


async def test_a_large_body_is_kept_to_the_limit_and_not_read_through(pool):
    # Whole in one read, the answer has ended: kept to the limit, the connection reused. Past the limit with
    # more to come (here, never): it is not waited for, and the connection is dropped.
    whole = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"y" * 5000
    more = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"z" * 2000
    async with RawServer(lambda conn, index: (whole if index == 0 else more, False)) as server:
        first, second, third = [await post(pool, server, timeout_s=5.0) for _ in range(3)]
    assert (first.body, first.complete) == (b"y" * 1024, True)
    assert (second.body, second.complete) == (b"z" * 1024, False)
    assert (third.body, third.complete) == (b"y" * 1024, True)
    assert [r[0] for r in server.requests] == [0, 0, 1]


async def test_a_malformed_answer_is_a_protocol_error(pool):
    async with RawServer(always(b"HTTP/9 nonsense\r\n\r\n")) as server:
        with pytest.raises(http1.ProtocolError):
            await post(pool, server)


async def test_a_name_is_resolved_and_its_addresses_tried_in_turn():
    asked: list[tuple[str, int]] = []

    async def resolve(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return ["127.0.0.2", "127.0.0.1"]  # nothing listens on the first (the server is on 127.0.0.1)

    p = http1.Pool(resolve)
    try:
        async with RawServer(always(OK)) as server:
            answer = await p.request(server.dest("hooks.test"), "POST", "/", (), b"", 2.0)
    finally:
        await p.close()
    assert answer.status == 200
    assert asked == [("hooks.test", server.port)]
    assert server.requests[0][3][0] == f"Host: hooks.test:{server.port}"


async def test_a_name_that_does_not_resolve_is_a_resolve_error():
    async def resolve(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    p = http1.Pool(resolve)
    with pytest.raises(http1.ResolveError):
        await p.request(http1.Destination.of("http", "nowhere.test", 80), "GET", "/", (), None, 1.0)
    await p.close()


def test_a_header_that_would_break_the_framing_is_refused():
    for bad in ("a\r\nX-Evil: 1", "a\nb", "a\rb", "caf\u00e9\u2603"):
        with pytest.raises(http1.ProtocolError):
            http1_wire.request_bytes("POST", "/", "h", (("X-Test", bad),), b"")
    assert http1.Destination.of("https", "::1", 443).host_header == "[::1]"
    assert http1.Destination.of("http", "a.test", 8080).host_header == "a.test:8080"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return certs.make_ca(tmp_path_factory.mktemp("tls"))


async def test_tls_names_the_host_while_dialling_the_pinned_address_and_keeps_alive(ca):
    cert = certs.make_server(ca, "sink.test")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert, cert.key)
    names: list[str | None] = []

    def sni(_obj: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        names.append(name)

    async def pinned(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]  # the names exist in no DNS

    context.sni_callback = sni
    p = http1.Pool(pinned, sender_.tls_context(str(ca)))
    try:
        async with RawServer(always(OK), context) as server:
            answers = [
                await p.request(server.dest("sink.test", "https"), "POST", "/", (), b"", 2.0)
                for _ in range(3)
            ]
            with pytest.raises(ssl.SSLCertVerificationError):
                await p.request(server.dest("other.test", "https"), "POST", "/", (), b"", 2.0)
    finally:
        await p.close()
    assert [a.status for a in answers] == [200] * 3
    assert server.connections == 1
    assert names == ["sink.test", "other.test"]
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    "case",
    [
        test_keep_alive_connections_are_reused_and_the_request_is_written_whole,
        test_a_chunked_answer_is_read_whole_and_its_connection_reused,
        test_a_close_delimited_answer_ends_with_the_close_and_its_connection_is_not_reused,
        test_a_hang_times_out_and_its_connection_is_never_reused,
        test_a_body_cut_short_is_returned_with_its_status_and_the_connection_dropped,
        test_a_reused_connection_closed_as_it_is_taken_is_retried_once_on_a_new_one,
        test_a_large_body_is_kept_to_the_limit_and_not_read_through,
    ],
    ids=lambda case: case.__name__.removeprefix("test_"),
)
def test_the_same_on_uvloop(case):
    # The workers run on uvloop, whose transports are not asyncio's classes.
    async def run() -> None:
        p = http1.Pool(no_names, body_limit=1024)
        try:
            await case(p)
        finally:
            await p.close()

    uvloop.run(run())
