"""`/ui/accounts`: list and detail with every secret masked, and the buttons (ledger, lock, rotate, template sync),
each calling the admin API's service and audited; a read session sees it all and may press none."""

from __future__ import annotations

import re

import httpx

from dlrhub import store
from dlrhub.core import control, models
from dlrhub.services import accounts, keys, tokens
from dlrhub.web import session
from tests import customers
from tests.integration.templates.conftest import shop, start_simulator
from tests.integration.web.conftest import Browser

__all__ = ["shop", "start_simulator"]  # the fixtures: a customer whose Zalo is a running simulator


async def login(http: httpx.AsyncClient, token: str) -> Browser:
    browser = httpx.AsyncClient(transport=http._transport, base_url="http://t")
    answer = await browser.post("/ui/login", data={"token": token})
    assert answer.status_code == 303, answer.text
    home = await browser.get(answer.headers["location"])
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', home.text)
    assert found
    return Browser(browser, found.group(1))


def secrets_of(account: models.Account, oa: models.OA | None, *more: str) -> list[str]:
    """Every credential the pages must never show in full."""
    found = [account.esms_api_key, account.esms_secret_key, account.nx_access_key, account.nx_access_secret]
    found += list(account.signing_secrets)
    if oa is not None:
        found += [oa.app_secret, oa.oa_secret, oa.access_token, oa.refresh_token]
    return [s for s in [*found, *more] if s and len(s) > 4]


def assert_no_secret(html: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in html, f"a secret is rendered in full: {secret[:4]}…"


async def test_list_and_detail_show_everything_but_secrets(shop) -> None:
    customer, _ = shop
    hub = customer.hub
    account = await hub.store.get_account(customer.credentials["id"])
    signed = await accounts.create(hub, name="signed & <sealed>", signed=True)
    made = await tokens.create(hub, "ops", "shop-portal", control.TokenKind.CUSTOMER, account.id)
    oa = await hub.store.get_oa(customer.oa_id)
    browser = await login(customer.http, customers.ADMIN)

    listed = await browser.get("/ui/accounts")
    assert listed.status_code == 200
    assert account.id in listed.text and signed.account.id in listed.text
    assert "signed &amp; &lt;sealed&gt;" in listed.text
    assert keys.hint(account.esms_api_key) in listed.text
    locked_only = await browser.get("/ui/accounts", params={"status": "locked"})
    assert account.id not in locked_only.text
    by_name = await browser.get("/ui/accounts", params={"name": "SEALED"})
    assert signed.account.id in by_name.text and f">{account.id}<" not in by_name.text

    page = await browser.get(f"/ui/accounts/{account.id}")
    assert page.status_code == 200, page.text
    assert customer.oa_id in page.text and "Quota:" in page.text
    assert "refresh token expires" in page.text
    assert made.token.prefix in page.text and "shop-portal" in page.text
    app = customer.credentials["nxcloud"]["appkey"]
    assert app in page.text  # the NXCloud app (an appkey is an id, not a secret)
    signed_page = await browser.get(f"/ui/accounts/{signed.account.id}")
    [key_id] = [keys.key_id(s) for s in signed.account.signing_secrets]
    assert key_id in signed_page.text
    for html in (listed.text, page.text, signed_page.text):
        assert_no_secret(html, secrets_of(account, oa, made.secret) + secrets_of(signed.account, None))
    assert (await browser.get("/ui/accounts/acc_none")).status_code == 404


async def test_the_buttons_call_the_services_and_are_audited(shop) -> None:
    customer, _ = shop
    hub = customer.hub
    account_id = customer.credentials["id"]
    browser = await login(customer.http, customers.ADMIN)
    base = f"/ui/accounts/{account_id}"

    topped = await browser.post(
        base + "/ledger", {"kind": "top_up", "amount": "150000", "reason": "invoice 42"}
    )
    assert topped.status_code == 303
    page = await browser.get(topped.headers["location"])
    assert "invoice 42" in page.text and "Ledger row written" in page.text
    after = await hub.store.get_account(account_id)
    assert str(after.balance) in page.text
    bad = await browser.post(base + "/ledger", {"kind": "top_up", "amount": "-5", "reason": "x"})
    assert bad.status_code == 422
    assert (await browser.post(base + "/ledger", {"amount": "lots", "reason": "x"})).status_code == 422

    assert (await browser.post(base + "/lock")).status_code == 303
    assert (await hub.store.get_account(account_id)).status is models.AccountStatus.LOCKED
    assert "Unlock" in (await browser.get(base)).text
    assert (await browser.post(base + "/unlock")).status_code == 303
    assert (await hub.store.get_account(account_id)).status is models.AccountStatus.ACTIVE

    before = await hub.store.get_account(account_id)
    rotated = await browser.post(base + "/keys/esms/rotate", {"overlap_hours": "2"})
    assert rotated.status_code == 200
    now = await hub.store.get_account(account_id)
    assert now.esms_api_key != before.esms_api_key
    assert now.esms_api_key in rotated.text and now.esms_secret_key in rotated.text  # this once
    assert keys.hint(before.esms_api_key) in rotated.text and "keeps working until" in rotated.text
    assert before.esms_secret_key not in rotated.text
    detail = await browser.get(base)
    assert_no_secret(detail.text, secrets_of(now, None))
    assert keys.hint(before.esms_api_key) in detail.text  # the retired key, by its hint

    synced = await browser.post(f"{base}/oas/{customer.oa_id}/templates/sync")
    assert synced.status_code == 303, synced.text
    shown = await browser.get(synced.headers["location"])
    assert "100001" in shown.text and "Templates synced" in shown.text
    other = await accounts.create(hub, name="other")
    foreign = await browser.post(f"/ui/accounts/{other.account.id}/oas/{customer.oa_id}/templates/sync")
    assert foreign.status_code == 404

    entries = await hub.store.list_audit(store.AuditFilter(target=account_id))
    actions = sorted(e.action for e in entries if e.action != "account.create")
    assert actions == ["account.lock", "account.unlock", "keys.rotate_esms", "ledger.top_up"]
    [topup] = await hub.store.list_audit(store.AuditFilter(action="ledger.top_up"))
    assert topup.actor and topup.details["reason"] == "invoice 42"
    assert "templates.sync" in {e.action for e in await hub.store.list_audit(store.AuditFilter())}


async def test_a_read_session_sees_the_page_without_buttons_and_may_press_none(shop) -> None:
    customer, _ = shop
    hub = customer.hub
    account_id = customer.credentials["id"]
    reader_token = (await tokens.create(hub, "ops", "watcher", control.TokenKind.READ)).secret
    reader = await login(customer.http, reader_token)
    base = f"/ui/accounts/{account_id}"
    page = await reader.get(base)
    assert page.status_code == 200
    assert '/ledger"' not in page.text and '/lock"' not in page.text and '/rotate"' not in page.text
    assert "templates/sync" not in page.text
    for path, form in (
        ("/ledger", {"kind": "top_up", "amount": "1", "reason": "x"}),
        ("/lock", {}),
        ("/unlock", {}),
        ("/keys/esms/rotate", {}),
        (f"/oas/{customer.oa_id}/templates/sync", {}),
    ):
        answer = await reader.post(base + path, form)
        assert answer.status_code == 403, path
    entries = await hub.store.list_audit(store.AuditFilter(target=account_id))
    assert [e.action for e in entries] == ["account.create"]
    admin = await login(customer.http, customers.ADMIN)
    no_csrf = await admin.http.post(base + "/lock", data={session.CSRF_FIELD: "0" * 40})
    assert no_csrf.status_code == 403
    assert (await hub.store.get_account(account_id)).status is models.AccountStatus.ACTIVE


async def test_a_deactivated_account_shows_no_rotate_or_ledger_form_and_refuses_them(shop) -> None:
    customer, _ = shop
    hub = customer.hub
    account_id = customer.credentials["id"]
    before = await hub.store.get_account(account_id)
    deactivated = await customer.http.post(
        f"/v1/admin/accounts/{account_id}/deactivate", headers={"Authorization": f"Bearer {customers.ADMIN}"}
    )
    assert deactivated.status_code == 200, deactivated.text
    admin = await login(customer.http, customers.ADMIN)
    base = f"/ui/accounts/{account_id}"
    page = await admin.get(base)
    assert page.status_code == 200 and "deactivated" in page.text
    assert '/rotate"' not in page.text and 'id="ledger-form"' not in page.text, page.text
    refused = await admin.post(base + "/keys/esms/rotate", {"overlap_hours": "0"})
    assert refused.status_code == 409, refused.text
    assert (await hub.store.get_account(account_id)).esms_api_key == before.esms_api_key
