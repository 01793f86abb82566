"""SMS and Viber statuses from an external engine (`/v1/events` service) become eSMS GET callbacks."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from decimal import Decimal

import pytest

from dlrhub import store
from dlrhub.core import models
from dlrhub.services import accounts, events
from tests.customers import Customer
from tests.unit.esms import factories


async def ingest(customer: Customer, kind: models.EventKind, type_id: int, **changes) -> store.IngestResult:
    fields = {
        "event_id": f"e-{type_id}-{kind.value}",
        "message_id": f"sms-{type_id}",
        "account_id": customer.new.account.id,
        "kind": kind,
        "type_id": type_id,
        "dialect": models.Dialect.ESMS,
        "occurred_at": dt.datetime(2024, 4, 24, 9, 58, 1, tzinfo=dt.UTC),
        "recipient": "0901888484",
        "callback_url": "https://customer.example/esms?src=engine",
        "telco_id": 2,
        "price": Decimal(470),
        **changes,
    }
    return await events.ingest_external(customer.hub, events.ExternalEvent(**fields))


@pytest.mark.parametrize(
    ("type_id", "tail"),
    [
        (1, ""),
        (2, "&telcoid=2&phonenumber=0901888484&switchsmsid="),
        (23, "&telcoid=2&phonenumber=0901888484"),
    ],
)
async def test_sms_and_viber_success_callbacks(customer: Customer, type_id, tail):
    result = await ingest(customer, models.EventKind.SUCCESS, type_id)
    [cb] = result.callbacks
    assert cb.request.method == "GET"
    assert cb.request.url == (
        f"https://customer.example/esms?src=engine&SMSID=sms-{type_id}&SendFailed=0&SendStatus=5&SendSuccess=1"
        f"&TotalPrice=470.0000&TotalReceiver=1&TotalSent=1&RequestId=&TypeId={type_id}{tail}"
    )
    stored = await customer.hub.store.list_callbacks(f"sms-{type_id}")
    assert [c.id for c in stored] == [cb.id]


async def test_accepted_sends_nothing_and_failure_sends_one(customer: Customer):
    assert (await ingest(customer, models.EventKind.ACCEPTED, 2)).callbacks == []
    result = await ingest(customer, models.EventKind.FAILED, 2, code=-1, text="undeliverable")
    [cb] = result.callbacks
    query = dict(urllib.parse.parse_qsl(cb.request.url.split("?", 1)[1], keep_blank_values=True))
    assert (query["SendStatus"], query["SendFailed"], query["TotalPrice"]) == ("5", "1", "0.0000")


async def test_without_url_no_callback(customer: Customer):
    assert (await ingest(customer, models.EventKind.SUCCESS, 23, callback_url=None)).callbacks == []


@pytest.mark.parametrize("type_id", [1, 2, 23])
async def test_sms_and_viber_delivered_after_success_sends_no_second_callback(customer: Customer, type_id):
    [sent] = (await ingest(customer, models.EventKind.SUCCESS, type_id)).callbacks
    delivered = await ingest(customer, models.EventKind.DELIVERED, type_id)
    assert delivered.event.applied
    assert delivered.message is not None and delivered.message.state is models.MessageState.DELIVERED
    assert delivered.callbacks == []
    assert [c.id for c in await customer.hub.store.list_callbacks(f"sms-{type_id}")] == [sent.id]


@pytest.mark.parametrize("type_id", [1, 2, 23])
async def test_sms_and_viber_delivered_without_success_sends_one(customer: Customer, type_id):
    [cb] = (await ingest(customer, models.EventKind.DELIVERED, type_id)).callbacks
    assert "&SendStatus=5&SendSuccess=1&" in cb.request.url


async def test_zns_from_an_engine_gets_one_get_unless_its_account_asks_for_the_delivered_one(
    customer: Customer,
):
    changes = {"oa_id": customer.new.oa.oa_id, "template_id": "100001", "zalo_msg_id": "abc"}
    assert len((await ingest(customer, models.EventKind.SUCCESS, 25, **changes)).callbacks) == 1
    delivered = await ingest(customer, models.EventKind.DELIVERED, 25, **changes)
    assert delivered.event.applied
    assert delivered.callbacks == []
    assert len(await customer.hub.store.list_callbacks("sms-25")) == 1
    # An account that asked for it (DECISIONS › When is the GET callback sent?) gets the second GET.
    opted = await accounts.create(customer.hub, "shop 2", esms_delivered_callback=True)
    changes |= {"account_id": opted.account.id, "message_id": "zns-2", "oa_id": opted.oa.oa_id}
    await ingest(customer, models.EventKind.SUCCESS, 25, event_id="e2-s", **changes)
    assert (
        len((await ingest(customer, models.EventKind.DELIVERED, 25, event_id="e2-d", **changes)).callbacks)
        == 1
    )


async def test_oa_message_from_an_engine_carries_zalos_answer_as_the_sample(customer: Customer):
    # The engine passes Zalo's answer in `raw`: the callback is seed 002's OA consulting sample, byte for byte.
    zalo = {"data": {"message_id": "e1a60e8890be9de4c4ab", "user_id": "31215806834323092"}, "error": 0}
    result = await ingest(
        customer,
        models.EventKind.SUCCESS,
        26,
        message_id="7d11c87a22934df390f73ec59d8defd6205",
        occurred_at=dt.datetime(2024, 4, 24, 9, 58, 1, tzinfo=dt.UTC),
        recipient="312158068343230",
        callback_url="https://customer.example/esms",
        telco_id=None,
        price=Decimal(60),
        oa_id="4097311281936189049",
        zalo_msg_id="e1a60e8890be9de4c4ab",
        text="Sent",
        raw={**zalo, "message": "Success"},
    )
    [cb] = result.callbacks
    assert cb.request.url == "https://customer.example/esms?" + factories.golden("oa_consulting")


@pytest.mark.parametrize(
    "raw",
    [
        None,
        {"data": {"message_id": "zmid-1", "user_id": "u1"}, "error": 0, "message": "Success"},
        {"error": 0, "message": "Success"},
    ],
)
async def test_a_later_event_gives_the_stored_message_its_zalo_msg_id(customer: Customer, raw):
    await ingest(customer, models.EventKind.ACCEPTED, 26, event_id="e-acc")
    result = await ingest(
        customer, models.EventKind.SUCCESS, 26, event_id="e-ok", zalo_msg_id="zmid-1", raw=raw
    )
    assert result.message is not None and result.message.zalo_msg_id == "zmid-1"
    assert (await customer.hub.store.get_message("sms-26")).zalo_msg_id == "zmid-1"
