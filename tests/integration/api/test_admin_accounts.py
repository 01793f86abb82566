"""The admin API of accounts: list, show, change, lock, unlock, deactivate, and the ledger, on both backends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from dlrhub import store
from dlrhub.services import accounts, audit
from tests import customers

SEND_V6 = "/MainService.svc/json/SendZaloMessage_V6/"
BALANCE = "/MainService.svc/json/GetBalance_json"


class Admin:
    """The admin API as the customer's dlrhub serves it."""

    def __init__(self, customer: customers.Customer) -> None:
        self.customer = customer
        self.id: str = customer.credentials["id"]
        self.headers = {"Authorization": f"Bearer {customer.admin_token}"}

    async def call(self, method: str, path: str, body: Any = None, **params: Any) -> httpx.Response:
        url = f"/v1/admin/accounts{path.format(id=self.id)}"
        return await self.customer.http.request(method, url, json=body, params=params, headers=self.headers)


async def _esms(customer: customers.Customer, **changes: Any) -> dict[str, Any]:
    answer: dict[str, Any] = (
        await customer.post(SEND_V6, customer.zns(TempData={"n": "A"}, **changes))
    ).json()
    return answer


async def _mt(customer: customers.Customer) -> dict[str, Any]:
    body = {
        "phone": "84901888484",
        "functionType": "template",
        "messageData": {"templateId": "100001", "templateData": {"name": "An"}},
    }
    return await customer.signed("/v1/zalo/mt", body, action="mt")


async def test_accounts_are_listed_shown_and_paged_without_secrets(customer: customers.Customer):
    admin = Admin(customer)
    await accounts.create(customer.hub, "Second shop")
    listed = (await admin.call("GET", "", limit=1)).json()
    assert [a["id"] for a in listed["accounts"]] == [admin.id] and listed["next"] == admin.id
    rest = (await admin.call("GET", "", after=listed["next"], limit=1)).json()
    assert [a["name"] for a in rest["accounts"]] == ["Second shop"]
    assert [a["name"] for a in (await admin.call("GET", "", name="SECOND")).json()["accounts"]] == [
        "Second shop"
    ]
    assert (await admin.call("GET", "", status="locked")).json() == {"accounts": [], "next": None}
    shown = (await admin.call("GET", "/{id}")).json()
    assert shown["balance"] == "1000000.0000" and shown["status"] == "active"
    text = str(shown)
    secrets = (customer.creds["SecretKey"], customer.credentials["nxcloud"]["accessSecret"])
    assert not any(secret in text for secret in secrets)
    missing = await admin.call("GET", "/acc_missing")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert (await admin.call("GET", "", limit=0)).status_code == 422


async def test_prices_per_template_and_a_default_callback_url_reach_the_sends(customer: customers.Customer):
    admin = Admin(customer)
    patch = {
        "prices": {"tpl:100001": "123.5", "24": None},
        "default_callback_url": "https://default.example/dr",
        "utc_offset_minutes": 420,
    }
    changed = await admin.call("PATCH", "/{id}", patch)
    assert changed.status_code == 200, changed.text
    assert changed.json()["prices"]["tpl:100001"] == "123.5000" and "24" not in changed.json()["prices"]
    assert changed.json()["default_callback_url"] == "https://default.example/dr"
    sent = await _esms(customer, CallbackUrl=...)
    assert sent["CodeResult"] == "100", sent
    message = await customer.native(sent["SMSID"])
    assert (message["price"], message["callback_url"]) == ("123.5000", "https://default.example/dr")
    other = await _esms(customer, TempID="100002")  # no template price: its TypeId's
    assert (await customer.native(other["SMSID"]))["price"] == "300.0000"
    mt = await _mt(customer)
    assert mt["code"] == 0, mt
    nx_message = await customer.native(mt["data"]["requestId"])
    assert (nx_message["price"], nx_message["callback_url"]) == ("123.5000", "https://default.example/dr")
    event = {
        "event_id": "e1",
        "message_id": "eng-1",
        "account": admin.id,
        "type_id": 24,
        "status": "accepted",
    }
    posted = await customer.http.post("/v1/events", json=event, headers=admin.headers)
    assert posted.status_code == 202, posted.text
    assert (await customer.native("eng-1"))["callback_url"] == "https://default.example/dr"
    for bad in (
        {"name": None},
        {"default_callback_url": "http://10.0.0.7/dr"},
        {"prices": {"nonsense": "1"}},
        {"prices": {"25": "-1"}},
        {"currency": "dong"},
        {"balance": "5"},
    ):
        refused = await admin.call("PATCH", "/{id}", bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert set(refused.json()) >= {"error", "message"}
    entries = await audit.entries(customer.hub, store.AuditFilter(target=admin.id, action="account.update"))
    assert len(entries) == 1 and entries[0].details["utc_offset_minutes"] == 420


async def test_a_notify_url_is_set_guarded_audited_and_removed(customer: customers.Customer):
    admin = Admin(customer)
    changed = await admin.call("PATCH", "/{id}", {"notify_url": "https://customer.example/alerts"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["notify_url"] == "https://customer.example/alerts"
    assert (await customer.hub.store.get_account(admin.id)).notify_url == "https://customer.example/alerts"
    refused = await admin.call("PATCH", "/{id}", {"notify_url": "http://169.254.169.254/latest"})
    assert refused.status_code == 422 and refused.json()["error"], refused.text
    assert "notify_url" in refused.json()["message"]
    removed = await admin.call("PATCH", "/{id}", {"notify_url": None})
    assert removed.status_code == 200 and removed.json()["notify_url"] is None
    entries = await audit.entries(customer.hub, store.AuditFilter(target=admin.id, action="account.update"))
    assert [e.details for e in entries] == [
        {"notify_url": None},
        {"notify_url": "https://customer.example/alerts"},
    ]


async def test_a_new_account_s_dr_url_passes_the_url_guard(customer: customers.Customer):
    """As `POST /v1/admin/apps` checks an app's DR URL, so does the account's creation for its first app."""
    admin = Admin(customer)
    before = (await admin.call("GET", "")).json()["accounts"]
    for dr_url in ("ftp://customer.example/dr", "http://169.254.169.254/latest"):
        refused = await admin.call("POST", "", {"name": "shop", "dr_url": dr_url})
        assert refused.status_code == 422, refused.text
        assert "dr_url" in refused.json()["message"], refused.text
    assert (await admin.call("GET", "")).json()["accounts"] == before  # nothing stored


async def test_lock_unlock_and_deactivate(customer: customers.Customer):
    admin = Admin(customer)
    assert (await admin.call("POST", "/{id}/lock")).json()["status"] == "locked"
    assert (await _esms(customer))["CodeResult"] == "143"
    assert (await _mt(customer))["code"] == 1100
    assert (await admin.call("POST", "/{id}/unlock")).json()["status"] == "active"
    assert (await _esms(customer))["CodeResult"] == "100"
    assert (await admin.call("POST", "/{id}/deactivate")).json()["status"] == "deactivated"
    assert (await _esms(customer))["CodeResult"] == "143"
    assert (await _mt(customer))["code"] == 1100
    assert (await customer.post(BALANCE, customer.creds)).json()["CodeResponse"] == "143"
    for method, path, body in (
        ("POST", "/{id}/unlock", None),
        ("PATCH", "/{id}", {"name": "again"}),
        ("POST", "/{id}/ledger", {"amount": "5", "reason": "late payment"}),
    ):
        refused = await admin.call(method, path, body)
        assert refused.status_code == 409 and refused.json()["error"] == "conflict", refused.text
    assert (await admin.call("GET", "/{id}")).json()["status"] == "deactivated"  # nothing deleted
    found = await audit.entries(customer.hub, store.AuditFilter(target=admin.id))
    assert {"account.lock", "account.unlock", "account.deactivate"} <= {e.action for e in found}


async def test_the_ledger_takes_top_ups_and_adjustments_and_refuses_a_negative_balance(
    customer: customers.Customer,
):
    admin = Admin(customer)
    topped = await admin.call("POST", "/{id}/ledger", {"amount": "2500.5", "reason": "invoice 7"})
    assert topped.status_code == 201, topped.text
    assert topped.json()["balance"] == "1002500.5000"
    entry = topped.json()["entry"]
    assert (entry["kind"], entry["amount"], entry["reason"], entry["actor"]) == (
        "top_up", "2500.5000", "invoice 7", "bootstrap",
    )  # fmt: skip
    too_much = {"kind": "adjustment", "amount": "-2000000", "reason": "mistake"}
    assert (await admin.call("POST", "/{id}/ledger", too_much)).status_code == 409
    taken = await admin.call(
        "POST", "/{id}/ledger", {"kind": "adjustment", "amount": "-500.5", "reason": "fee"}
    )
    assert taken.json()["balance"] == "1002000.0000"
    for bad in (
        {"amount": "-1", "reason": "a negative top-up"},
        {"amount": "1"},
        {"amount": "1", "reason": ""},
        {"amount": "1e13", "reason": "too large"},
        {"amount": "0.00001", "reason": "too fine"},
        {"kind": "charge", "amount": "1", "reason": "not an operator's"},
    ):
        refused = await admin.call("POST", "/{id}/ledger", bad)
        assert refused.status_code == 422, (bad, refused.text)
    page = (await admin.call("GET", "/{id}/ledger", limit=2)).json()
    assert [e["kind"] for e in page["entries"]] == ["adjustment", "top_up"]
    rest = (await admin.call("GET", "/{id}/ledger", before=page["next"], limit=2)).json()
    assert [e["kind"] for e in rest["entries"]] == ["opening"] and rest["next"] is None
    assert (await customer.post(BALANCE, customer.creds)).json()["Balance"] == 1002000
    db: store.Store = customer.hub.store
    assert await db.ledger_total(admin.id) == Decimal("1002000")
    assert (await admin.call("GET", "/acc_missing/ledger")).status_code == 404
