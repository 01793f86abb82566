"""An account's page in a real browser: open it from the list, top it up, see the ledger row and the balance."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests.browser.conftest import ADMIN, Served, login, screenshot


async def test_the_admin_tops_up_an_account_and_sees_the_ledger_row(served: Served, browser: Browser):
    made = await served.admin("POST", "/v1/admin/accounts", json={"name": "Browser Shop", "balance": "1000"})
    assert made.status_code == 201, made.text
    account_id = made.json()["id"]
    secret = made.json()["esms"]["SecretKey"]
    page = await login(browser, served, ADMIN)
    await page.goto("/ui/accounts")
    await page.get_by_role("link", name=account_id).click()
    await expect(page.locator("h1")).to_contain_text("Browser Shop")
    form = page.locator("#ledger-form")
    await form.locator("select[name=kind]").select_option("top_up")
    await form.locator("input[name=amount]").fill("250000")
    await form.locator("input[name=reason]").fill("bank transfer 2026-12-03")
    await form.get_by_role("button", name="Post").click()
    await expect(page.locator("[role=status]")).to_contain_text("Ledger row written")
    row = page.locator("table.ledger tbody tr").first
    await expect(row).to_contain_text("bank transfer 2026-12-03")
    await expect(row).to_contain_text("top_up")
    await expect(page.locator("#balance")).to_contain_text("251000")
    assert secret not in await page.content()
    await screenshot(page, "account")
