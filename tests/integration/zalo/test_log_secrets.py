"""Secrets never reach the logs: sends in both dialects, admin calls that make keys, secrets and tokens, Zalo
sends with an OA's tokens and signed webhooks, and signed callbacks (one given up), all at DEBUG; no log record,
and no line of the JSON log, holds any secret's value."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
import pytest

from dlrhub import store
from dlrhub.core import models
from dlrhub.dialects.nxcloud import signing
from dlrhub.workers import dispatcher
from tests import log_lines
from tests.integration.engine.test_dispatcher import eventually
from tests.integration.zalo import channel
from tests.receivers import Receiver

ADMIN = "admin-token-never-logged-8c1f"
#: A token in the callback URL's query string.
QUERY = "query-token-never-logged-44e2"


def secrets_of(running: channel.Running) -> list[str]:
    """Every secret the account and its OA hold."""
    a, oa = running.new.account, running.new.oa
    return [
        a.esms_secret_key,
        a.nx_access_secret,
        *a.signing_secrets,
        oa.app_secret,
        oa.oa_secret,
        oa.access_token,
        oa.refresh_token,
    ]


async def admin(running: channel.Running, method: str, path: str, body: Any = None) -> dict[str, Any]:
    answer = await running.http.request(method, path, json=body, headers={"Authorization": f"Bearer {ADMIN}"})
    assert answer.status_code in (200, 201), answer.text
    found: dict[str, Any] = answer.json()
    return found


async def test_no_secret_reaches_a_log_record_or_line(
    db: store.Store, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    rec = receiver
    with log_lines.captured("debug") as lines:
        caplog.set_level(logging.DEBUG)
        rec.scripts["/fail"] = [500]
        overrides = {
            "admin_token": ADMIN,
            "callback_allow": ("127.0.0.1",),
            "standard_retry_schedule": (0.05,),
            "esms_retry_schedule": (0.05,),
        }
        async with channel.running(db, account={"signed": True}, **overrides) as running:
            found = secrets_of(running)
            a, oa = running.new.account, running.new.oa
            # An NXCloud send, signed with the access secret; its DR URL carries a token in its query.
            body = orjson.dumps({
                "appkey": running.new.app.appkey, "phone": "84900000001", "functionType": "template",
                "messageData": {"templateId": oa.template_ids[0], "templateData": {"name": "An"}},
                "drWebhook": rec.url(f"/ok?token={QUERY}"),
            })  # fmt: skip
            headers = signing.sign_headers(a.nx_access_key, a.nx_access_secret, body)
            sent = await running.http.post(
                "/v1/zalo/mt", content=body, headers={**headers, "content-type": "application/json"}
            )
            assert sent.json()["code"] == 0, sent.text
            # An eSMS send with the secret key in its body; its callback fails until it is given up.
            esms = {
                "ApiKey": a.esms_api_key, "SecretKey": a.esms_secret_key, "OAID": oa.oa_id, "Phone": "0900000002",
                "TempID": oa.template_ids[0], "TempData": {"name": "An"}, "CallbackUrl": rec.url(f"/fail?token={QUERY}"),
            }  # fmt: skip
            sent = await running.http.post("/MainService.svc/json/SendZaloMessage_V6/", json=esms)
            assert sent.json()["CodeResult"] == "100", sent.text
            # Admin calls whose answers hold new secrets and tokens.
            account_id = a.id
            made = await admin(
                running, "POST", "/v1/admin/accounts", {"name": "other", "dr_url": rec.url("/ok")}
            )
            found += [made["esms"]["SecretKey"], made["nxcloud"]["accessSecret"], *made["signing_secrets"]]
            added = await admin(running, "POST", f"/v1/admin/accounts/{account_id}/signing-secrets")
            found.append(added["secret"])
            token = await admin(running, "POST", "/v1/admin/tokens", {"name": "puller", "kind": "read"})
            found.append(token["token"])
            pulled = await running.http.get(
                "/v1/admin/tokens", headers={"Authorization": f"Bearer {token['token']}"}
            )
            assert pulled.status_code == 200, pulled.text
            refused = await running.http.get(
                "/v1/admin/tokens", headers={"Authorization": f"Bearer {found[0]}"}
            )
            assert refused.status_code == 401
            # The Zalo channel sends with the OA's access token; the simulator's receipts come back signed.
            await running.send_all()
            # The dispatcher signs every callback with the account's secrets.
            stop = asyncio.Event()
            task = asyncio.create_task(dispatcher.run(running.hub, stop))
            try:

                async def settled() -> bool:
                    pending = await db.find_callbacks(
                        store.CallbackFilter(states=(models.CallbackState.PENDING,))
                    )
                    return not pending and bool(lines.events("callback.gave_up"))

                await eventually(settled)
            finally:
                stop.set()
                await task
        found += [ADMIN, QUERY]
    assert rec.bodies("/ok") and rec.hits[0].headers.get("webhook-signature")
    assert all(len(s) >= 8 for s in found), "a short value could match by chance"
    records = [f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records]
    assert len(records) > 5 and lines.json()
    for secret in found:
        assert not [r for r in records if secret in r], f"{secret[:4]}… in a log record"
        assert secret not in lines.text, f"{secret[:4]}… in the JSON log"
