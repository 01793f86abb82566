"""The callback HTTP/1.1 client (`adapters.http1`) against hostile or broken receivers on real loopback servers:
oversized heads, bytes past an answer's end, keep-alive races, closing mid-request."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest
import uvloop

from dlrhub.adapters import http1, http1_wire
from tests.integration.engine.test_http1 import HOLD, OK, RawServer, always, no_names, post


@pytest.fixture
async def pool() -> AsyncIterator[http1.Pool]:
    p = http1.Pool(no_names, body_limit=1024)
    yield p
    await p.close()


def chunked(trailers: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" + trailers + b"\r\n"


@pytest.mark.parametrize(
    "answer",
    [
        # A header value that never ends (the server holds the connection open after it).
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 300_000,
        # A header name that never ends.
        b"HTTP/1.1 200 OK\r\n" + b"n" * 300_000,
        # One header line longer than MAX_FIELD, then a whole answer.
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * (http1_wire.MAX_FIELD + 1) + b"\r\nContent-Length: 2\r\n\r\nok",
        # Too many headers, each short.
        b"HTTP/1.1 200 OK\r\n" + b"H: v\r\n" * http1_wire.MAX_HEADERS + b"Content-Length: 2\r\n\r\nok",
        # Short headers whose sum passes MAX_HEAD.
        b"HTTP/1.1 200 OK\r\n" + b"H: " + b"v" * 8000 + b"\r\n" * 1 + (b"H: " + b"v" * 8000 + b"\r\n") * 9,
        # Too many trailers after a chunked body, and a trailer that never ends.
        chunked(b"T: v\r\n" * (http1_wire.MAX_HEADERS + 1)),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nT: " + b"t" * 300_000,
    ],
    ids=[
        "endless-value",
        "endless-name",
        "long-line",
        "many-headers",
        "head-bytes",
        "trailers",
        "endless-trailer",
    ],
)
async def test_an_oversized_head_or_trailer_is_a_protocol_error_and_its_connection_closed(pool, answer):
    async with RawServer(always(answer)) as server:
        with pytest.raises(http1_wire.HeadTooLarge):
            await post(pool, server, timeout_s=5.0)
        assert pool.open_connections() == 0


async def test_heads_within_the_limits_are_read(pool):
    many = (
        b"HTTP/1.1 200 OK\r\n" + b"H: v\r\n" * (http1_wire.MAX_HEADERS - 1) + b"Content-Length: 2\r\n\r\nok"
    )
    long = b"HTTP/1.1 200 OK\r\nX: " + b"a" * http1_wire.MAX_FIELD + b"\r\nContent-Length: 2\r\n\r\nok"
    async with RawServer(lambda conn, index: ((many, long, OK)[index % 3], False)) as server:
        answers = [await post(pool, server) for _ in range(3)]
    assert [(a.status, a.body, a.complete) for a in answers] == [(200, b"ok", True)] * 3
    assert len(answers[0].headers) == http1_wire.MAX_HEADERS
    assert server.connections == 1


async def test_a_post_the_server_may_have_read_is_never_sent_twice(pool):
    # The second POST rides the kept-alive connection; the server reads it whole, then closes without answering.
    # It may have acted on it: the failure is the attempt's outcome, not a silent second delivery.
    async with RawServer(lambda conn, index: (OK, False) if index == 0 else (b"", True)) as server:
        first = await post(pool, server)
        with pytest.raises(ConnectionError):
            await post(pool, server)
        third = await post(pool, server)
    assert (first.status, third.status) == (200, 200)
    assert [r[0] for r in server.requests] == [0, 0, 1]


async def test_an_idle_connection_the_server_closed_is_not_used(pool):
    # The server answers, then closes the kept-alive connection while it is idle: the next POST goes on a new
    # connection at once, never written to the closed one.
    async with RawServer(always(OK, close=True)) as server:
        await post(pool, server)
        for _ in range(1000):
            if pool.open_connections() == 0:
                break
            await asyncio.sleep(0.005)
        assert pool.open_connections() == 0
        second = await post(pool, server)
    assert second.status == 200
    assert [r[0] for r in server.requests] == [0, 1]


@pytest.mark.parametrize(
    ("answer", "status", "body"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA", 200, b"ok"),  # a body longer than announced
        (b"HTTP/1.1 204 No Content\r\n\r\n{}", 204, b""),  # a body on a 204
        (OK + b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\nnope", 200, b"ok"),  # two answers in one write
        (OK + b"HTTP/1.1 500", 200, b"ok"),  # the start of a second answer
    ],
    ids=["overlong", "204-body", "two-answers", "half-answer"],
)
async def test_bytes_past_an_answers_end_leave_it_whole_and_its_connection_unused(pool, answer, status, body):
    async with RawServer(lambda conn, index: (answer if conn == index == 0 else OK, False)) as server:
        first, second = await post(pool, server), await post(pool, server)
    assert (first.status, first.body, first.complete) == (status, body, True)
    assert (second.status, second.body) == (200, b"ok")
    assert [r[0] for r in server.requests] == [0, 1]  # the second on a new connection


async def test_a_dead_first_address_does_not_stall_every_connection():
    # hooks.test has two admitted addresses; the first silently drops SYNs (a listener on 127.0.0.2 whose accept
    # queue is full and never accepted), the second answers. Each answer closes its connection, so each request
    # dials: Happy Eyeballs reaches the live address instead of waiting out the timeout on the dead one.
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.2", "127.0.0.1"]

    p = http1.Pool(resolve)
    async with RawServer(always(OK, close=True)) as server:
        dead = socket.socket()
        fillers = [socket.socket() for _ in range(3)]
        try:
            dead.bind(("127.0.0.2", server.port))
            dead.listen(0)
            for filler in fillers:
                filler.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    filler.connect(("127.0.0.2", server.port))
            await asyncio.sleep(0.1)  # let the fillers' handshakes fill the accept queue
            answers = [
                await p.request(server.dest("hooks.test"), "GET", "/", (), None, 5.0) for _ in range(3)
            ]
        finally:
            await p.close()
            for s in (dead, *fillers):
                s.close()
    assert [a.status for a in answers] == [200] * 3
    assert server.connections == 3


def test_a_dead_first_address_on_uvloop():
    # The workers run on uvloop: Happy Eyeballs' sockets are handed to its create_connection.
    uvloop.run(test_a_dead_first_address_does_not_stall_every_connection())


async def test_closing_the_pool_mid_request_sends_nothing_again_and_leaves_nothing_open():
    # The second GET rides the kept-alive connection and is held unanswered; the pool closes under it. It fails,
    # is not sent again on a new connection, and no connection outlives the close.
    p = http1.Pool(no_names)
    async with RawServer(lambda conn, index: (OK, False) if conn == index == 0 else HOLD) as server:
        get = lambda: p.request(server.dest(), "GET", "/", (), None, 5.0)  # noqa: E731
        assert (await get()).status == 200
        held = asyncio.ensure_future(get())
        for _ in range(1000):
            if len(server.requests) == 2:
                break
            await asyncio.sleep(0.005)
        await p.close()
        with pytest.raises(ConnectionError):
            await held
        with pytest.raises(ConnectionError):
            await get()
        assert p.open_connections() == 0
    assert [r[0] for r in server.requests] == [0, 0]


async def test_an_ip_literal_is_admitted_where_it_is_dialled():
    # The pool asks `admit` about every IP literal before it dials it unresolved; a refusal dials nothing.
    asked: list[str] = []

    def refuse(address: str) -> None:
        asked.append(address)
        raise ConnectionRefusedError(f"{address} is refused")

    p = http1.Pool(no_names, admit=refuse)
    async with RawServer(always(OK)) as server:
        with pytest.raises(ConnectionRefusedError):
            await post(p, server)
        await p.close()
    assert asked == ["127.0.0.1"]
    assert server.connections == 0


@pytest.mark.parametrize(
    "case",
    [
        test_a_post_the_server_may_have_read_is_never_sent_twice,
        test_heads_within_the_limits_are_read,
    ],
    ids=lambda case: case.__name__.removeprefix("test_"),
)
def test_the_same_on_uvloop(case):
    async def run() -> None:
        p = http1.Pool(no_names, body_limit=1024)
        try:
            await case(p)
        finally:
            await p.close()

    uvloop.run(run())


@pytest.mark.parametrize("answer", [OK + b"HTTP/1.1 500", b"HTTP/1.1 200 OK\r\n" + b"H: v\r\n" * 200])
def test_bytes_past_the_end_and_oversized_heads_on_uvloop(answer):
    async def run() -> None:
        p = http1.Pool(no_names, body_limit=1024)
        try:
            if answer.startswith(OK):
                await test_bytes_past_an_answers_end_leave_it_whole_and_its_connection_unused(
                    p, answer, 200, b"ok"
                )
            else:
                await test_an_oversized_head_or_trailer_is_a_protocol_error_and_its_connection_closed(
                    p, answer
                )
        finally:
            await p.close()

    uvloop.run(run())
