"""The store reads the eSMS pull APIs add, on each backend."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from dlrhub import store
from dlrhub.core import models
from tests.customers import Customer
from tests.integration.esms.test_pull import apply, send


async def test_message_statuses_keep_order_skip_unknown_and_other_accounts(
    customer: Customer, db: store.Store
):
    a = await send(customer, RequestId="ra")
    b = await send(customer)
    zalo = {"error": -118, "message": "gone"}
    await apply(customer, b, models.EventKind.FAILED, code=-118, zalo_res=zalo)
    other = dataclasses.replace(
        customer.new.account, id="acc_other", esms_api_key="OTHER", nx_access_key="othernx"
    )
    await db.create_account(other, [])
    found = await db.get_message_statuses("acc_other", [a, b])
    assert found == []
    found = await db.get_message_statuses(customer.new.account.id, [b, "nope", a, b])
    assert [s.id for s in found] == [b, a]
    sb, sa = found
    assert sb.state is models.MessageState.FAILED
    assert (sb.code, sb.zalo_res) == (-118, zalo)
    assert sa.state is models.MessageState.ACCEPTED
    assert (sa.request_id, sa.type_id, sa.recipient, sa.recipient_kind) == ("ra", 25, "0901888484", "phone")
    assert sa.price == Decimal("300")
    assert sa.zalo_res is None
    assert sa.updated_at.tzinfo is not None
    assert abs(sa.updated_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
    message = await db.get_message(a)
    assert (sa.callback_url, sa.oa_id, sa.template_id, sa.telco_id) == (
        message.callback_url,
        message.oa_id,
        message.template_id,
        message.telco_id,
    )


async def test_message_statuses_of_nothing(db: store.Store):
    assert await db.get_message_statuses("acc_x", []) == []


async def test_find_by_zalo_msg_id_is_per_account(customer: Customer, db: store.Store):
    assert await db.find_message_by_zalo_msg_id_for_account(customer.new.account.id, "none") is None
