from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import re
from decimal import Decimal

import orjson
import pytest

from dlrhub.core import models
from dlrhub.services import events, lookups
from tests.customers import Customer
from tests.integration.nxcloud.conftest import APP_DR_URL, mt_body, new_customer

pytestmark = pytest.mark.timeout(60)
DR_URL = "https://customer.example/per-request-dr"


def _success(message_id: str, at: dt.datetime) -> models.StatusEvent:
    zalo = {
        "error": 0,
        "message": "Success",
        "data": {"msg_id": "m1", "sent_time": str(int(at.timestamp() * 1000))},
    }
    return models.StatusEvent(
        id=f"{message_id}:success", kind=models.EventKind.SUCCESS, occurred_at=at, message_id=message_id,
        code=0, zalo_res=zalo,
    )  # fmt: skip


async def test_accepted_send_is_stored_priced_and_visible(customer: Customer):
    answer = await customer.signed("/v1/zalo/mt", mt_body(ext="ext info", drWebhook=DR_URL))
    assert list(answer) == ["code", "message", "data"]
    assert (answer["code"], answer["message"]) == (0, "Success")
    request_id = answer["data"]["requestId"]
    assert re.fullmatch(r"zalomid\.[0-9a-f]{32}", request_id)
    shown = await customer.native(request_id)
    assert (shown["dialect"], shown["state"], shown["recipient"]) == ("nxcloud", "accepted", "84901888484")
    assert (shown["price"], shown["currency"], shown["template_id"]) == ("0.0125", "USD", "100001")
    stored = await customer.hub.store.get_message(request_id)
    assert (stored.ext, stored.appkey, stored.oa_id) == ("ext info", customer.appkey, customer.new.oa.oa_id)
    assert stored.template_data == {"name": "An", "order": "A-1"}
    account = await customer.hub.store.get_account(customer.new.account.id)
    assert account.balance == customer.new.account.balance - Decimal("0.0125")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [({"drWebhook": DR_URL}, DR_URL), ({}, APP_DR_URL), ({"drWebhook": ""}, APP_DR_URL)],
)
async def test_dr_webhook_overrides_the_apps_dr_url(customer: Customer, extra, expected):
    answer = await customer.signed("/v1/zalo/mt", mt_body(ext="e", **extra))
    request_id = answer["data"]["requestId"]
    result = await events.apply(
        customer.hub, _success(request_id, customer.hub.clock()), customer.new.account
    )
    [callback] = result.callbacks
    assert callback.request.url == expected
    dr = orjson.loads(callback.request.body)
    assert (dr["status"], dr["requestId"], dr["ext"]) == ("success", request_id, "e")
    assert dr["cost"] == {"currency": "USD", "originalPrice": 0.0125}


async def test_a_message_with_no_dr_url_still_shows_its_status(customer: Customer):
    lonely = await new_customer(customer, dr_url=None)
    answer = await lonely.signed("/v1/zalo/mt", mt_body())
    assert answer["code"] == 0, answer
    request_id = answer["data"]["requestId"]
    result = await events.apply(lonely.hub, _success(request_id, lonely.hub.clock()), lonely.new.account)
    assert result.callbacks == []
    shown = await lonely.native(request_id)
    assert (shown["state"], shown["callback_url"]) == ("success", None)
    assert [e["kind"] for e in shown["events"]] == ["accepted", "success"]


async def test_lookups_are_reused_for_the_ttl_then_read_again(customer: Customer):
    base_time = customer.hub.clock()
    clock = [base_time]
    customer.hub.clock = lambda: clock[0]
    assert (await customer.signed("/v1/zalo/mt", mt_body()))["code"] == 0  # loads account, app and OA
    await customer.hub.store.put_oa(dataclasses.replace(customer.new.oa, active=False))
    clock[0] = base_time + dt.timedelta(seconds=lookups.TTL_S / 2)
    assert (await customer.signed("/v1/zalo/mt", mt_body()))["code"] == 0  # the cached OA is still active
    clock[0] = base_time + dt.timedelta(seconds=lookups.TTL_S + 0.1)
    assert (await customer.signed("/v1/zalo/mt", mt_body()))["code"] == 9005


async def test_requests_that_miss_a_record_together_share_one_read(
    customer: Customer, monkeypatch: pytest.MonkeyPatch
):
    db = customer.hub.store
    reads: list[str] = []
    read_app = db.get_app

    async def counted(appkey: str) -> models.App | None:
        reads.append(appkey)
        return await read_app(appkey)

    monkeypatch.setattr(db, "get_app", counted)
    lookups.forget(customer.hub)
    found = await asyncio.gather(*(lookups.app(customer.hub, customer.appkey) for _ in range(8)))
    assert {a.appkey for a in found if a is not None} == {customer.appkey}
    assert reads == [customer.appkey]
    # A miss is not kept: it is read again each time.
    assert await lookups.app(customer.hub, "no-such-app") is None
    assert await lookups.app(customer.hub, "no-such-app") is None
    assert reads == [customer.appkey, "no-such-app", "no-such-app"]
