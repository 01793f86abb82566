"""Going live from an empty directory, only through the `dlrhub` CLI and HTTP, on SQLite and PostgreSQL.

A Zalo simulator in a thread of the test stands where Zalo would (`DLRHUB_ZALO_MODE=zalo`): its developer console
makes an OA as Zalo's does, and it posts receipts signed with that OA's secret to dlrhub's webhook. An operator then
creates an account, registers the OA, syncs its templates, sends through both dialects, tops up, locks and unlocks,
rotates every kind of secret with its overlap, and hands the customer a token that reads only its own messages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import subprocess
import uuid
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks

from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config
from tests import customers, receivers, zalo_thread
from tests.acceptance.engine import harness

# Two dozen CLI processes and a server: longer than the suite's per-test timeout on a busy machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]

BOOT = "go-live-bootstrap-token-0123456789"
#: Numbers the simulator sends, then reports delivered (docs/reference/simulator.md), in each dialect's form.
OK_PHONE = "0900000300"
NX_PHONE = "84900000300"


@pytest.fixture
def empty_store(empty_db_url: str) -> str:
    """Where the deployment's store will be: nothing there yet."""
    return empty_db_url


class Operator:
    """The `dlrhub` CLI run as an operator runs it: a process per command, in the deployment's directory."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.env = env

    async def run(self, *args: str, code: int = 0) -> str:
        """The command's standard output and error, once it exited with `code`."""
        proc = await asyncio.create_subprocess_exec(
            harness.DLRHUB, *args, env=self.env, cwd=self.cwd, stdout=PIPE, stderr=PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        text = out.decode() + err.decode()
        assert proc.returncode == code, f"dlrhub {' '.join(args)}: {proc.returncode}\n{text}"
        return text

    async def json(self, *args: str) -> Any:
        """The JSON the command printed (its last line) with `--json`."""
        proc = await asyncio.create_subprocess_exec(
            harness.DLRHUB, *args, "--json", env=self.env, cwd=self.cwd, stdout=PIPE, stderr=PIPE
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, (
            f"dlrhub {' '.join(args)}: {proc.returncode}\n{out.decode()}{err.decode()}"
        )
        return json.loads(out)


@pytest.fixture
def zalo() -> Iterator[tuple[simulator.Simulator, str]]:
    sim = simulator.Simulator(simulator_config.SimulatorConfig(oas=(), receipt_delay=0.1))
    with zalo_thread.serving(sim) as url:
        yield sim, url


@pytest.fixture
async def served(
    empty_store: str, tmp_path: Path, zalo: tuple[simulator.Simulator, str]
) -> AsyncIterator[tuple[Operator, httpx.AsyncClient, str]]:
    """The operator's CLI, and `dlrhub serve` started once the store exists (the simulator posts to it)."""
    sim, zalo_url = zalo
    port = harness.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env.update(
        DLRHUB_DATABASE_URL=empty_store,
        DLRHUB_HOST="127.0.0.1",
        DLRHUB_PORT=str(port),
        DLRHUB_ADMIN_TOKEN=BOOT,
        DLRHUB_DEMO_ACCOUNT="0",
        DLRHUB_CALLBACK_ALLOW="127.0.0.1",
        DLRHUB_ZALO_MODE="zalo",
        DLRHUB_ZALO_API_URL=zalo_url,
        DLRHUB_ZALO_OAUTH_URL=zalo_url,
        DLRHUB_ZALO_TIMEOUT_S="2",
        DLRHUB_LOG_LEVEL="warning",
    )
    operator = Operator(tmp_path, env)
    await operator.run("migrate")
    sim.webhook_url = f"http://127.0.0.1:{port}/zalo/webhook"
    proc = _serve(env, tmp_path)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            await harness.wait_until(lambda: _ready(http), 30, proc)
            yield operator, http, zalo_url
    finally:
        harness.stop_worker(proc)


def _serve(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    with (cwd / "serve.log").open("ab") as out:
        return subprocess.Popen([harness.DLRHUB, "serve"], env=env, cwd=cwd, stdout=out, stderr=out)


async def _ready(http: httpx.AsyncClient) -> bool:
    try:
        return (await http.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


def admin(token: str = BOOT) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def nx_dr(request_id: str, status: str):
    return lambda hit: (
        hit.path == "/nx"
        and (hit.json() or {}).get("requestId") == request_id
        and (hit.json() or {}).get("status") == status
    )


def esms_of(sms_id: str):
    return lambda hit: hit.path == "/esms" and hit.params.get("SMSID") == sms_id


async def test_an_operator_goes_live_with_the_cli_and_http(served, receiver: receivers.Receiver) -> None:
    operator, http, zalo_url = served
    zalo = httpx.AsyncClient(base_url=zalo_url, timeout=10)

    # 1. An account, made with the CLI; with the real Zalo it has no made-up OA.
    made = await operator.json("accounts", "create", "--name", "Shop", "--balance", "5000")
    account_id = made["id"]
    assert made["esms"]["OAID"] is None
    other = await operator.json("accounts", "create", "--name", "Other shop")

    # 2. A real OA: Zalo's console makes it, dlrhub refreshes its token at once and reads the quota.
    console = (await zalo.post("/console/oas")).json()
    register = ["oas", "register", "--account", account_id, "--oa-id", console["oa_id"]]
    register += ["--app-id", console["app_id"], "--oa-secret", console["oa_secret"]]
    wrong = await operator.run(
        *register, "--app-secret", "not-it", "--refresh-token", console["refresh_token"], code=1
    )
    assert "-14002" in wrong
    oa = await operator.json(
        *register, "--app-secret", console["app_secret"], "--refresh-token", console["refresh_token"]
    )
    assert oa["oa_id"] == console["oa_id"]
    assert console["app_secret"] not in json.dumps(oa) and console["refresh_token"] not in json.dumps(oa)

    # 3. Its templates, synced from Zalo's template API.
    synced = await operator.json("templates", "sync", console["oa_id"])
    assert "100001" in synced["template_ids"]

    # 4. Sends with a synced template through both dialects reach the customer's URLs.
    credentials = made | {"esms": made["esms"] | {"OAID": console["oa_id"], "TempIDs": ["100001"]}}
    shop = customers.Customer(http, credentials, BOOT)
    sms_id = await shop.esms(OK_PHONE, receiver.url("/esms"))
    await receiver.wait(esms_of(sms_id))
    request_id = await shop.mt(NX_PHONE, receiver.url("/nx"))
    await receiver.wait(nx_dr(request_id, "success"))
    await receiver.wait(nx_dr(request_id, "delivered"))  # Zalo's receipt, signed with the OA secret
    bad = shop.zns(Phone=OK_PHONE, TempID="100001", TempData={"order": "x"})  # `name` is required
    answer = await shop.post("/MainService.svc/json/SendZaloMessage_V6/", bad)
    assert answer.json()["CodeResult"] == "110", answer.text

    # 5. A top-up through the ledger.
    topped = await http.post(
        f"/v1/admin/accounts/{account_id}/ledger",
        json={"kind": "top_up", "amount": "100000", "reason": "invoice 42"},
        headers=admin(),
    )
    assert topped.status_code == 201, topped.text
    ledger = await operator.json("accounts", "ledger", account_id)
    kinds = [row["kind"] for row in ledger]
    assert kinds[0] == "top_up" and "opening" in kinds and "charge" in kinds
    shown = await operator.json("accounts", "show", account_id)
    assert Decimal(shown["balance"]) == sum(Decimal(row["amount"]) for row in ledger)

    # 6. Locked, sends are refused in each dialect's code; unlocked, they go again.
    assert (await http.post(f"/v1/admin/accounts/{account_id}/lock", headers=admin())).status_code == 200
    refused = await shop.post("/MainService.svc/json/SendZaloMessage_V6/", shop.zns(Phone=OK_PHONE))
    assert refused.json()["CodeResult"] == "143", refused.text
    body = {"phone": NX_PHONE, "functionType": "template", "messageData": {"templateId": "100001"}}
    assert (await shop.signed("/v1/zalo/mt", body | {"drWebhook": receiver.url("/nx")}))["code"] == 1100
    assert (await http.post(f"/v1/admin/accounts/{account_id}/unlock", headers=admin())).status_code == 200
    await receiver.wait(esms_of(await shop.esms(OK_PHONE, receiver.url("/esms"))))

    # 7. Every kind of secret rotated, each with its overlap.
    old_esms, old_nx = dict(shop.credentials["esms"]), dict(shop.credentials["nxcloud"])
    esms_new = await operator.json("keys", "rotate-esms", account_id, "--overlap", "1h")
    nx_new = await operator.json("keys", "rotate-nxcloud", account_id, "--overlap", "1h")
    fresh = Rotated(shop, esms=esms_new, nxcloud=nx_new)
    await receiver.wait(
        esms_of(await fresh.customer.esms(OK_PHONE, receiver.url("/esms")))
    )  # new pair: at once
    await receiver.wait(esms_of(await shop.esms(OK_PHONE, receiver.url("/esms"))))  # old pair: until its time
    await fresh.customer.mt(NX_PHONE, receiver.url("/nx"))
    await shop.mt(NX_PHONE, receiver.url("/nx"))
    # Ended now (overlap 0): the pair it replaces stops (in a process that cached it, within 2 s).
    await operator.json("keys", "rotate-esms", account_id, "--overlap", "0")
    await asyncio.sleep(2.5)
    valid = fresh.customer.zns(Phone=OK_PHONE, TempData={"name": "An"})
    stale = await fresh.customer.post("/MainService.svc/json/SendZaloMessage_V6/", valid)
    assert stale.json()["CodeResult"] == "101", stale.text
    assert old_esms["ApiKey"] != esms_new["ApiKey"] and old_nx["accessKey"] != nx_new["accessKey"]

    # Signing secrets: two live at once sign every callback twice; retiring one leaves the other.
    first = await operator.json("keys", "signing-add", account_id)
    second = await operator.json("keys", "signing-add", account_id)
    await asyncio.sleep(0)  # the dispatcher reads secrets afresh within its account cache time (docs)
    signed_id = await _until_signed_twice(fresh.customer, receiver)
    hit = (await receiver.wait(nx_dr(signed_id, "success")))[0]
    for secret in (first["secret"], second["secret"]):
        standardwebhooks.Webhook(secret).verify(hit.body, hit.headers)
    await operator.json("keys", "signing-retire", account_id, first["key_id"])
    listed = await operator.json("keys", "signing-list", account_id)
    assert listed["key_ids"] == [second["key_id"]]

    # The OA secret: Zalo's console issues a new one, the operator stores it, receipts verify with it.
    reset = await zalo.post(f"/console/oas/{console['oa_id']}/reset-secrets", json={"app_secret": False})
    await operator.json("oas", "update-secrets", console["oa_id"], "--oa-secret", reset.json()["oa_secret"])
    await asyncio.sleep(2.5)  # other processes see an OA change within the lookup cache time (2 s)
    after = await fresh.customer.mt(NX_PHONE, receiver.url("/nx"))
    await receiver.wait(nx_dr(after, "delivered"))

    # The admin token: a named one replaces the bootstrap, and a revoked one stops.
    ops = await operator.json("tokens", "create", "--name", "ops", "--kind", "admin")
    assert (await http.get("/v1/admin/accounts", headers=admin(ops["token"]))).status_code == 200
    await operator.json("tokens", "revoke", ops["id"])
    await asyncio.sleep(2.5)  # revocation reaches other processes within 2 s
    assert (await http.get("/v1/admin/accounts", headers=admin(ops["token"]))).status_code == 401

    # 8. A customer token reads its own account's messages, and not another account's.
    token = await operator.json(
        "tokens", "create", "--name", "shop-pull", "--kind", "customer", "--account", account_id
    )
    own = await http.get(f"/v1/messages/{request_id}", headers=admin(token["token"]))
    assert own.status_code == 200 and own.json()["id"] == request_id
    theirs = await _message_of(http, other)
    assert (await http.get(f"/v1/messages/{theirs}", headers=admin(token["token"]))).status_code == 404
    assert (await http.get(f"/v1/messages/{theirs}", headers=admin())).status_code == 200
    assert (await http.get("/v1/admin/accounts", headers=admin(token["token"]))).status_code == 403

    # Every action above is in the audit log, and no secret is.
    audit = json.dumps(await operator.json("audit", "list", "--limit", "500"))
    actions = {entry["action"] for entry in json.loads(audit)["entries"]}
    assert {"account.create", "oa.register", "templates.sync", "account.lock", "token.create"} <= actions
    for secret in (console["app_secret"], esms_new["SecretKey"], first["secret"], token["token"]):
        assert secret not in audit
    await zalo.aclose()


class Rotated:
    """The customer as it is after a rotation: the same account with its new pairs."""

    def __init__(self, before: customers.Customer, *, esms: dict[str, Any], nxcloud: dict[str, Any]) -> None:
        credentials = dict(before.credentials)
        credentials["esms"] = credentials["esms"] | {"ApiKey": esms["ApiKey"], "SecretKey": esms["SecretKey"]}
        credentials["nxcloud"] = credentials["nxcloud"] | {
            "accessKey": nxcloud["accessKey"],
            "accessSecret": nxcloud["accessSecret"],
        }
        self.customer = customers.Customer(before.http, credentials, before.admin_token)


async def _until_signed_twice(customer: customers.Customer, receiver: receivers.Receiver) -> str:
    """Send until a callback carries two signatures (the dispatcher caches an account's secrets for a while)."""
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        request_id = await customer.mt(NX_PHONE, receiver.url("/nx"))
        [hit] = await receiver.wait(nx_dr(request_id, "success"))
        if len(hit.headers.get("webhook-signature", "").split()) == 2:
            return request_id
        assert asyncio.get_running_loop().time() < deadline, hit.headers
        await asyncio.sleep(1)


async def _message_of(http: httpx.AsyncClient, account: dict[str, Any]) -> str:
    """A message of `account`, reported by the engine's door with the admin token."""
    message_id = f"msg_{uuid.uuid4().hex}"
    event = {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "message_id": message_id,
        "account": account["id"],
        "type_id": 25,
        "status": "accepted",
        "dialect": "native",
        "recipient": OK_PHONE,
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    answer = await http.post("/v1/events", json=event, headers=admin())
    assert answer.status_code == 202, answer.text
    return message_id
