"""The channel worker and the webhook, over real loopback HTTP against the mounted simulator, on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt

import orjson

from dlrhub import settings
from dlrhub.core import ids, models
from dlrhub.simulator import modes as simulator_modes
from dlrhub.workers import zalo_channel as worker
from tests.integration.zalo.channel import Running, running

Mode = simulator_modes.Mode


async def test_success_then_delivered_with_tracking_id(db):
    async with running(db) as r:
        message = await r.send("84900000300")
        await r.send_all()
        stored = await r.hub.store.get_message(message.id)
        assert stored.state is models.MessageState.DELIVERED
        assert await r.kinds(message.id) == [
            ("accepted", None, True),
            ("success", 0, True),
            ("delivered", 17003, True),
        ]
        [delivered] = [e for e in await r.hub.store.list_events(message.id) if e.kind.value == "delivered"]
        # The simulator's receipt carried the message id as `tracking_id`, and the msg_id of the send result.
        assert delivered.raw is not None
        assert delivered.raw["message"]["tracking_id"] == message.id
        assert delivered.raw["message"]["msg_id"] == stored.zalo_msg_id
        # Nothing is left queued.
        assert await r.hub.store.claim_channel_messages(r.clock(), 10, 60, "2000-01-01", r.clock()) == []


async def test_failed_118(db):
    async with running(db) as r:
        failed = await r.send(simulator_modes.phone_with(Mode.ERROR_118))
        await r.send_all()
        f = await r.hub.store.get_message(failed.id)
    assert (f.state, f.code, f.text) == (
        models.MessageState.FAILED,
        17004,
        "Zalo send error(Zalo account not existed)",
    )
    assert f.zalo_res == {"error": -118, "message": "Zalo account not existed", "data": None}


async def test_failed_17005_when_zalo_never_answers(db):
    # A short timeout, which only the send that is never answered reaches (with the 118 beside it, a loaded
    # machine once let the simulator's answer miss 0.3 s too).
    async with running(db, zalo_timeout_s=0.3) as r:
        timeout = await r.send(simulator_modes.phone_with(Mode.NO_ANSWER))
        await r.send_all()
        t = await r.hub.store.get_message(timeout.id)
    assert (t.state, t.code) == (models.MessageState.FAILED, 17005)
    assert t.zalo_res is not None
    assert t.zalo_res["sysMsg"] == "Zalo engine api timeout"


async def test_124_refreshes_and_persists_the_new_tokens(db):
    async with running(db) as r:
        before = r.new.oa
        message = await r.send(simulator_modes.phone_with(Mode.ERROR_124))
        await r.send_all()
        after = await r.hub.store.get_oa(before.oa_id)
        stored = await r.hub.store.get_message(message.id)
    assert stored.state is models.MessageState.DELIVERED
    assert after is not None
    assert after.access_token != before.access_token
    assert after.refresh_token != before.refresh_token
    assert after.token_expires_at > before.token_expires_at


async def test_receipt_before_result_and_receipt_twice(db):
    async with running(db) as r:
        first = await r.send(simulator_modes.phone_with(Mode.RECEIPT_FIRST))
        twice = await r.send(simulator_modes.phone_with(Mode.RECEIPT_TWICE))
        never = await r.send(simulator_modes.phone_with(Mode.NO_RECEIPT))
        await r.send_all()
        assert await r.hub.store.count_orphan_receipts() == 0
        assert await r.kinds(first.id) == [
            ("accepted", None, True),
            ("success", 0, True),
            ("delivered", 17003, True),
        ]
        assert await r.kinds(twice.id) == [
            ("accepted", None, True),
            ("success", 0, True),
            ("delivered", 17003, True),
        ]
        assert (await r.hub.store.get_message(never.id)).state is models.MessageState.SUCCESS


async def test_daily_quota_defers_the_rest_to_tomorrow(db):
    async with running(db) as r:
        await r.hub.store.put_oa(dataclasses.replace(r.new.oa, daily_quota=2))
        sent = [await r.send(f"8490000030{i}") for i in range(3)]
        await r.send_all()
        states = [(await r.hub.store.get_message(m.id)).state for m in sent]
        assert states.count(models.MessageState.ACCEPTED) == 1
        r.clock.offset = dt.timedelta(days=1)
        await r.send_all()
        states = [(await r.hub.store.get_message(m.id)).state for m in sent]
    assert models.MessageState.ACCEPTED not in states


async def test_bad_signature_is_401_and_nothing_stored(db):
    async with running(db) as r:
        message = await r.send("84900000300")
        body = r.receipt("0123456789abcdef0123", message.id)
        bad = await r.post_event(body, secret="not-the-oa-secret")
        unsigned = await r.http.post("/zalo/webhook", content=b'{"a":1}', headers={"X-ZEvent-Server": "ZNS"})
        other_oa = await r.post_event(body | {"sender": {"id": "999"}})
        assert bad.status_code == 401
        assert other_oa.status_code == 401
        assert unsigned.status_code == 400
        assert await r.hub.store.count_orphan_receipts() == 0
        assert await r.kinds(message.id) == [("accepted", None, True)]
        good = await r.post_event(body)
        assert good.status_code == 200
        assert good.json()["result"] == "orphan"
        again = await r.post_event(body)
        assert again.json()["result"] == "orphan"
        assert await r.hub.store.count_orphan_receipts() == 1


async def test_orphan_is_matched_later_and_repeats_change_nothing(db):
    async with running(db) as r:
        message = await r.send("84900000300")
        # Zalo's receipt arrives before dlrhub has even sent (by tracking_id): kept as an orphan.
        early = r.receipt("feedfacefeedfacefeed", message.id)
        assert (await r.post_event(early)).json()["result"] == "orphan"
        await r.send_all()
        # The send result (its own msg_id) took the orphan: delivered once, from the early receipt.
        events = await r.kinds(message.id)
        assert events.count(("delivered", 17003, True)) == 1
        assert await r.hub.store.count_orphan_receipts() == 0
        callbacks = await r.hub.store.list_callbacks(message.id)
        repeat = await r.post_event(early)
        assert repeat.json()["result"] == "applied"
        assert await r.kinds(message.id) == events
        assert await r.hub.store.list_callbacks(message.id) == callbacks


def _issued_journey(r: Running) -> models.Journey:
    """A journey issued to the running app's OA for 84900000300, a week to run."""
    return models.Journey(
        journey_id="1257624175686111232",
        account_id=r.new.account.id,
        appkey=r.new.app.appkey,
        oa_id=r.new.oa.oa_id,
        token="tok-a",
        token_type="token_logistics_7",
        phone="84900000300",
        state=models.JourneyState.ISSUED,
        created_at=r.clock(),
        expires_at=r.clock() + dt.timedelta(days=7),
    )


async def test_journey_acknowledged_and_timed_out(db):
    dr_url = "https://customer.example/dr"
    async with running(db, account={"dr_url": dr_url}) as r:
        acked = _issued_journey(r)
        await r.hub.store.put_journey(acked)
        await r.hub.store.put_journey(dataclasses.replace(acked, journey_id="77", token="tok-b"))
        ts = str(int(r.clock().timestamp() * 1000))
        base = {"app_id": r.new.oa.app_id, "oa_id": r.new.oa.oa_id, "timestamp": ts}
        ack = base | {"event_name": "event_journey_acknowledged", "journey_id": acked.journey_id}
        out = base | {"event_name": "event_journey_time_out", "journey_id": "77"}
        assert (await r.post_event(ack, zns=False)).json()["result"] == "applied"
        assert (await r.post_event(out, zns=False)).json()["result"] == "applied"
        assert (
            await r.post_event(base | {"event_name": "event_journey_time_out", "journey_id": "5"}, zns=False)
        ).json()["result"] == "ignored"
        j1 = await r.hub.store.get_journey(acked.journey_id)
        j2 = await r.hub.store.get_journey("77")
        timed_out = await r.hub.store.get_callback(ids.callback_id("journey:77:journey_time_out", dr_url))
    # The DR's appId is Zalo's app id, from Zalo's event, not the NXCloud appkey (docs/reference/nxcloud.md).
    dr = orjson.loads(timed_out.request.body)
    assert (dr["status"], dr["journeyId"], dr["appId"]) == ("journey_time_out", "77", r.new.oa.app_id)
    assert j1 is not None
    assert j2 is not None
    assert (j1.state, j2.state) == (models.JourneyState.ACKNOWLEDGED, models.JourneyState.TIMED_OUT)


async def test_left_mid_send_is_resolved_by_its_receipt_never_resent(db):
    async with running(db) as r:
        message = await r.send("84900000300")
        # A worker claims (marks `sending`) and dies before Zalo answers.
        [claimed] = await r.hub.store.claim_channel_messages(r.clock(), 10, 5, "2000-01-01", r.clock())
        assert claimed.id == message.id
        # Zalo had sent it: its receipt, with our tracking_id, arrives and waits as an orphan.
        assert (await r.post_event(r.receipt("abcabcabcabcabcabcab", message.id))).json()[
            "result"
        ] == "orphan"
        await r.send_all()  # within the lease: nothing happens
        assert await r.kinds(message.id) == [("accepted", None, True)]
        r.clock.offset = dt.timedelta(seconds=10)
        await r.send_all()
        stored = await r.hub.store.get_message(message.id)
        quota = await r.worker.zalo.quota(r.new.oa.access_token)
    assert await r.kinds(message.id) == [
        ("accepted", None, True),
        ("success", 0, True),
        ("delivered", 17003, True),
    ]
    assert stored.zalo_msg_id == "abcabcabcabcabcabcab"
    # The simulator never saw a send: the full daily quota is left.
    assert quota.value is not None
    assert quota.value.remaining == quota.value.daily


async def test_left_mid_send_without_receipt_fails_17005_after_grace(db):
    async with running(db, zalo_recovery_grace_s=60) as r:
        message = await r.send("84900000300")
        await r.hub.store.claim_channel_messages(r.clock(), 10, 5, "2000-01-01", r.clock())
        r.clock.offset = dt.timedelta(seconds=10)
        await r.send_all()
        assert await r.kinds(message.id) == [("accepted", None, True)]
        r.clock.offset = dt.timedelta(seconds=120)
        await r.send_all()
        stored = await r.hub.store.get_message(message.id)
        quota = await r.worker.zalo.quota(r.new.oa.access_token)
    assert (stored.state, stored.code) == (models.MessageState.FAILED, 17005)
    assert quota.value is not None
    assert quota.value.remaining == quota.value.daily


async def test_a_send_cut_off_by_a_crash_reports_after_the_recovery_grace(db):
    async with running(db, zalo_recovery_grace_s=90) as r:
        assert r.worker.lease_s == 90
        message = await r.send("84900000300")
        # A worker claims it, as `run_once` does, and dies before Zalo answers.
        await r.hub.store.claim_channel_messages(r.clock(), 10, r.worker.lease_s, "2000-01-01", r.clock())
        r.clock.offset = dt.timedelta(seconds=60)
        await r.send_all()
        assert await r.kinds(message.id) == [("accepted", None, True)]
        r.clock.offset = dt.timedelta(seconds=100)
        await r.send_all()
        stored = await r.hub.store.get_message(message.id)
    assert (stored.state, stored.code) == (models.MessageState.FAILED, 17005)


def test_the_lease_is_never_shorter_than_a_live_send():
    config = settings.Settings(
        zalo_recovery_grace_s=1, zalo_timeout_s=2, zalo_concurrency=64, zalo_oa_concurrency=8
    )
    # 8 turns of its OA's semaphore, each up to 4 Zalo calls of 2 s.
    assert worker.lease_s(config) == 64


async def test_a_second_journey_acknowledgement_naming_another_message_is_acknowledged_and_ignored(db):
    """Zalo acknowledges a journey once (spec/DECISIONS.md): one that comes again naming another of the journey's
    messages has the first's event id, stored for the first message. The webhook answers it 200, as every
    repeat, and changes nothing: not the 409 the store's refusal would be, which Zalo would only send again."""
    async with running(db) as r:
        first, second = await r.send("84900000300"), await r.send("84900000300")
        journey = _issued_journey(r)
        await r.hub.store.put_journey(journey)
        ts = str(int(r.clock().timestamp() * 1000))
        ack = {
            "app_id": r.new.oa.app_id,
            "oa_id": r.new.oa.oa_id,
            "timestamp": ts,
            "event_name": "event_journey_acknowledged",
            "journey_id": journey.journey_id,
        }
        applied = await r.post_event(ack | {"tracking_id": first.id}, zns=False)
        assert (applied.status_code, applied.json()["result"]) == (200, "applied")
        before = (await r.kinds(first.id), await r.kinds(second.id))
        again = await r.post_event(ack | {"tracking_id": second.id}, zns=False)
        assert again.status_code == 200, again.text
        assert again.json()["result"] == "ignored"
        assert (await r.kinds(first.id), await r.kinds(second.id)) == before
        stored = await r.hub.store.get_journey(journey.journey_id)
    assert stored is not None
    assert (stored.state, stored.acknowledged_message_id) == (models.JourneyState.ACKNOWLEDGED, first.id)


async def test_a_journey_pruned_between_the_webhooks_read_and_its_write_is_ignored(db, monkeypatch):
    """Retention can delete a journey after the webhook found it and before its event is written: the webhook
    answers `ignored` (as for an unknown journey) and stores nothing, not a bare 500."""
    async with running(db) as r:
        stale = _issued_journey(r)  # never stored: as the journey read just before retention deleted it
        store = r.hub.store
        found = {stale.journey_id: stale}

        async def get_journey(journey_id: str) -> models.Journey | None:
            return found.get(journey_id)

        monkeypatch.setattr(store, "get_journey", get_journey)
        ts = str(int(r.clock().timestamp() * 1000))
        out = {
            "app_id": r.new.oa.app_id,
            "oa_id": r.new.oa.oa_id,
            "timestamp": ts,
            "event_name": "event_journey_time_out",
            "journey_id": stale.journey_id,
        }
        answer = await r.post_event(out, zns=False)
        assert (answer.status_code, answer.json()["result"]) == (200, "ignored"), answer.text
        monkeypatch.undo()
        # Nothing stored under the event's id: the journey made now takes the same event as new.
        await store.put_journey(stale)
        again = await r.post_event(out, zns=False)
        assert again.json()["result"] == "applied"
        stored = await store.get_journey(stale.journey_id)
    assert stored is not None and stored.state is models.JourneyState.TIMED_OUT
