"""Searching messages in a real browser: one sent through each dialect's door, each found by its public id."""

from __future__ import annotations

import datetime as dt
import urllib.parse
import uuid

from playwright.async_api import Browser

from tests.browser.conftest import ADMIN, Served, login, screenshot
from tests.customers import Customer


async def test_a_message_sent_through_each_door_is_found_by_its_public_id(served: Served, browser: Browser):
    customer = await Customer.create(served.api, ADMIN, "https://customer.example/dr")
    account_id = customer.credentials["id"]
    request_id = f"order-{uuid.uuid4().hex[:8]}"
    body = customer.zns(
        Phone="0901888484",
        TempID=customer.credentials["esms"]["TempIDs"][0],
        TempData={"name": "An"},
        RequestId=request_id,
    )
    sent = await customer.post("/MainService.svc/json/SendZaloMessage_V6/", body)
    assert sent.json()["CodeResult"] == "100", sent.text
    sms_id = sent.json()["SMSID"]
    nx_request_id = await customer.mt("84901888485", "https://customer.example/nx")
    native_id = f"msg_{uuid.uuid4().hex}"
    event = {
        "event_id": f"evt_{uuid.uuid4().hex}",
        "message_id": native_id,
        "account": account_id,
        "type_id": 25,
        "status": "accepted",
        "dialect": "native",
        "recipient": "84901888486",
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    assert (await served.admin("POST", "/v1/events", json=event)).status_code == 202

    page = await login(browser, served, ADMIN)
    await page.goto("/ui/messages")
    for public_id, message_id, dialect in (
        (sms_id, sms_id, "esms"),
        (request_id, sms_id, "esms"),  # the customer's RequestId finds its message too
        (nx_request_id, nx_request_id, "nxcloud"),
        (native_id, native_id, "native"),
    ):
        await page.fill("input[name=id]", public_id)
        await page.click("form.filters button[type=submit]")
        link = f'#results a[href="/ui/messages/{urllib.parse.quote(message_id, safe="")}"]'
        await page.wait_for_selector(link)
        rows = await page.locator("#results tbody tr").all_inner_texts()
        assert len(rows) == 1 and dialect in rows[0] and account_id in rows[0], rows
        assert urllib.parse.quote(public_id) in page.url  # the search is a URL to share
    await page.fill("input[name=id]", "")
    await page.fill("input[name=account]", account_id)
    await page.click("form.filters button[type=submit]")
    await page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 3")
    await screenshot(page, "messages")
