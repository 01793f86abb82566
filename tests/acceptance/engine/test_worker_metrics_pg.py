"""A real `dlrhub worker` on PostgreSQL serves `/metrics`, `/healthz` and `/readyz` on its `worker_port`: every metric
family, its own attempts, and the failing endpoint named with its account."""

from __future__ import annotations

import re
import socket

import httpx
import pytest

from dlrhub import store
from dlrhub.adapters import metrics
from tests import receivers
from tests.acceptance.engine import harness
from tests.conftest import make_account

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


async def test_a_worker_serves_its_metrics_on_its_own_port(pg_url, tmp_path):
    db = store.from_url(pg_url)
    account = make_account()
    await db.create_account(account, [])
    receiver = receivers.Receiver(harness.free_port())
    await receiver.start()
    receiver.scripts["/down"] = [500] * 1000
    port = harness.free_port()
    env = harness.worker_env(pg_url, DLRHUB_WORKER_PORT=str(port))
    worker = harness.start_worker(env, tmp_path / "worker.log")
    base = f"http://127.0.0.1:{port}"
    try:
        await harness.queue(db, account, receiver.url("/ok"), 5, "ok")
        await harness.queue(db, account, receiver.url("/down"), 1, "down")
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:

            async def scraped() -> bool:
                try:
                    text = (await http.get("/metrics")).text
                except httpx.TransportError:
                    return False  # not listening yet
                # Attempts are counted when judged, the store's counts (the backlog) once the results are
                # flushed: wait for both.
                return (
                    'dlrhub_callback_attempts_total{outcome="ok"} 5.0' in text
                    and f'account_id="{account.id}"' in text
                    and re.search(r'dlrhub_callback_backlog\{dialect="native"\} 1\.0', text) is not None
                )

            await harness.wait_until(scraped, 60, worker)
            text = (await http.get("/metrics")).text
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
            assert (await http.get("/v1/messages/ok0")).status_code == 404  # only the ops routes
    finally:
        await harness.stop_worker_async(worker)
        await receiver.stop()
        await db.close()
    found = {name.removesuffix("_total") for name in re.findall(r"^# TYPE (\w+) ", text, flags=re.M)}
    assert found >= set(metrics.FAMILIES)
    assert re.search(
        rf'dlrhub_endpoint_failing\{{account_id="{account.id}",endpoint="[^"]+",state="\w+"\}} ', text
    )
    assert 'dlrhub_callback_attempt_duration_seconds_count{dialect="native",outcome="ok"} 5.0' in text
    assert re.search(r'dlrhub_callback_backlog\{dialect="native"\} 1\.0', text)  # the failing one retries
    assert worker.returncode == 0


async def test_a_worker_whose_port_is_taken_stops_with_one_line(pg_url, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = harness.worker_env(pg_url, DLRHUB_WORKER_PORT=str(port))
        worker = harness.start_worker(env, tmp_path / "worker.log")
        assert worker.wait(timeout=60) == 2
    said = (tmp_path / "worker.log").read_text()
    assert f"cannot listen on 127.0.0.1:{port}" in said
    assert "Traceback" not in said
