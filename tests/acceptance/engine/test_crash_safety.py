"""Crash safety with real processes: SIGKILL the worker mid-flight, and a receiver that is down for a while."""

from __future__ import annotations

import asyncio
import signal

import pytest

from dlrhub import store
from dlrhub.core import models
from tests import receivers
from tests.acceptance.engine import harness
from tests.conftest import make_account, signing_secret

pytestmark = pytest.mark.slow
N = 400
#: Signed, so every request carries its callback id in `webhook-id`.
SECRET = signing_secret(b"s" * 24)


async def _all_succeeded(db: store.Store) -> bool:
    counts = await db.count_callbacks()
    return counts[models.CallbackState.SUCCEEDED] == N


async def test_sigkill_mid_flight_loses_nothing_and_repeats_only_what_was_in_flight(sqlite_url, tmp_path):
    db = store.from_url(sqlite_url)
    await db.migrate()
    account = make_account(signing_secrets=(SECRET,))
    await db.create_account(account, [])
    receiver = receivers.Receiver(harness.free_port(), delay_s=0.05)
    await receiver.start()
    env = harness.worker_env(sqlite_url)
    try:
        await harness.queue(db, account, receiver.url(), N, "k")
        ids = {cb.id for i in range(N) for cb in await db.list_callbacks(f"k{i}")}
        assert len(ids) == N
        worker = harness.start_worker(env, tmp_path / "worker1.log")

        async def some_delivered():
            return len(receiver.hits) >= 60

        await harness.wait_until(some_delivered, 60, worker)
        worker.send_signal(signal.SIGKILL)
        await asyncio.to_thread(worker.wait, 10)
        # Let the receiver answer what the dead worker had already sent; nothing else can arrive meanwhile.
        await asyncio.sleep(0.5)
        cut = len(receiver.hits)
        assert cut < N, "everything was delivered before the kill; the test proves nothing"

        restarted = harness.start_worker(env, tmp_path / "worker2.log")
        try:
            await harness.wait_until(lambda: _all_succeeded(db), 90, restarted)
        finally:
            await harness.stop_worker_async(restarted)
        counts = receiver.counts()
        assert set(counts) == ids  # none lost
        first: dict[str, int] = {}
        for index, hit in enumerate(receiver.hits):
            first.setdefault(hit.key, index)
        repeated = {key for key, n in counts.items() if n > 1}
        # A repeat is only ever a callback the killed worker had sent (answered, not yet recorded), once more.
        assert all(first[key] < cut for key in repeated)
        assert all(counts[key] == 2 for key in repeated)
    finally:
        await receiver.stop()
        await db.close()


async def test_a_receiver_down_for_a_while_gets_everything_once_it_is_back(sqlite_url, tmp_path):
    db = store.from_url(sqlite_url)
    await db.migrate()
    account = make_account(signing_secrets=(SECRET,))
    await db.create_account(account, [])
    receiver = receivers.Receiver(harness.free_port())
    env = harness.worker_env(
        sqlite_url,
        DLRHUB_STANDARD_RETRY_SCHEDULE="0,1,1,2,2,2,2,2",
        DLRHUB_BREAKER_FAILURES="10",
        DLRHUB_BREAKER_PAUSE_S="1",
    )
    worker = harness.start_worker(env, tmp_path / "worker.log")
    try:
        await harness.queue(db, account, receiver.url(), N, "d")

        async def paused():
            return [e.state for e in await db.list_endpoints()] == [models.EndpointState.PAUSED]

        # Down long enough for the circuit breaker to pause the destination, with nothing delivered.
        await harness.wait_until(paused, 60, worker)
        assert (await db.count_callbacks())[models.CallbackState.PENDING] == N
        await receiver.start()
        await harness.wait_until(lambda: _all_succeeded(db), 90, worker)
    finally:
        await harness.stop_worker_async(worker)
        await receiver.stop()
    counts = receiver.counts()
    assert len(counts) == N
    assert set(counts.values()) == {1}
    [endpoint] = await db.list_endpoints()
    assert endpoint.state is models.EndpointState.HEALTHY
    await db.close()
