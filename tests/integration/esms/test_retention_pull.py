"""GetCallback answers for a message as long as `retain_messages_days` keeps it, and a RequestId is refused for
its 24 h window, whatever the pruner deleted meanwhile (on each backend, with the hub's clock moved by hand)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dlrhub.services import retention
from tests.customers import Customer
from tests.integration.esms.conftest import SEND

GET_CALLBACK = "/ZaloCallback/GetCallback"
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)


async def no_pause(_took_s: float) -> None:
    """Tests take no time between chunks."""


class Clock:
    """The hub's clock, moved by hand: set once, since the accept queue keeps the clock it was made with."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock(customer: Customer) -> Clock:
    moved = Clock()
    customer.hub.clock = moved
    return moved


async def send_at(customer: Customer, clock: Clock, at: dt.datetime, **changes) -> str:
    clock.now = at
    r = await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(**changes))
    assert r.json()["CodeResult"] == "100", r.text
    sms_id: str = r.json()["SMSID"]
    await customer.hub.store.finish_channel_message(sms_id, at)  # Zalo answered: nothing in flight
    clock.now = NOW
    return sms_id


async def test_get_callback_answers_within_the_retention_window(customer: Customer, clock: Clock) -> None:
    assert customer.hub.settings.retain_messages_days == 30
    gone = await send_at(customer, clock, NOW - dt.timedelta(days=31))
    kept = await send_at(customer, clock, NOW - dt.timedelta(days=29))
    counts = await retention.prune(customer.hub, pause=no_pause)
    assert counts["messages"] == 1
    r = await customer.post(GET_CALLBACK, {**customer.creds, "ListRefid": [gone, kept]})
    assert [rec["SMSID"] for rec in r.json()["Data_callback"]] == [kept]


async def test_a_duplicate_request_id_is_refused_after_a_prune(customer: Customer, clock: Clock) -> None:
    # The shortest retention allowed: one day, the window itself.
    customer.hub.settings = dataclasses.replace(customer.hub.settings, retain_request_ids_days=1)
    await send_at(customer, clock, NOW - dt.timedelta(days=2), RequestId="order-0")
    await send_at(customer, clock, NOW - dt.timedelta(hours=23), RequestId="order-1")
    assert (await retention.prune(customer.hub, pause=no_pause))["request_ids"] == 1
    r = await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(RequestId="order-1"))
    assert r.json()["CodeResult"] == "124", r.text
    r = await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(RequestId="order-0"))
    assert r.json()["CodeResult"] == "100", r.text
