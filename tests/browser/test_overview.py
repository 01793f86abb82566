"""The overview in a real browser: traffic sent through the served process shows, and the live part follows more."""

from __future__ import annotations

from playwright.async_api import Browser, expect

from tests import customers, receivers
from tests.browser.conftest import ADMIN, Served, login, screenshot


def esms_of(sms_id: str):
    return lambda hit: hit.path == "/esms" and hit.params.get("SMSID") == sms_id


async def test_the_overview_shows_the_traffic_and_follows_it_live(
    served: Served, browser: Browser, receiver: receivers.Receiver
):
    customer = await customers.Customer.create(served.api, ADMIN, receiver.url("/app"))
    # The simulator answers by the number's last digits: 300 sent (then delivered), 118 refused by Zalo (-118).
    delivered = await customer.esms("0900000300", receiver.url("/esms"))
    refused = await customer.esms("0900000118", receiver.url("/esms"))
    await receiver.wait(esms_of(delivered))
    await receiver.wait(esms_of(refused))

    page = await login(browser, served, ADMIN)
    await page.goto("/ui")
    assert await page.title() == "Overview · dlrhub"
    await expect(page.locator("#accepted-total")).to_have_text("2")
    await expect(page.locator("#card-delivered svg.spark polyline")).to_have_count(1)
    assert int(await page.inner_text("#delivered-total")) >= 2
    await expect(page.locator("#zalo-results")).to_contain_text("refused by Zalo: -118")
    await expect(page.locator("#quotas")).to_contain_text(customer.oa_id)

    # More traffic: the page's live part shows it at its next reload, without the page being loaded again.
    await page.evaluate("window.__loaded_once = true")
    sms_id = await customer.esms("0900000301", receiver.url("/esms"))
    await receiver.wait(esms_of(sms_id))
    await expect(page.locator("#accepted-total")).to_have_text("3", timeout=15_000)
    assert await page.evaluate("window.__loaded_once === true"), "the live part refreshed, not the whole page"
    await screenshot(page, "overview")
