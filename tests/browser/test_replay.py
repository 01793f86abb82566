"""Replaying a failed callback from its message's page, in a real browser, and watching it succeed."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import ADMIN, Served, login, screenshot
from tests.receivers import Answer, Receiver

#: Three quick retries, so the callback gives up within a second or two.
QUICK = {"DLRHUB_STANDARD_RETRY_SCHEDULE": "0.2,0.2,0.2"}


async def _until(check, within_s: float = 20.0) -> None:
    for _ in range(int(within_s / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached")


@pytest.mark.parametrize("served", [QUICK], indirect=True)
async def test_a_failed_callback_is_replayed_from_its_page_and_succeeds(served: Served, browser: Browser):
    made = await served.admin("POST", "/v1/admin/accounts", json={"name": "Replay Co", "signed": True})
    assert made.status_code == 201, made.text
    account = made.json()
    [secret] = account["signing_secrets"]
    async with Receiver() as rec:
        rec.script("/hook", *[Answer(500, "<b>down for maintenance</b>")] * 4, 200)
        sent = await served.admin(
            "POST",
            "/v1/events",
            json={
                "event_id": "ev-replay-1",
                "message_id": "msg-replay-1",
                "account": account["id"],
                "type_id": 24,
                "status": "success",
                "recipient": "84900000001",
                "callback_url": rec.url("/hook"),
            },
        )
        assert sent.status_code == 202, sent.text

        async def gave_up() -> bool:
            found = await served.admin("GET", "/v1/messages/msg-replay-1/callbacks")
            return [c["state"] for c in found.json()["callbacks"]] == ["failed"]

        await _until(gave_up)
        assert len(rec.hits) == 4
        page = await login(browser, served, ADMIN)
        await page.goto("/ui/callbacks")
        await expect(page.locator("tr[data-callback]")).to_have_count(1)
        await screenshot(page, "callbacks")
        await page.click("a[href^='/ui/messages/msg-replay-1']")
        await page.wait_for_url("**/ui/messages/msg-replay-1*")
        card = page.locator("article.callback")
        await expect(card).to_have_attribute("data-state", "failed")
        await expect(card.locator("tr.attempt[data-outcome=http_status]")).to_have_count(4)
        await expect(card.locator("code.response").first).to_have_text("<b>down for maintenance</b>")
        await card.locator("button.replay").click()
        await page.wait_for_selector("[role=status]")
        # The section refreshes itself (htmx) until the callback is no longer pending.
        await expect(page.locator("article.callback")).to_have_attribute(
            "data-state", "succeeded", timeout=20_000
        )
        await expect(page.locator("tr.attempt[data-outcome=ok]")).to_have_count(1)
        assert [h.status for h in rec.hits] == [500, 500, 500, 500, 200]
        html = await page.content()
        assert secret not in html and secret.removeprefix("whsec_") not in html
        assert rec.hits[-1].headers["webhook-signature"].split(",", 1)[1] not in html
        await screenshot(page, "message")
