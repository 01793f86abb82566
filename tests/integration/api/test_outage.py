"""The database is down: every door answers in its own error shape with 503 and `Retry-After`, never a bare 500,
and the log says so once per outage."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from dlrhub import settings, store
from dlrhub.adapters import sender
from dlrhub.api import app as app_
from dlrhub.api import esms as esms_api
from dlrhub.dialects.nxcloud import signing
from dlrhub.services import hub as hub_
from dlrhub.workers import dispatch_config as config_
from dlrhub.workers import dispatcher

TOKEN = "test-admin-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ESMS_KEYS = {"ApiKey": "k" * 20, "SecretKey": "s" * 20}


class Broken:
    """A store whose database cannot be reached, and a way to bring it back."""

    def __init__(self, db: store.Store, heal: Callable[[], None]) -> None:
        self.db = db
        self.heal = heal


@pytest.fixture
async def broken(db_url: str, tmp_path: Path) -> AsyncIterator[Broken]:
    if db_url.startswith("sqlite"):
        # The file is a directory: sqlite3 raises OperationalError (SQLITE_CANTOPEN), as for a lost disk.
        good = Path(db_url.removeprefix("sqlite:///"))
        path = tmp_path / "down.sqlite3"
        path.mkdir()
        db = store.from_url(f"sqlite:///{path}")

        def heal() -> None:
            path.rmdir()
            shutil.copy(good, path)

    else:
        # Nothing listens on port 1: asyncpg raises ConnectionRefusedError (an OSError) for every pool.
        db = store.from_url(db_url.replace(":5432/", ":1/"))

        def heal() -> None:
            db.url = db_url  # type: ignore[attr-defined]

    yield Broken(db, heal)
    await db.close()


@pytest.fixture
async def client(broken: Broken) -> AsyncIterator[httpx.AsyncClient]:
    hub = hub_.Hub(settings=settings.Settings(admin_token=TOKEN), store=broken.db)
    app = app_.create_app(hub)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        yield c


def nx_signed(body: bytes) -> dict[str, str]:
    return {**signing.sign_headers("ak", "secret", body), "content-type": "application/json"}


async def test_every_door_answers_in_its_shape_and_the_log_has_one_line_per_outage(
    broken: Broken, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    send = esms_api.PREFIX + "SendZaloMessage_V6/"
    esms_body = {**ESMS_KEYS, "OAID": "1", "TempID": "1", "Phone": "0901888484", "TempData": {"a": "b"}}
    nx_body = orjson.dumps({"appkey": "app", "phone": "84901888484", "functionType": "template",
                            "messageData": {"templateId": "1", "templateData": {}}})  # fmt: skip
    answers = {
        "esms send (fast lane)": await client.post(send, json=esms_body),
        "esms GetCallback": await client.post(esms_api.GET_CALLBACK, json={**ESMS_KEYS, "ListRefid": ["x"]}),
        "esms GetSendStatus": await client.get(
            esms_api.PREFIX + "GetSendStatus", params={"RefId": "x", **ESMS_KEYS}
        ),
        "esms GetBalance": await client.post(esms_api.PREFIX + "GetBalance_json", json=ESMS_KEYS),
        "nxcloud mt (fast lane)": await client.post(
            "/v1/zalo/mt", content=nx_body, headers=nx_signed(nx_body)
        ),
        "native message": await client.get("/v1/messages/m-1", headers=AUTH),
        "admin accounts": await client.get("/v1/admin/accounts", headers=AUTH),
    }
    for door, r in answers.items():
        assert r.status_code == 503, (door, r.status_code, r.text)
        assert r.headers["retry-after"] == "5", door
    assert answers["esms send (fast lane)"].json() == {
        "CodeResult": "500", "CountRegenerate": 0, "ErrorMessage": "System error, try again later"
    }  # fmt: skip
    assert answers["esms GetCallback"].json() == {"Code": 500, "Message": "System error, try again later"}
    assert answers["esms GetSendStatus"].json()["CodeResponse"] == "500"
    assert answers["esms GetBalance"].json()["CodeResponse"] == "500"
    assert answers["nxcloud mt (fast lane)"].json() == {"code": 9001, "message": "System business error"}
    assert answers["native message"].json()["error"] == "unavailable"
    assert answers["admin accounts"].json()["error"] == "unavailable"
    assert (await client.get("/readyz")).status_code == 503

    down = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(down) == 1
    assert not [r for r in caplog.records if r.exc_info], "no traceback per request"

    broken.heal()
    assert (await client.get("/v1/messages/m-1", headers=AUTH)).status_code == 404
    assert (await client.get("/readyz")).status_code == 200
    again = [r for r in caplog.records if "database answers again" in r.getMessage()]
    assert len(again) == 1


async def test_the_dispatcher_logs_an_outage_once_not_a_traceback_per_round(
    broken: Broken, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    stop, rounds = asyncio.Event(), 0
    claim = broken.db.claim_due_callbacks

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal rounds
        rounds += 1
        if rounds == 3:
            stop.set()
        return await claim(*args, **kwargs)

    broken.db.claim_due_callbacks = counted  # type: ignore[method-assign]
    cfg = config_.DispatchConfig(batch_size=10, lease_s=30, concurrency=2, per_endpoint=2, idle_s=0.01)
    async with sender.Sender(sender.SenderConfig(timeout_s=1, pool_size=2, per_endpoint=2)) as snd:
        await dispatcher.Dispatcher(broken.db, snd, cfg).run(stop)
    assert rounds == 3
    assert len([r for r in caplog.records if "database unavailable" in r.getMessage()]) == 1
    assert not [
        r for r in caplog.records if r.exc_info or (r.levelno >= logging.WARNING and "dispatch" in r.name)
    ]
