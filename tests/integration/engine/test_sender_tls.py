"""The sender over HTTPS against a real local TLS server: the name checked while the guard pins the address.

The guard resolves the name itself and connects to an address it admitted; the TLS handshake must still name the
URL's host (SNI) and check the certificate against it, and connections must be kept alive and reused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp.abc
import pytest
from aiohttp import web

from dlrhub import settings
from dlrhub.adapters import sender
from dlrhub.core import errors, models, urls
from tests import certs

LOOPBACK = urls.parse_allowlist(["127.0.0.1/32"])
OUT = models.AttemptOutcome
NAME = "sink.test"


class PinnedResolver(aiohttp.abc.AbstractResolver):
    """Answers every name with 127.0.0.1 (the names here exist in no DNS), and records the names asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def resolve(self, host, port=0, family=socket.AF_INET):
        self.asked.append(host)
        return [
            {"hostname": host, "host": "127.0.0.1", "port": port, "family": family, "proto": 0, "flags": 0}
        ]

    async def close(self):
        return None


class TlsReceiver:
    """An HTTPS server on 127.0.0.1 presenting one certificate; records each handshake's SNI and each request."""

    def __init__(self, cert: certs.ServerCert) -> None:
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert.cert, cert.key)
        self.context.sni_callback = self._sni
        #: The server name each TLS handshake carried (None: no SNI), one per connection.
        self.handshakes: list[str | None] = []
        #: (Host header, client port) of each request: distinct ports are distinct connections.
        self.requests: list[tuple[str, int]] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    def _sni(self, _obj: ssl.SSLObject, server_name: str | None, _ctx: ssl.SSLContext) -> None:
        self.handshakes.append(server_name)

    async def _handle(self, request: web.Request) -> web.Response:
        await request.read()
        assert request.transport is not None
        peer = request.transport.get_extra_info("peername")
        self.requests.append((request.headers.get("Host", ""), peer[1]))
        return web.Response(text="ok")

    async def __aenter__(self) -> TlsReceiver:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.context).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def connections(self) -> int:
        return len({port for _, port in self.requests})


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return certs.make_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def tls_receiver(ca: Path) -> AsyncIterator[TlsReceiver]:
    async with TlsReceiver(certs.make_server(ca, NAME)) as rec:
        yield rec


def callback(url: str, n: int = 0) -> models.Callback:
    now = dt.datetime.now(dt.UTC)
    return models.Callback(
        id=f"cb_tls{n}",
        event_id=f"ev{n}",
        account_id="acc",
        dialect=models.Dialect.NATIVE,
        order_key=f"m{n}",
        seq=1,
        request=models.CallbackRequest("POST", url, b'{"a":1}', "application/json"),
        state=models.CallbackState.PENDING,
        due_at=now,
        attempts=0,
        created_at=now,
    )


async def test_sni_names_the_host_while_the_connection_goes_to_the_pinned_address(tls_receiver, ca):
    resolver = PinnedResolver()
    config = sender.SenderConfig(allow=LOOPBACK, ca_file=str(ca))
    async with sender.Sender(config, resolver=resolver) as snd:
        attempt = await snd.send(callback(f"https://{NAME}:{tls_receiver.port}/hook"))
    assert attempt.outcome is OUT.OK, attempt.error
    # The guard's resolver was asked the name and dialled 127.0.0.1 (the only address it answered)...
    assert resolver.asked == [NAME]
    # ...while the handshake named the host and the certificate for it was accepted.
    assert tls_receiver.handshakes == [NAME]
    assert tls_receiver.requests[0][0] == f"{NAME}:{tls_receiver.port}"


async def test_a_certificate_for_another_name_is_refused(ca):
    config = sender.SenderConfig(allow=LOOPBACK, ca_file=str(ca))
    async with TlsReceiver(certs.make_server(ca, "other.test")) as rec:
        async with sender.Sender(config, resolver=PinnedResolver()) as snd:
            by_name = await snd.send(callback(f"https://{NAME}:{rec.port}/hook"))
            # An IP literal is never resolved; the certificate must still name it, and it names other.test.
            by_address = await snd.send(callback(f"https://127.0.0.1:{rec.port}/hook"))
        assert rec.handshakes == [NAME, None]
        assert rec.requests == []
    for attempt in (by_name, by_address):
        assert attempt.outcome is OUT.CONNECT
        assert attempt.error is not None
        assert "certificate" in attempt.error.lower()


async def test_without_the_ca_file_a_private_certificate_is_untrusted(tls_receiver):
    async with sender.Sender(sender.SenderConfig(allow=LOOPBACK), resolver=PinnedResolver()) as snd:
        attempt = await snd.send(callback(f"https://{NAME}:{tls_receiver.port}/hook"))
    assert attempt.outcome is OUT.CONNECT
    assert attempt.error is not None
    assert "certificate verify failed" in attempt.error.lower()
    assert tls_receiver.requests == []


async def test_connections_are_kept_alive_and_reused(tls_receiver, ca):
    config = sender.SenderConfig(allow=LOOPBACK, per_endpoint=4, ca_file=str(ca))
    url = f"https://{NAME}:{tls_receiver.port}/hook"
    async with sender.Sender(config, resolver=PinnedResolver()) as snd:
        first = await asyncio.gather(*(snd.send(callback(url, n)) for n in range(40)))
        then = [await snd.send(callback(url, 100 + n)) for n in range(20)]
    assert all(a.outcome is OUT.OK for a in first + then)
    assert len(tls_receiver.requests) == 60
    # 60 requests, at most 4 at once to this destination: at most 4 connections, each one handshake.
    assert tls_receiver.connections() <= 4
    assert len(tls_receiver.handshakes) == tls_receiver.connections()


def test_the_ca_file_setting_is_checked_and_reaches_the_sender(tmp_path, ca):
    loaded = settings.load({"DLRHUB_CALLBACK_CA_FILE": str(ca)})
    assert loaded.callback_ca_file == str(ca)
    bad = tmp_path / "not.pem"
    bad.write_text("not a certificate", encoding="ascii")
    for value in (str(bad), str(tmp_path / "missing.pem")):
        with pytest.raises(errors.ConfigError, match="callback_ca_file"):
            settings.load({"DLRHUB_CALLBACK_CA_FILE": value})
    with pytest.raises(errors.ConfigError, match="callback CA file"):
        sender.tls_context(str(bad))
    assert isinstance(sender.tls_context(str(ca)), ssl.SSLContext)


async def test_a_host_with_a_trailing_dot_names_the_host_without_it(tls_receiver, ca):
    # `sink.test.` is `sink.test` (fully qualified): SNI, the certificate check and the Host header name it
    # without the dot, as aiohttp did; the certificate for `sink.test` is accepted.
    config = sender.SenderConfig(allow=LOOPBACK, ca_file=str(ca))
    async with sender.Sender(config, resolver=PinnedResolver()) as snd:
        attempt = await snd.send(callback(f"https://{NAME}.:{tls_receiver.port}/hook"))
    assert attempt.outcome is OUT.OK, attempt.error
    assert tls_receiver.handshakes == [NAME]
    assert tls_receiver.requests[0][0] == f"{NAME}:{tls_receiver.port}"
