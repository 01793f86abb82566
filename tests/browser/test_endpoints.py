"""Pausing a failing endpoint from the dashboard, in a real browser: its state changes and the audit log says why."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.acceptance.engine import harness
from tests.browser.conftest import ADMIN, Served, login, screenshot
from tests.receivers import Receiver


async def test_the_admin_pauses_a_failing_endpoint_with_a_reason(served: Served, browser: Browser):
    async with Receiver() as rec:
        rec.script("/hook", 500)
        made = await served.admin("POST", "/v1/admin/accounts", json={"name": "browser endpoints"})
        assert made.status_code == 201, made.text
        event = {
            "event_id": "e1",
            "message_id": "m-browser-1",
            "account": made.json()["id"],
            "type_id": 24,
            "status": "success",
            "callback_url": rec.url("/hook"),
        }
        sent = await served.admin("POST", "/v1/events", json=event)
        assert sent.status_code == 202, sent.text
        await rec.wait(lambda h: h.path == "/hook")
        key = f"http://127.0.0.1:{rec.port}"

        async def listed() -> bool:
            found = (await served.admin("GET", "/v1/endpoints")).json()["endpoints"]
            return any(e["endpoint"] == key for e in found)

        await harness.wait_until(listed, 15)

        page = await login(browser, served, ADMIN)
        await page.goto("/ui/endpoints")
        row = page.locator(f'tr[data-endpoint="{key}"]')
        await expect(row.locator("td.state")).to_have_text("healthy")
        await expect(row.locator(".failure").first).to_contain_text("500")
        await row.locator("input[name=reason]").fill("receiver answers 500: paused while they deploy")
        await row.locator("input[name=minutes]").fill("30")
        await row.get_by_role("button", name="Pause").click()
        await expect(page.locator("[role=status]")).to_have_text(f"{key} paused.")
        row = page.locator(f'tr[data-endpoint="{key}"]')
        await expect(row.locator("td.state")).to_have_text("paused")
        await expect(row.get_by_role("button", name="Resume")).to_be_visible()
        await screenshot(page, "endpoints")

    audit = await served.admin("GET", "/v1/admin/audit", params={"action": "endpoint.pause"})
    [entry] = audit.json()["entries"]
    assert entry["target"] == key
    assert entry["details"]["reason"] == "receiver answers 500: paused while they deploy"
