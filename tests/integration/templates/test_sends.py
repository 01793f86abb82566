"""Sends are checked against synced template parameters, with each dialect's own code (golden answers)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dlrhub import store
from dlrhub.services import lookups
from tests import customers

SEND = "/MainService.svc/json/"
ADMIN = {"Authorization": f"Bearer {customers.ADMIN}"}
PAYMENT = {"customer_name": "An", "amount": "150000", "due_date": "20/03/2026"}


async def sync(customer: customers.Customer) -> Any:
    answer = await customer.http.post(f"/v1/admin/oas/{customer.oa_id}/templates/sync", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return answer.json()


def esms_refusal(message: str) -> dict[str, Any]:
    return {"CodeResult": "110", "CountRegenerate": 0, "ErrorMessage": f"Invalid request: {message}"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"customer_name": "An", "amount": "150000"}, "TempData.due_date: required parameter missing"),
        (PAYMENT | {"coupon": "X"}, "TempData.coupon: not a parameter of the template"),
        (PAYMENT | {"customer_name": "A" * 31}, "TempData.customer_name: longer than 30 characters"),
        (PAYMENT | {"amount": "many"}, "TempData.amount: expected a number"),
        (PAYMENT | {"due_date": "2026-03-20"}, "TempData.due_date: expected a date dd/MM/yyyy"),
    ],
)
async def test_esms_v6_refuses_data_that_does_not_fit(shop, data, message) -> None:
    customer, _ = shop
    await sync(customer)
    answer = await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(TempID="100003", TempData=data))
    assert answer.json() == esms_refusal(message)


async def test_esms_fitting_data_is_accepted_and_v4_params_are_named(shop, db: store.Store) -> None:
    customer, _ = shop
    before = await customer.post(
        SEND + "SendZaloMessage_V6/", customer.zns(TempID="100003", TempData={"x": "y"})
    )
    assert before.json()["CodeResult"] == "100"  # not synced yet: not checked
    await sync(customer)
    ok = await customer.post(SEND + "SendZaloMessage_V6/", customer.zns(TempID="100003", TempData=PAYMENT))
    assert ok.json()["CodeResult"] == "100", ok.text
    v4 = customer.zns(TempID="100003", TempData=..., Params=["An", "150000", "20/03/2026"])
    answer = await customer.post(SEND + "SendZaloMessage_V4_post_json/", v4)
    assert answer.json()["CodeResult"] == "100", answer.text
    message = await db.get_message(answer.json()["SMSID"])
    assert message.template_data == PAYMENT
    short = customer.zns(TempID="100003", TempData=..., Params=["An", "150000"])
    answer = await customer.post(SEND + "SendZaloMessage_V4_post_json/", short)
    assert answer.json() == esms_refusal("Params.due_date: required parameter missing")
    # The demo's data still fits the synced 100001.
    await customer.esms("0901888484", "https://customer.example/esms")  # asserts CodeResult 100


async def test_esms_sandbox_is_checked_too(shop) -> None:
    customer, _ = shop
    await sync(customer)
    body = customer.zns(TempID="100001", TempData={"order": "A-1"}, Sandbox="1")
    answer = await customer.post(SEND + "SendZaloMessage_V6/", body)
    assert answer.json() == esms_refusal("TempData.name: required parameter missing")


@pytest.mark.parametrize(
    "data",
    [
        {"order": "A-1"},
        {"name": "An", "extra": 1},
        {"name": "x" * 31},
        {"name": ["An"]},
    ],
)
async def test_nxcloud_refuses_data_that_does_not_fit_with_9000(shop, data) -> None:
    customer, _ = shop
    await sync(customer)
    body = {
        "phone": "84901888484",
        "functionType": "template",
        "messageData": {"templateId": "100001", "templateData": data},
    }
    answer = await customer.signed("/v1/zalo/mt", body)
    assert answer == {"code": 9000, "message": "Request parameter error"}


async def test_nxcloud_fitting_data_is_accepted_and_a_disabled_template_refused(
    shop, db: store.Store
) -> None:
    customer, _ = shop
    await sync(customer)
    assert await customer.mt("84901888484", "https://customer.example/dr")
    body = {
        "phone": "84901888484",
        "functionType": "template",
        "messageData": {"templateId": "100003", "templateData": {**PAYMENT, "amount": 150000}},
    }
    assert (await customer.signed("/v1/zalo/mt", body))["code"] == 0
    # A template Zalo no longer enables is refused too (marked by a later sync).
    oa = customer.oa_id
    found = await db.list_templates(oa)
    await db.save_templates(
        oa, [dataclasses.replace(t, status="DISABLE") for t in found if t.template_id == "100003"]
    )
    lookups.forget(customer.hub)
    assert await customer.signed("/v1/zalo/mt", body) == {"code": 9000, "message": "Request parameter error"}
