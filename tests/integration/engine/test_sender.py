"""The sender against real loopback receivers: each answer class, signing on the wire, caps and the guard."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import socket
import time
from collections.abc import AsyncIterator

import aiohttp.abc
import pytest
import standardwebhooks

from dlrhub.adapters import sender
from dlrhub.core import models, urls
from dlrhub.core import signing as webhook_signing
from tests import conftest, receivers

LOOPBACK = urls.parse_allowlist(["127.0.0.1/32"])
SECRETS = (conftest.signing_secret(b"a" * 24), conftest.signing_secret(b"b" * 32))
OUT = models.AttemptOutcome


def scripted(rec: receivers.Receiver) -> receivers.Receiver:
    """The receiver with a path per answer class; unscripted paths answer 404."""
    rec.status = 404
    rec.script("/ok", receivers.Answer(200, "thanks"))
    rec.script("/500", 500)
    rec.script("/410", 410)
    rec.script("/429", receivers.Answer(429, headers={"Retry-After": "120"}))
    rec.script("/302", receivers.Answer(302, headers={"Location": "/ok"}))
    rec.script("/big", receivers.Answer(200, b"x" * 5000))
    rec.script("/hang", receivers.HANG)
    return rec


@pytest.fixture
def receiver(receiver: receivers.Receiver) -> receivers.Receiver:
    return scripted(receiver)


@pytest.fixture
async def snd() -> AsyncIterator[sender.Sender]:
    async with sender.Sender(sender.SenderConfig(timeout_s=2.0, per_endpoint=4, allow=LOOPBACK)) as s:
        yield s


def callback(url: str, method: str = "POST", body: bytes = b'{"a":1}', attempts: int = 0) -> models.Callback:
    now = dt.datetime.now(dt.UTC)
    return models.Callback(
        id="cb_test",
        event_id="ev",
        account_id="acc",
        dialect=models.Dialect.NATIVE,
        order_key="m",
        seq=1,
        request=models.CallbackRequest(method=method, url=url, body=body, content_type="application/json"),
        state=models.CallbackState.PENDING,
        due_at=now,
        attempts=attempts,
        created_at=now,
    )


async def test_200_is_ok_and_keeps_the_body(receiver, snd):
    attempt = await snd.send(callback(receiver.url("/ok"), attempts=2))
    assert attempt.outcome is OUT.OK
    assert attempt.status_code == 200
    assert attempt.response == "thanks"
    assert attempt.number == 3
    assert attempt.callback_id == "cb_test"


@pytest.mark.parametrize(("path", "status"), [("/500", 500), ("/410", 410), ("/302", 302)])
async def test_non_2xx_statuses_are_http_status_and_redirects_are_not_followed(receiver, snd, path, status):
    attempt = await snd.send(callback(receiver.url(path)))
    assert attempt.outcome is OUT.HTTP_STATUS
    assert attempt.status_code == status
    assert [h.path for h in receiver.hits] == [path]


async def test_429_carries_retry_after(receiver, snd):
    attempt = await snd.send(callback(receiver.url("/429")))
    assert attempt.status_code == 429
    assert attempt.retry_after_s == 120.0


async def test_only_the_first_kilobyte_is_kept(receiver, snd):
    attempt = await snd.send(callback(receiver.url("/big")))
    assert attempt.outcome is OUT.OK
    assert attempt.response == "x" * 1024


async def test_a_hang_is_a_timeout(receiver):
    async with sender.Sender(sender.SenderConfig(timeout_s=0.3, allow=LOOPBACK)) as s:
        attempt = await s.send(callback(receiver.url("/hang")))
    assert attempt.outcome is OUT.TIMEOUT
    assert attempt.status_code is None


async def test_a_closed_connection_and_a_refused_port_are_connect_failures(snd):
    async def slam(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(10)
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(slam, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        attempt = await snd.send(callback(f"http://127.0.0.1:{port}/x"))
    finally:
        server.close()
        await server.wait_closed()
    assert attempt.outcome is OUT.CONNECT
    # The same port, now closed: the connection is refused.
    assert (await snd.send(callback(f"http://127.0.0.1:{port}/x"))).outcome is OUT.CONNECT


async def test_post_signature_verifies_with_the_pypi_library_on_the_wire(receiver):
    async with sender.Sender(sender.SenderConfig(allow=LOOPBACK)) as s:
        attempt = await s.send(callback(receiver.url("/ok")), secrets=SECRETS)
    assert attempt.outcome is OUT.OK
    [hit] = receiver.hits
    method, headers, body = hit.method, hit.headers, hit.body
    assert method == "POST"
    assert headers["Content-Type"] == "application/json"
    for secret in SECRETS:
        assert standardwebhooks.Webhook(secret).verify(body, headers) == {"a": 1}


async def test_get_is_sent_byte_for_byte_and_its_query_signature_verifies(receiver, snd):
    query = "SMSID=1&error_info=%257B%2522error%2522%253A0%257D____07%252F01&oaid=&x=%7B%7d"
    cb = callback(receiver.url("/ok") + "?" + query, method="GET", body=b"")
    attempt = await snd.send(cb, secrets=SECRETS[:1])
    assert attempt.outcome is OUT.OK
    [hit] = receiver.hits
    method, raw_path, headers, body = hit.method, hit.raw_path, hit.headers, hit.body
    assert method == "GET"
    assert body == b""
    assert raw_path == "/ok?" + query
    assert webhook_signing.verify(SECRETS[:1], headers, cb.request, now=int(time.time()))


async def test_replay_to_another_url(receiver, snd):
    attempt = await snd.send(callback("http://127.0.0.1:9/never"), url=receiver.url("/ok"))
    assert attempt.outcome is OUT.OK
    assert len(receiver.hits) == 1


async def test_loopback_is_blocked_without_the_allow_list(receiver):
    async with sender.Sender(sender.SenderConfig()) as s:
        literal = await s.send(callback(receiver.url("/ok")))
        by_name = await s.send(callback(f"http://localhost:{receiver.port}/ok"))
        bad_scheme = await s.send(callback("ftp://example.com/x"))
        legacy = await s.send(callback(f"http://127.1:{receiver.port}/ok"))
        decimal = await s.send(callback(f"http://2130706433:{receiver.port}/ok"))
        # IDNA turns full-width digits and ideographic full stops into the literal 127.0.0.1.
        wide = await s.send(callback(f"http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{receiver.port}/ok"))
        stops = await s.send(callback(f"http://127\u30020\u30020\u30021:{receiver.port}/ok"))
        hex_ = await s.send(callback(f"http://0x7f.1:{receiver.port}/ok"))
    assert [a.outcome for a in (wide, stops, hex_)] == [OUT.BLOCKED_URL] * 3, [wide, stops, hex_]
    assert legacy.outcome is OUT.BLOCKED_URL
    assert decimal.outcome is OUT.BLOCKED_URL
    assert literal.outcome is OUT.BLOCKED_URL
    assert by_name.outcome is OUT.BLOCKED_URL
    assert bad_scheme.outcome is OUT.BLOCKED_URL
    assert receiver.hits == []


async def test_an_ip_literal_is_checked_where_it_is_dialled_however_the_guard_read_it(receiver, monkeypatch):
    # Were the guard to read an IP literal as a name (as it once read `１２７.０.０.１`), the sender still checks the
    # address it dials unresolved.
    real = urls.check_url

    def as_a_name(url: str) -> urls.ParsedTarget:
        return dataclasses.replace(real(url), ip=None)

    monkeypatch.setattr(urls, "check_url", as_a_name)
    async with sender.Sender(sender.SenderConfig()) as s:
        attempt = await s.send(callback(receiver.url("/ok")))
    assert attempt.outcome is OUT.BLOCKED_URL and "loopback" in attempt.error
    assert receiver.hits == []


class FixedResolver(aiohttp.abc.AbstractResolver):
    """Answers every name with fixed addresses, or fails like a missing name."""

    def __init__(self, addresses: list[str]) -> None:
        self.addresses = addresses

    async def resolve(self, host, port=0, family=socket.AF_INET):
        if not self.addresses:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [
            {"hostname": host, "host": a, "port": port, "family": socket.AF_INET, "proto": 0, "flags": 0}
            for a in self.addresses
        ]

    async def close(self):
        return None


async def test_the_resolver_connects_only_to_checked_addresses(receiver):
    # A name resolving to a metadata address and to the (allowed) receiver: only the receiver is dialled.
    config = sender.SenderConfig(allow=LOOPBACK)
    resolver = FixedResolver(["169.254.169.254", "127.0.0.1"])
    async with sender.Sender(config, resolver=resolver) as s:
        attempt = await s.send(callback(f"http://hooks.example.com:{receiver.port}/ok"))
    assert attempt.outcome is OUT.OK
    async with sender.Sender(config, resolver=FixedResolver(["169.254.169.254", "10.0.0.1"])) as s:
        blocked = await s.send(callback(f"http://hooks.example.com:{receiver.port}/ok"))
    assert blocked.outcome is OUT.BLOCKED_URL
    assert "metadata" in blocked.error or "private" in blocked.error
    assert len(receiver.hits) == 1


async def test_a_missing_name_is_a_dns_failure():
    async with sender.Sender(sender.SenderConfig(), resolver=FixedResolver([])) as s:
        attempt = await s.send(callback("http://no-such-name.example/x"))
    assert attempt.outcome is OUT.DNS


async def test_per_endpoint_cap_and_a_hanging_endpoint_does_not_slow_a_healthy_one(receiver):
    async with scripted(receivers.Receiver()) as healthy:
        async with sender.Sender(sender.SenderConfig(timeout_s=30, per_endpoint=3, allow=LOOPBACK)) as s:
            stuck = [asyncio.create_task(s.send(callback(receiver.url("/hang")))) for _ in range(10)]
            await receiver.wait_hanging(3)
            assert s.limiter.in_flight(urls.check_url(receiver.url("/")).endpoint) == 10
            done = await asyncio.gather(*(s.send(callback(healthy.url("/ok"))) for _ in range(30)))
            assert [a.outcome for a in done] == [OUT.OK] * 30
            assert not any(t.done() for t in stuck)
            assert receiver.max_hanging == 3
            receiver.release.set()
            results = await asyncio.gather(*stuck)
        assert [a.outcome for a in results] == [OUT.OK] * 10
        assert receiver.max_hanging == 3


async def test_waiting_for_a_pool_slot_does_not_count_against_the_timeout(receiver):
    async with scripted(receivers.Receiver()) as healthy:
        config = sender.SenderConfig(timeout_s=0.5, pool_size=2, per_endpoint=10, allow=LOOPBACK)
        async with sender.Sender(config) as s:
            stuck = [asyncio.create_task(s.send(callback(receiver.url("/hang")))) for _ in range(2)]
            await receiver.wait_hanging(2)
            ok = await s.send(callback(healthy.url("/ok")))
            timed_out = await asyncio.gather(*stuck)
        # The healthy request waited for the pool until the stuck ones timed out, then got its full timeout.
        assert [a.outcome for a in timed_out] == [OUT.TIMEOUT, OUT.TIMEOUT]
        assert ok.outcome is OUT.OK


async def test_a_url_is_guarded_once_and_a_blocked_one_every_time(receiver, snd, monkeypatch):
    # The guard's verdict on a URL's text never changes (the allowlist is the sender's own): an admitted URL is
    # checked on its first attempt only, a refused one on each (never remembered as admitted). An admitted IP
    # literal's address is checked once, whatever URLs name it; a refused one each time.
    checked: list[str] = []
    addresses: list[str] = []
    real_url, real_address = urls.check_url, urls.check_address

    def counting(url: str) -> urls.ParsedTarget:
        checked.append(url)
        return real_url(url)

    def counting_address(
        ip: urls.IPAddress | str, allow: urls.Allowlist = urls.NOTHING, host: str | None = None
    ) -> urls.IPAddress:
        addresses.append(str(ip))
        return real_address(ip, allow, host)

    monkeypatch.setattr(urls, "check_url", counting)
    monkeypatch.setattr(urls, "check_address", counting_address)
    ok, other, blocked = receiver.url("/ok"), receiver.url("/ok?b"), "http://169.254.169.254/latest"
    outcomes = [(await snd.send(callback(u))).outcome for u in (ok, blocked, ok, blocked, other)]
    assert outcomes == [OUT.OK, OUT.BLOCKED_URL, OUT.OK, OUT.BLOCKED_URL, OUT.OK]
    assert checked == [ok, blocked, blocked, other]
    assert addresses == ["127.0.0.1", "169.254.169.254", "169.254.169.254"]
    assert len(receiver.hits) == 3


async def test_the_remembered_urls_stay_bounded(receiver, snd, monkeypatch):
    monkeypatch.setattr(sender, "TARGETS_KEPT", 2)
    for path in ("/ok", "/ok?a", "/ok?b", "/ok?c"):
        assert (await snd.send(callback(receiver.url(path)))).outcome is OUT.OK
    assert len(snd._targets) <= 2


async def test_a_receivers_cookie_is_never_sent_back_with_another_callback(receiver, snd):
    # One account's receiver sets a cookie on a named host; the next callback to that host, another account's or
    # its own, carries no Cookie header: a shared session must not carry state between tenants' callbacks.
    receiver.script("/set", receivers.Answer(200, headers={"Set-Cookie": "session=account-a; Path=/"}))
    host = f"http://localhost:{receiver.port}"
    first = await snd.send(callback(f"{host}/set"))
    other = dataclasses.replace(callback(f"{host}/ok"), account_id="acc_other")
    second = await snd.send(other)
    assert (first.outcome, second.outcome) == (OUT.OK, OUT.OK)
    assert "Cookie" not in receiver.hits[1].headers
