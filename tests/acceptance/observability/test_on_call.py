"""On call, the scaled way: `dlrhub api` and two `dlrhub worker` processes on PostgreSQL.

Every process is scraped and shows every metric family; then a customer's endpoint answers 410 Gone, and the
operator's alert webhook gets `alert.endpoint.disabled` (signed), a worker's `dlrhub_endpoint_failing` names the
account, and a worker's log holds the give-up line as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest
import standardwebhooks

from dlrhub import store
from dlrhub.adapters import metrics
from tests import receivers
from tests.acceptance.engine import harness
from tests.conftest import make_account, signing_secret

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

ADMIN = "on-call-admin-token-0123456789"
ALERT_SECRET = signing_secret(b"o" * 24)


def _start(kind: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([harness.DLRHUB, kind], env=env, stdout=out, stderr=subprocess.STDOUT)


def _families() -> set[str]:
    return {family.name for family in metrics.Metrics().registry.collect()}


async def _scrape(http: httpx.AsyncClient, url: str) -> str | None:
    try:
        answer = await http.get(url + "/metrics")
    except httpx.TransportError:
        return None
    return answer.text if answer.status_code == 200 else None


async def test_every_process_is_measured_and_a_failing_endpoint_reaches_on_call(pg_url, tmp_path):
    db = store.from_url(pg_url)
    account = make_account()
    await db.create_account(account, [])
    customer = receivers.Receiver(harness.free_port())
    operator = receivers.Receiver(
        harness.free_port()
    )  # its own destination: the failing one must not hide it
    await customer.start()
    await operator.start()
    customer.scripts["/gone"] = [410]
    api_port, ports = harness.free_port(), [harness.free_port(), harness.free_port()]
    common = {
        "DLRHUB_LOG_FORMAT": "json",
        "DLRHUB_LOG_LEVEL": "info",
        "DLRHUB_ADMIN_TOKEN": ADMIN,
        "DLRHUB_ALERT_URL": operator.url("/alerts"),
        "DLRHUB_ALERT_SECRET": ALERT_SECRET,
        "DLRHUB_HOST": "127.0.0.1",
        "DLRHUB_PORT": str(api_port),
    }
    api = _start("api", harness.worker_env(pg_url, **common), tmp_path / "api.log")
    workers = [
        _start(
            "worker", harness.worker_env(pg_url, **common, DLRHUB_WORKER_PORT=str(p)), tmp_path / f"w{i}.log"
        )
        for i, p in enumerate(ports)
    ]
    urls = [f"http://127.0.0.1:{api_port}", *(f"http://127.0.0.1:{p}" for p in ports)]
    try:
        async with httpx.AsyncClient(timeout=5) as http:

            async def all_up() -> bool:
                return all([await _scrape(http, url) is not None for url in urls])

            await harness.wait_until(all_up, 30, api)
            for url in urls:  # the same names in every process
                text = await _scrape(http, url) or ""
                missing = {name for name in _families() if f"# TYPE {name}" not in text}
                assert not missing, (url, missing)

            event = {
                "event_id": f"evt_{uuid.uuid4().hex}",
                "message_id": f"msg_{uuid.uuid4().hex}",
                "account": account.id,
                "type_id": 25,
                "status": "success",
                "dialect": "native",
                "recipient": "84900000300",
                "callback_url": customer.url("/gone"),
                "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
            }
            sent = await http.post(
                urls[0] + "/v1/events", json=event, headers={"Authorization": f"Bearer {ADMIN}"}
            )
            assert sent.status_code == 202, sent.text

            [alert] = await operator.wait(lambda hit: hit.path == "/alerts", within_s=60)
            body = standardwebhooks.Webhook(ALERT_SECRET).verify(alert.body, alert.headers)
            assert body["type"] == "alert.endpoint.disabled", body
            assert account.id in json.dumps(body)

            async def named() -> bool:
                texts = [await _scrape(http, url) or "" for url in urls[1:]]
                return any(
                    line.startswith("dlrhub_endpoint_failing{") and f'account_id="{account.id}"' in line
                    for text in texts
                    for line in text.splitlines()
                )

            await harness.wait_until(named, 30)
    finally:
        for proc in (*workers, api):
            await harness.stop_worker_async(proc)
        await customer.stop()
        await operator.stop()
        await db.close()
    lines = [
        line for i in range(2) for line in (tmp_path / f"w{i}.log").read_text().splitlines() if line.strip()
    ]
    records = [json.loads(line) for line in lines]  # every line is JSON
    gave_up = [r for r in records if r.get("event") == "callback.gave_up"]
    assert len(gave_up) == 1 and gave_up[0]["account_id"] == account.id, gave_up
