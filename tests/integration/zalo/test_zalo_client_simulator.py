"""ZaloClient against the simulator over real loopback HTTP: every mode, tokens, journeys, status and quota."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib

import aiohttp
import pytest

from dlrhub.adapters.zalo import client, tokens
from dlrhub.core import models
from dlrhub.dialects.zalo import codes, webhook, wire
from dlrhub.simulator import modes as simulator_modes

Mode = simulator_modes.Mode
OA = "2222222222222222222"
APP = "1111111111111111111"
OA_SECRET = "dlrhub-sim-oa-secret"


def zalo(url: str, timeout: float = 2.0) -> client.ZaloClient:
    return client.ZaloClient(api_base=url, oauth_base=url, timeout=timeout)


async def send(c: client.ZaloClient, phone: str, tracking_id: str = "zalomid.t1", token: str = "tok", **kw):
    return await c.send_template(
        token,
        wire.TemplateSend(
            phone=phone, template_id="228386", template_data={"name": "An"}, tracking_id=tracking_id, **kw
        ),
    )


def check_signed(posted) -> webhook.Event:
    event = webhook.parse(posted.body, posted.headers.get("X-ZEvent-Server"))
    assert webhook.verify(
        posted.headers["X-ZEvent-Signature"], posted.body, event.app_id, event.timestamp, OA_SECRET
    )
    return event


async def test_success_then_signed_receipt(start_simulator, receiver):
    running = await start_simulator()
    async with zalo(running.url) as c:
        out = await send(c, "84900000300", tracking_id="zalomid.ok")
    assert (out.kind, out.code) == (models.EventKind.SUCCESS, 0)
    assert out.msg_id is not None
    assert out.quota == wire.Quota(5000, 4999)
    [posted] = await receiver.wait(count=1)
    assert posted.headers["X-ZEvent-Signature"].startswith("mac=")
    event = check_signed(posted)
    assert isinstance(event, webhook.DeliveryReceipt)
    assert (event.oa_id, event.recipient, event.msg_id, event.tracking_id) == (
        OA,
        "84900000300",
        out.msg_id,
        "zalomid.ok",
    )
    assert event.app_id == APP


@pytest.mark.parametrize(
    ("mode", "error"),
    [(Mode.ERROR_118, -118), (Mode.ERROR_114, -114), (Mode.ERROR_108, -108), (Mode.OUT_OF_QUOTA, -115)],
)
async def test_error_modes_are_17004_with_zalo_res(start_simulator, receiver, mode, error):
    running = await start_simulator()
    async with zalo(running.url) as c:
        out = await send(c, simulator_modes.phone_with(mode))
    assert (out.kind, out.code, out.zalo_error) == (models.EventKind.FAILED, 17004, error)
    assert out.zalo_res["error"] == error
    assert out.zalo_res["message"] == codes.error_message(error)
    assert out.text == f"Zalo send error({out.zalo_res['message']})"
    await running.sim.outbox.drain()
    assert receiver.hits == []


async def test_118_answer_is_the_seed_message(start_simulator):
    running = await start_simulator()
    async with zalo(running.url) as c:
        out = await send(c, "84900000118")
    assert out.zalo_res == {"error": -118, "message": "Zalo account not existed", "data": None}


async def test_daily_limit_mode_and_real_quota_exhaustion(start_simulator):
    running = await start_simulator(daily_quota=2)
    async with zalo(running.url) as c:
        limited = await send(c, simulator_modes.phone_with(Mode.DAILY_LIMIT))
        assert (limited.zalo_error, limited.quota) == (-144, wire.Quota(2, 0))
        first = await send(c, "84900000300", tracking_id="a")
        second = await send(c, "84900000301", tracking_id="b")
        third = await send(c, "84900000302", tracking_id="c")
        quota = await c.quota("tok")
    assert [first.code, second.code] == [0, 0]
    assert second.quota == wire.Quota(2, 0)
    assert (third.code, third.zalo_error, third.quota) == (17004, -144, wire.Quota(2, 0))
    assert quota.value == wire.Quota(2, 0)


async def test_no_answer_is_17005(start_simulator, receiver):
    running = await start_simulator(hang_seconds=20)
    async with zalo(running.url, timeout=0.3) as c:
        out = await send(c, simulator_modes.phone_with(Mode.NO_ANSWER))
    assert (out.kind, out.code, out.text) == (models.EventKind.FAILED, 17005, "Zalo engine api timeout")
    assert out.zalo_res == {
        "sysMsg": "Zalo engine api timeout",
        "cusMsg": "Zalo engine api timeout",
        "error": None,
        "message": None,
        "data": None,
    }


async def test_unreachable_zalo_is_17005():
    async with zalo("http://127.0.0.1:9", timeout=0.5) as c:
        out = await send(c, "84900000300")
        grant = await c.refresh_token("a", "s", "r")
    assert out.code == 17005
    assert grant.timed_out


async def test_receipt_twice_and_never(start_simulator, receiver):
    running = await start_simulator()
    async with zalo(running.url) as c:
        twice = await send(c, simulator_modes.phone_with(Mode.RECEIPT_TWICE), tracking_id="twice")
        never = await send(c, simulator_modes.phone_with(Mode.NO_RECEIPT), tracking_id="never")
        await running.sim.outbox.drain()
        assert never.msg_id is not None
        status = await c.message_status("tok", never.msg_id)
    assert [twice.code, never.code] == [0, 0]
    assert len(receiver.hits) == 2
    assert receiver.hits[0].body == receiver.hits[1].body
    event = check_signed(receiver.hits[0])
    assert isinstance(event, webhook.DeliveryReceipt)
    assert event.msg_id == twice.msg_id
    assert status.value == wire.MessageStatus(0, "The message was sent to Zalo's server", None)


async def test_receipt_before_the_send_result(start_simulator, receiver):
    running = await start_simulator()
    async with zalo(running.url) as c:
        out = await send(c, simulator_modes.phone_with(Mode.RECEIPT_FIRST), tracking_id="first")
        # The receipt was posted and answered before the send's answer came back.
        assert len(receiver.hits) == 1
        event = check_signed(receiver.hits[0])
        assert isinstance(event, webhook.DeliveryReceipt)
        assert event.msg_id == out.msg_id
        assert out.msg_id is not None
        status = await c.message_status("tok", out.msg_id, "84900000203")
    assert status.value is not None
    assert status.value.status == 1
    assert status.value.delivered_at == event.delivered_at


async def test_hash_phone_send(start_simulator, receiver):
    running = await start_simulator()
    hashed = hashlib.sha256(b"84900000118").hexdigest()
    async with zalo(running.url) as c:
        out = await c.send_template(
            "tok",
            wire.TemplateSend(hash_phone=hashed, template_id="1", template_data={"k": "v"}, tracking_id="h1"),
        )
    assert out.code == 0
    [posted] = await receiver.wait(count=1)
    event = check_signed(posted)
    assert isinstance(event, webhook.DeliveryReceipt)
    assert event.recipient == hashed


async def test_124_refreshes_once_and_the_retry_succeeds(start_simulator, receiver):
    running = await start_simulator()
    persisted: list[tokens.TokenState] = []

    async def persist(state: tokens.TokenState) -> None:
        persisted.append(state)

    async with zalo(running.url) as c:
        keeper = tokens.TokenKeeper(
            c,
            app_id=APP,
            app_secret="dlrhub-sim-app-secret",
            state=tokens.TokenState(
                "seeded", "seeded-refresh", dt.datetime.now(dt.UTC) + dt.timedelta(hours=20)
            ),
            clock=lambda: dt.datetime.now(dt.UTC),
            persist=persist,
        )
        out = await tokens.send_with_refresh(
            keeper,
            c,
            wire.TemplateSend(
                phone=simulator_modes.phone_with(Mode.ERROR_124),
                template_id="1",
                template_data={"k": "v"},
                tracking_id="t124",
            ),
        )
        # The single-use refresh token cannot be replayed.
        replay = await c.refresh_token(APP, "dlrhub-sim-app-secret", "seeded-refresh")
    assert out.code == 0
    assert keeper.refreshes == 1
    assert len(persisted) == 1
    assert persisted[0].refresh_token != "seeded-refresh"
    assert persisted[0].access_token == keeper.state.access_token
    assert (replay.ok, replay.error) == (False, -14020)
    await receiver.wait(count=1)


async def test_refresh_before_expiry_against_simulator(start_simulator):
    running = await start_simulator(token_ttl=3600)

    async def persist(state: tokens.TokenState) -> None:
        pass

    async with zalo(running.url) as c:
        keeper = tokens.TokenKeeper(
            c,
            app_id=APP,
            app_secret="dlrhub-sim-app-secret",
            state=tokens.TokenState("old", "r0", dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)),
            clock=lambda: dt.datetime.now(dt.UTC),
            persist=persist,
        )
        token = await keeper.access_token()
        bad_secret = await c.refresh_token(APP, "wrong", "r1")
        bad_app = await c.refresh_token("9", "dlrhub-sim-app-secret", "r2")
    assert token.startswith("sim.")
    assert keeper.state.expires_at - dt.datetime.now(dt.UTC) > dt.timedelta(minutes=50)
    assert (bad_secret.error, bad_app.error) == (-14002, -14001)


async def test_journey_acknowledged_after_first_delivery(start_simulator, receiver):
    running = await start_simulator()
    async with zalo(running.url) as c:
        got = await c.get_journey_token("tok", "84900000300")
        assert got.value is not None
        info = await c.check_journey_token("tok", got.value.token)
        first = await send(c, "84900000300", tracking_id="j1", journey_token=got.value.token)
        await receiver.wait(count=2)
        second = await send(c, "84900000300", tracking_id="j2", journey_token=got.value.token)
        await running.sim.outbox.drain()
        unknown = await send(c, "84900000300", tracking_id="j3", journey_token="nope")
    assert info.value is not None
    assert (info.value.app_id, info.value.oa_id) == (APP, OA)
    assert info.value.expired_at - info.value.created_at == dt.timedelta(days=7)
    assert [first.code, second.code] == [0, 0]
    assert unknown.zalo_error == -148
    events = [check_signed(p) for p in receiver.hits]
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["DeliveryReceipt", "JourneyAcknowledged", "DeliveryReceipt"]
    ack = events[1]
    assert isinstance(ack, webhook.JourneyAcknowledged)
    assert (ack.journey_id, ack.msg_id, ack.tracking_id) == (got.value.journey_id, first.msg_id, "j1")
    assert receiver.hits[1].headers.get("X-ZEvent-Server") is None


async def test_journey_times_out_unused(start_simulator, receiver):
    running = await start_simulator(journey_lifetime=0.2)
    async with zalo(running.url) as c:
        got = await c.get_journey_token("tok", "84900000300")
        assert got.value is not None
        [posted] = await receiver.wait(count=1)
        late = await send(c, "84900000300", journey_token=got.value.token)
    event = check_signed(posted)
    assert isinstance(event, webhook.JourneyTimedOut)
    assert event == webhook.JourneyTimedOut(
        APP, OA, event.timestamp, got.value.journey_id, event.timed_out_at
    )
    assert late.zalo_error == -150


async def test_receipts_are_retried_until_2xx(start_simulator, receiver):
    receiver.status = 503
    running = await start_simulator(receipt_retries=2, retry_delay=0.02)
    async with zalo(running.url) as c:
        await send(c, "84900000300")
    await running.sim.outbox.drain()
    assert len(receiver.hits) == 3
    assert running.sim.outbox.failed == 1


async def test_shutdown_cancels_pending_receipts(start_simulator, receiver):
    running = await start_simulator(receipt_delay=30)
    async with zalo(running.url) as c:
        out = await send(c, "84900000300")
    assert out.code == 0
    assert running.sim.outbox.pending == 1
    await running.sim.aclose()
    assert running.sim.outbox.pending == 0
    await asyncio.sleep(0)
    assert receiver.hits == []


async def test_expired_issued_token_is_124(start_simulator):
    running = await start_simulator(token_ttl=0)
    async with zalo(running.url) as c:
        grant = await c.refresh_token(APP, "dlrhub-sim-app-secret", "any-refresh")
        assert grant.value is not None
        out = await send(c, "84900000300", token=grant.value.access_token)
    assert (out.code, out.zalo_error) == (17004, -124)


async def test_send_by_user_id_gets_a_receipt_naming_the_user(start_simulator, receiver):
    running = await start_simulator()
    async with zalo(running.url) as c:
        out = await c.send_template(
            "tok",
            wire.TemplateSend(
                user_id="5308693166941955300",
                template_id="523194",
                template_data={"name": "An"},
                tracking_id="zalomid.uid",
            ),
        )
    assert (out.kind, out.code) == (models.EventKind.SUCCESS, 0)
    [posted] = await receiver.wait(count=1)
    event = check_signed(posted)
    assert isinstance(event, webhook.DeliveryReceipt)
    assert (event.recipient, event.msg_id, event.tracking_id) == (
        "5308693166941955300",
        out.msg_id,
        "zalomid.uid",
    )


async def test_user_id_modes_follow_the_last_digits(start_simulator):
    running = await start_simulator()
    async with zalo(running.url) as c:
        out = await c.send_template(
            "tok",
            wire.TemplateSend(
                user_id="5308693166941955118", template_id="1", template_data={"a": 1}, tracking_id="u"
            ),
        )
    assert (out.code, out.zalo_error) == (17004, -118)


@pytest.mark.parametrize(
    "body",
    [
        {"user_id": "123", "phone": "84900000300"},
        {"user_id": "1" * 21},
        {"user_id": 5308693166941955879},
    ],
)
async def test_simulator_refuses_malformed_user_id_sends(start_simulator, body):
    running = await start_simulator()
    async with aiohttp.ClientSession() as http:
        sent = {**body, "template_id": "1", "template_data": {"a": 1}, "tracking_id": "u"}
        async with http.post(
            running.url + wire.PATH_TEMPLATE, json=sent, headers={"access_token": "tok"}
        ) as resp:
            answer = await resp.json()
    assert answer["error"] == -132
