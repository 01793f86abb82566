"""A real `dlrhub serve` process (Zalo simulator mounted), and customers of both dialects."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import orjson

from dlrhub.dialects.nxcloud import signing
from tests import receivers
from tests.acceptance.engine import harness

DLRHUB = str(Path(sys.executable).parent / "dlrhub")
ADMIN = "acceptance-admin"


@dataclasses.dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def start(tmp: Path, **env_extra: str) -> Served:
    """`dlrhub serve` on a free loopback port with a fresh SQLite file; returns once `/healthz` answers."""
    port = harness.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env.update(
        DLRHUB_DATABASE_URL=f"sqlite:///{tmp / 'dlrhub.sqlite3'}",
        DLRHUB_HOST="127.0.0.1",
        DLRHUB_PORT=str(port),
        DLRHUB_ADMIN_TOKEN=ADMIN,
        DLRHUB_DEMO_ACCOUNT="0",
        DLRHUB_CALLBACK_ALLOW="127.0.0.1",
        DLRHUB_SIMULATOR_RECEIPT_DELAY_S="0.1",
        DLRHUB_ZALO_TIMEOUT_S="1",
        DLRHUB_SIMULATOR_JOURNEY_LIFETIME_S="3",
        DLRHUB_LOG_LEVEL="warning",
    )
    env.update(env_extra)
    log = tmp / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([DLRHUB, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"dlrhub serve exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return Served(proc, url, log)
        except OSError:
            time.sleep(0.05)
    harness.stop_worker(proc)
    raise AssertionError("dlrhub serve did not start")


@dataclasses.dataclass
class Customer:
    http: httpx.AsyncClient
    credentials: dict[str, Any]

    @classmethod
    async def create(cls, http: httpx.AsyncClient, dr_url: str) -> Customer:
        answer = await http.post(
            "/v1/admin/accounts",
            json={"name": "acceptance", "dr_url": dr_url},
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        assert answer.status_code == 201, answer.text
        return cls(http, answer.json())

    async def esms(self, phone: str, callback_url: str) -> str:
        """An eSMS V6 ZNS send; returns its SMSID."""
        e = self.credentials["esms"]
        body = {
            "ApiKey": e["ApiKey"],
            "SecretKey": e["SecretKey"],
            "OAID": e["OAID"],
            "TempID": e["TempIDs"][0],
            "TempData": {"name": "An"},
            "Phone": phone,
            "CallbackUrl": callback_url,
        }
        answer = await self.http.post("/MainService.svc/json/SendZaloMessage_V6/", json=body)
        assert answer.json()["CodeResult"] == "100", answer.text
        sms_id: str = answer.json()["SMSID"]
        return sms_id

    async def nx(self, path: str, body: dict[str, Any], action: str) -> dict[str, Any]:
        nx = self.credentials["nxcloud"]
        raw = orjson.dumps({"appkey": nx["appkey"], **body})
        headers = signing.sign_headers(nx["accessKey"], nx["accessSecret"], raw, action=action)
        answer = await self.http.post(
            path, content=raw, headers=headers | {"Content-Type": "application/json"}
        )
        found: dict[str, Any] = answer.json()
        assert found["code"] == 0, found
        return found

    async def mt(self, phone: str, dr: str, journey_token: str | None = None) -> str:
        """An NXCloud `mt` send; returns its requestId."""
        data: dict[str, Any] = {"templateId": "100001", "templateData": {"name": "An"}}
        if journey_token is not None:
            data["journeyToken"] = journey_token
        body = {"phone": phone, "functionType": "template", "messageData": data, "drWebhook": dr, "ext": "x"}
        request_id: str = (await self.nx("/v1/zalo/mt", body, "mt"))["data"]["requestId"]
        return request_id

    async def journey(self, phone: str) -> dict[str, Any]:
        body = {"phone": phone, "tokenType": "token_logistics_7"}
        found: dict[str, Any] = (await self.nx("/v1/zalo/initJourneyToken", body, "initJourneyToken"))["data"]
        return found


def error_info(callback: receivers.Hit) -> Any:
    """The decoded `error_info` of an eSMS GET callback (forms A and C; form B is encoded once more)."""
    raw = callback.params.get("error_info") or ""
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = json.loads(urllib.parse.unquote(raw))
    return json.loads(value) if isinstance(value, str) else value
