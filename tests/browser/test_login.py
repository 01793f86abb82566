"""Logging in through the form in a real browser, and the offline `/docs`."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.browser.conftest import ADMIN, Served, login


async def test_the_admin_logs_in_and_out_and_nothing_leaves_the_machine(served: Served, browser: Browser):
    page = await login(browser, served, ADMIN)
    outside: list[str] = []
    local = (served.url, "data:", "blob:")  # blob: and data: URLs are made in the page itself
    page.on("request", lambda r: None if r.url.startswith(local) else outside.append(r.url))
    await page.goto("/ui")
    assert await page.title() == "Overview · dlrhub"
    cookies = await page.context.cookies()
    [cookie] = [c for c in cookies if c["name"] == "dlrhub-session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    await page.click("text=Log out")
    await page.wait_for_url("**/ui/login")
    await page.goto("/docs")
    await page.wait_for_selector(".swagger-ui .info", timeout=15_000)
    assert outside == []


async def test_a_wrong_token_stays_on_the_login_form(served: Served, browser: Browser):
    context = await browser.new_context(base_url=served.url)
    page = await context.new_page()
    await page.goto("/ui")
    await page.wait_for_url("**/ui/login?next=%2Fui")
    await page.fill("input[name=token]", "dlrh_a_wrong")
    await page.click("button[type=submit]")
    await page.wait_for_selector("[role=alert]")
    assert "unknown, revoked" in (await page.inner_text("[role=alert]"))
