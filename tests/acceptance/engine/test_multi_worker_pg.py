"""Several `dlrhub worker` processes on one PostgreSQL: no callback delivered twice within a lease, none lost."""

from __future__ import annotations

import pytest

from dlrhub import store
from dlrhub.core import models
from tests import receivers
from tests.acceptance.engine import harness
from tests.conftest import make_account, signing_secret

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
N = 600
WORKERS = 3


async def test_three_workers_share_the_work_without_duplicates(pg_url, tmp_path):
    db = store.from_url(pg_url)
    account = make_account(signing_secrets=(signing_secret(b"m" * 24),))
    await db.create_account(account, [])
    receiver = receivers.Receiver(harness.free_port(), delay_s=0.01)
    await receiver.start()
    # A lease far longer than the run: a second delivery could only come from two workers holding one claim.
    env = harness.worker_env(pg_url, DLRHUB_DISPATCH_LEASE_S="300", DLRHUB_DISPATCH_BATCH_SIZE="20")
    workers = [harness.start_worker(env, tmp_path / f"worker{i}.log") for i in range(WORKERS)]
    try:
        await harness.queue(db, account, receiver.url(), N, "p")

        async def done():
            return (await db.count_callbacks())[models.CallbackState.SUCCEEDED] == N

        await harness.wait_until(done, 120)
        assert all(w.poll() is None for w in workers)
    finally:
        for w in workers:
            await harness.stop_worker_async(w)
        await receiver.stop()
    counts = receiver.counts()
    assert len(counts) == N
    assert max(counts.values()) == 1
    attempts = [
        len(await db.list_attempts(cb.id)) for i in range(0, N, 10) for cb in await db.list_callbacks(f"p{i}")
    ]
    assert set(attempts) == {1}
    await db.close()
