"""The customer portal in a real browser: a customer sees its own message and nothing of another account's, and
adds a signing secret."""

from __future__ import annotations

import datetime as dt

from playwright.async_api import Browser

from tests.browser.conftest import Served, login, screenshot


async def shop(served: Served, name: str) -> tuple[str, str, str]:
    """An account with a signing secret, its customer token, and one message sent through the engine's door."""
    made = await served.admin("POST", "/v1/admin/accounts", json={"name": name, "signed": True})
    assert made.status_code == 201, made.text
    account_id = made.json()["id"]
    token = await served.admin(
        "POST", "/v1/admin/tokens", json={"name": name, "kind": "customer", "account_id": account_id}
    )
    assert token.status_code == 201, token.text
    message_id = f"msg-{name}"
    event = {
        "event_id": f"{message_id}:success",
        "message_id": message_id,
        "account": account_id,
        "type_id": 24,
        "status": "success",
        "dialect": "native",
        "occurred_at": dt.datetime.now(dt.UTC).isoformat(),
        "callback_url": f"http://127.0.0.1:9/{name}",
        "recipient": "84912345678",
    }
    sent = await served.admin("POST", "/v1/events", json=event)
    assert sent.status_code == 202, sent.text
    return account_id, token.json()["token"], message_id


async def test_a_customer_sees_its_own_deliveries_and_nothing_of_another_account(
    served: Served, browser: Browser
):
    account_a, token_a, message_a = await shop(served, "shop-a")
    account_b, _, message_b = await shop(served, "shop-b")
    page = await login(browser, served, token_a)
    assert page.url.endswith("/portal")
    await page.wait_for_selector(f"#messages a[href='/portal/messages/{message_a}']")
    await screenshot(page, "portal")
    # Another account's message: its URL answers 404, and its ids appear on no portal page.
    answer = await page.goto(f"/portal/messages/{message_b}")
    assert answer is not None and answer.status == 404
    for path in ("/portal", "/portal/callbacks?older_than_s=0", "/portal/keys"):
        await page.goto(path)
        html = await page.content()
        assert account_a in html or path != "/portal"
        assert account_b not in html and message_b not in html and "shop-b" not in html, path
    # A new signing secret: shown once, then only its key id.
    await page.goto("/portal/keys")
    before = await page.locator("#keys td.mono").all_inner_texts()
    await page.click("text=Add a signing secret")
    await page.wait_for_selector("#secret")
    key_id = (await page.inner_text("#key-id")).strip()
    secret = (await page.inner_text("#secret")).strip()
    assert key_id.startswith("whk_") and secret.startswith("whsec_")
    await page.goto("/portal/keys")
    after = await page.locator("#keys td.mono").all_inner_texts()
    assert after == [*before, key_id]
    assert secret not in await page.content()
