"""Pausing one account's failing endpoint from the dashboard, in a real browser: its state changes, the audit log
says why, and another account's endpoint at the same URL keeps receiving."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Browser, expect

from tests.acceptance.engine import harness
from tests.browser.conftest import ADMIN, Served, login, screenshot
from tests.receivers import Receiver


def event(n: int, account: str, url: str) -> dict[str, Any]:
    return {
        "event_id": f"e{n}",
        "message_id": f"m-browser-{n}",
        "account": account,
        "type_id": 24,
        "status": "success",
        "callback_url": url,
    }


async def test_the_admin_pauses_one_accounts_failing_endpoint_with_a_reason(served: Served, browser: Browser):
    async with Receiver() as rec:
        # Two accounts, one URL (the query is no part of an endpoint): A's callbacks fail, B's are answered.
        rec.script("/hook?from=a", 500)
        accounts = []
        for name in ("browser endpoints a", "browser endpoints b"):
            made = await served.admin("POST", "/v1/admin/accounts", json={"name": name})
            assert made.status_code == 201, made.text
            accounts.append(made.json()["id"])
        a, b = accounts
        for n, (account, query) in enumerate(((a, "from=a"), (b, "from=b")), 1):
            sent = await served.admin("POST", "/v1/events", json=event(n, account, rec.url(f"/hook?{query}")))
            assert sent.status_code == 202, sent.text
        await rec.wait(lambda h: h.query == "from=a")
        await rec.wait(lambda h: h.query == "from=b")
        key = f"{a}:http://127.0.0.1:{rec.port}/hook"

        async def listed() -> bool:
            found = (await served.admin("GET", "/v1/endpoints")).json()["endpoints"]
            return any(e["endpoint"] == key for e in found)

        await harness.wait_until(listed, 15)

        page = await login(browser, served, ADMIN)
        await page.goto("/ui/endpoints")
        row = page.locator(f'tr[data-endpoint="{key}"]')
        await expect(row.locator("td.state")).to_have_text("healthy")
        await expect(row.locator("td").first).to_have_text(a)
        await expect(row.locator(".failure").first).to_contain_text("500")
        await row.locator("input[name=reason]").fill("receiver answers 500: paused while they deploy")
        await row.locator("input[name=minutes]").fill("30")
        await row.get_by_role("button", name="Pause").click()
        await expect(page.locator("[role=status]")).to_have_text(f"{key} paused.")
        row = page.locator(f'tr[data-endpoint="{key}"]')
        await expect(row.locator("td.state")).to_have_text("paused")
        await expect(row.get_by_role("button", name="Resume")).to_be_visible()
        await screenshot(page, "endpoints")

        # B's endpoint at the same URL is not paused: its next callback is delivered.
        sent = await served.admin("POST", "/v1/events", json=event(3, b, rec.url("/hook?from=b")))
        assert sent.status_code == 202, sent.text
        await rec.wait(lambda h: h.query == "from=b" and b"m-browser-3" in h.body)
        found = (await served.admin("GET", "/v1/endpoints", params={"account": b})).json()["endpoints"]
        assert [e for e in found if e["state"] != "healthy"] == []

    audit = await served.admin("GET", "/v1/admin/audit", params={"action": "endpoint.pause"})
    [entry] = audit.json()["entries"]
    assert entry["target"] == key
    assert entry["details"]["reason"] == "receiver answers 500: paused while they deploy"
