"""`http1`'s connections over TLS against a loopback server whose TLS bytes the test scripts:
handshake failures and timeouts, answers cut mid-record, close_notify, writes larger than the socket takes at
once, and an idle connection the server closes. Each runs on asyncio's loop and on uvloop (the workers' loop)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path

import pytest
import uvloop

from dlrhub.adapters import http1
from dlrhub.adapters import sender as sender_
from tests import certs

NAME = "sink.test"
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
#: What the server does once a request is read: given the connection's number and the request's number on it,
#: returns (the answer's bytes, how many of its encrypted bytes to send: None for all, then whether to send
#: close_notify, then whether to close).
Script = Callable[[int, int], tuple[bytes, int | None, bool, bool]]


class TlsServer:
    """A loopback TLS server run on memory BIOs, so a test decides which encrypted bytes reach the client.

    `mode` "tls" answers requests by the script; "garbage" answers the ClientHello with bytes that are not TLS;
    "silent" never answers it; "hangup" closes the connection once the ClientHello is in.
    """

    def __init__(self, context: ssl.SSLContext, script: Script | None = None, mode: str = "tls") -> None:
        self.context = context
        self.script = script
        self.mode = mode
        self.connections = 0
        #: (connection number, the request's head and body) per request read.
        self.requests: list[tuple[int, bytes]] = []
        #: Connections the client closed: its EOF (or reset) was read.
        self.client_closed = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.context.wrap_bio(incoming, outgoing, server_side=True)

        async def pump_in() -> None:
            data = await reader.read(65536)
            if not data:
                raise ConnectionResetError("the client closed")
            incoming.write(data)

        try:
            if self.mode != "tls":
                await reader.read(65536)  # the ClientHello
                if self.mode == "garbage":
                    writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")
                elif self.mode == "silent":
                    await reader.read(65536)  # until the client gives up
                    self.client_closed += 1
                return
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    writer.write(outgoing.read())
                    await pump_in()
            writer.write(outgoing.read())
            assert self.script is not None
            buffered = bytearray()
            for index in range(1_000_000):
                while b"\r\n\r\n" not in buffered:
                    buffered += await self._read(tls, pump_in)
                end = buffered.index(b"\r\n\r\n")
                head, buffered = bytes(buffered[:end]), buffered[end + 4 :]
                length = next(
                    (
                        int(line.split(b":")[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length")
                    ),
                    0,
                )
                while len(buffered) < length:
                    buffered += await self._read(tls, pump_in)
                self.requests.append((number, head + b"\r\n\r\n" + bytes(buffered[:length])))
                del buffered[:length]
                answer, cut, notify, close = self.script(number, index)
                head_end = answer.find(b"\r\n\r\n") + 4
                tls.write(answer[:head_end])  # the head and the body in records of their own
                if answer[head_end:]:
                    tls.write(answer[head_end:])
                if notify:
                    with contextlib.suppress(ssl.SSLWantReadError):
                        tls.unwrap()  # close_notify, not waiting for the client's
                encrypted = outgoing.read()
                writer.write(
                    encrypted if cut is None else encrypted[:cut]
                )  # a negative cut: all but its last bytes
                await writer.drain()
                if close:
                    return
        except (ConnectionError, ssl.SSLError):
            self.client_closed += 1
        finally:
            writer.close()

    @staticmethod
    async def _read(tls: ssl.SSLObject, pump_in: Callable[[], Awaitable[None]]) -> bytes:
        while True:
            try:
                return tls.read(65536)
            except ssl.SSLWantReadError:
                await pump_in()

    async def __aenter__(self) -> TlsServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    @property
    def dest(self) -> http1.Destination:
        return http1.Destination.of("https", NAME, self.port)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return certs.make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def server_context(ca: Path) -> ssl.SSLContext:
    cert = certs.make_server(ca, NAME)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert.cert, cert.key)
    return context


async def pinned(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]  # the name exists in no DNS


def on_both_loops(
    case: Callable[[Path, ssl.SSLContext], Coroutine[None, None, None]], ca: Path, ctx: ssl.SSLContext
) -> None:
    asyncio.run(case(ca, ctx))
    uvloop.run(case(ca, ctx))


def answer(data: bytes, cut: int | None = None, notify: bool = False, close: bool = False) -> Script:
    return lambda _conn, _index: (data, cut, notify, close)


async def post(pool: http1.Pool, server: TlsServer, body: bytes = b'{"a":1}', timeout_s: float = 2.0):
    return await pool.request(server.dest, "POST", "/hook", (), body, timeout_s)


async def _handshake_refused(ca: Path, ctx: ssl.SSLContext) -> None:
    for mode in ("garbage", "hangup"):
        pool = http1.Pool(pinned, sender_.tls_context(str(ca)))
        try:
            async with TlsServer(ctx, mode=mode) as server:
                with pytest.raises((ssl.SSLError, ConnectionError)):
                    await post(pool, server)
        finally:
            await pool.close()
        assert pool.open_connections() == 0


def test_a_failed_handshake_fails_the_request_and_leaves_nothing_open(ca, server_context):
    on_both_loops(_handshake_refused, ca, server_context)


async def _handshake_times_out(ca: Path, ctx: ssl.SSLContext) -> None:
    pool = http1.Pool(pinned, sender_.tls_context(str(ca)))
    try:
        async with TlsServer(ctx, mode="silent") as server:
            with pytest.raises(TimeoutError):
                await post(pool, server, timeout_s=0.3)
            for _ in range(100):  # the client's socket is closed: the server reads its EOF
                if server.client_closed:
                    break
                await asyncio.sleep(0.01)
            assert server.client_closed == 1
    finally:
        await pool.close()
    assert pool.open_connections() == 0


def test_a_handshake_with_no_answer_times_out_and_its_socket_is_closed(ca, server_context):
    on_both_loops(_handshake_times_out, ca, server_context)


async def _cut_mid_record(ca: Path, ctx: ssl.SSLContext) -> None:
    pool = http1.Pool(pinned, sender_.tls_context(str(ca)))
    try:
        async with TlsServer(ctx, answer(OK, cut=10, close=True)) as server:
            with pytest.raises(ConnectionError):
                await post(pool, server)  # a POST is never sent twice
            assert len(server.requests) == 1
        framed = OK.replace(b"2\r\n\r\nok", b"10\r\n\r\nok") + b"x" * 400
        async with TlsServer(ctx, answer(framed, cut=-100, close=True)) as server:
            got = await post(pool, server)  # the status came: the attempt is judged by it
            assert (got.status, got.complete) == (200, False)
    finally:
        await pool.close()
    assert pool.open_connections() == 0


def test_an_answer_cut_mid_record_fails_or_is_returned_incomplete(ca, server_context):
    on_both_loops(_cut_mid_record, ca, server_context)


async def _close_notify(ca: Path, ctx: ssl.SSLContext) -> None:
    pool = http1.Pool(pinned, sender_.tls_context(str(ca)))
    try:
        # No length: the body ends with the connection, here with close_notify then the close.
        async with TlsServer(ctx, answer(b"HTTP/1.1 200 OK\r\n\r\nhello", notify=True, close=True)) as server:
            first = await post(pool, server)
            second = await post(pool, server)
            assert server.connections == 2  # the closed one is never reused
    finally:
        await pool.close()
    assert (first.status, first.body, first.complete) == (200, b"hello", True)
    assert (second.status, second.body, second.complete) == (200, b"hello", True)


def test_close_notify_ends_a_close_delimited_answer(ca, server_context):
    on_both_loops(_close_notify, ca, server_context)


async def _large_write_and_idle_close(ca: Path, ctx: ssl.SSLContext) -> None:
    pool = http1.Pool(pinned, sender_.tls_context(str(ca)))
    big = b"x" * (8 << 20)  # more than the socket takes at once: the rest is sent as it becomes writable

    def script(conn: int, index: int) -> tuple[bytes, int | None, bool, bool]:
        # The first connection's second answer closes it (close_notify), idle, once given back.
        return OK, None, conn == 0 and index == 1, conn == 0 and index == 1

    try:
        async with TlsServer(ctx, script) as server:
            got = [await post(pool, server, big, timeout_s=20), await post(pool, server)]
            await asyncio.sleep(
                0.1
            )  # the server's close_notify and close arrive while the connection is idle
            got.append(await post(pool, server))
            assert [g.status for g in got] == [200] * 3
            assert server.requests[0][1].endswith(big)
            # One connection for the first two; the idle one the server closed is never taken.
            assert [n for n, _ in server.requests] == [0, 0, 1]
    finally:
        await pool.close()


def test_a_large_write_is_sent_whole_and_an_idle_connection_the_server_closed_is_not_taken(
    ca, server_context
):
    on_both_loops(_large_write_and_idle_close, ca, server_context)
