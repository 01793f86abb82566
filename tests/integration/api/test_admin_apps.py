"""NXCloud apps through the admin API: create, list, show, change; the send path sees each change."""

from __future__ import annotations

from typing import Any

import orjson

from dlrhub import store
from dlrhub.dialects.nxcloud import signing
from dlrhub.services import accounts
from tests.customers import Customer


def admin(customer: Customer) -> dict[str, str]:
    return {"Authorization": f"Bearer {customer.admin_token}"}


async def create(customer: Customer, **body: Any) -> Any:
    return await customer.http.post(
        f"/v1/admin/accounts/{customer.credentials['id']}/apps", json=body, headers=admin(customer)
    )


async def patch(customer: Customer, appkey: str, **body: Any) -> Any:
    return await customer.http.patch(f"/v1/admin/apps/{appkey}", json=body, headers=admin(customer))


async def mt_code(customer: Customer, appkey: str) -> int:
    nx = customer.credentials["nxcloud"]
    raw = orjson.dumps(
        {
            "appkey": appkey,
            "phone": "84901888484",
            "functionType": "template",
            "messageData": {"templateId": "100001", "templateData": {"name": "An"}},
        }
    )
    headers = signing.sign_headers(nx["accessKey"], nx["accessSecret"], raw)
    r = await customer.http.post(
        "/v1/zalo/mt", content=raw, headers=headers | {"Content-Type": "application/json"}
    )
    code: int = r.json()["code"]
    return code


async def test_create_list_show_and_change_an_app(customer: Customer, db: store.Store):
    made = await create(
        customer, name="second", quotation="450", oa_id=customer.oa_id, dr_url="https://customer.example/dr"
    )
    assert made.status_code == 201, made.text
    app = made.json()
    appkey = app["appkey"]
    assert app == {
        "appkey": appkey,
        "account_id": customer.credentials["id"],
        "name": "second",
        "active": True,
        "dr_url": "https://customer.example/dr",
        "quotation": "450.0000",
        "currency": "VND",
        "routed": True,
        "oa_id": customer.oa_id,
    }
    assert await mt_code(customer, appkey) == 0
    listed = await customer.http.get(
        "/v1/admin/apps", params={"account_id": customer.credentials["id"]}, headers=admin(customer)
    )
    assert sorted(a["appkey"] for a in listed.json()["apps"]) == sorted([appkey, customer.appkey])
    shown = await customer.http.get(f"/v1/admin/apps/{appkey}", headers=admin(customer))
    assert shown.json() == app
    # null removes the quotation: sends are refused with 9004 at once (this process forgets its cached app).
    changed = await patch(customer, appkey, quotation=None)
    assert changed.status_code == 200, changed.text
    assert changed.json()["quotation"] is None
    assert changed.json()["name"] == "second"  # fields left out stay
    assert await mt_code(customer, appkey) == 9004
    assert (await patch(customer, appkey, quotation="500", routed=False)).status_code == 200
    assert await mt_code(customer, appkey) == 9005
    assert (await patch(customer, appkey, routed=True, active=False)).status_code == 200
    assert await mt_code(customer, appkey) == 9003
    back = await patch(customer, appkey, active=True, name="renamed", dr_url=None)
    assert back.json()["dr_url"] is None
    assert back.json()["quotation"] == "500.0000"
    assert await mt_code(customer, appkey) == 0
    actions = [e.action for e in await db.list_audit(store.AuditFilter(target=appkey))]
    assert actions == ["apps.update"] * 4 + ["apps.create"]


async def test_bad_apps_are_refused_and_nothing_is_written(customer: Customer, db: store.Store):
    other = await accounts.create(customer.hub, "other")
    before = await db.list_apps(customer.credentials["id"])
    for body, field in (
        ({"name": "x", "oa_id": other.oa.oa_id}, "oa_id"),
        ({"name": "x", "oa_id": "nope"}, "oa_id"),
        ({"name": "x", "quotation": "-1"}, "quotation"),
        ({"name": "x", "quotation": "0.00001"}, "quotation"),
        ({"name": "x", "currency": "dong"}, "currency"),
        ({"name": ""}, "name"),
        ({"name": "x", "appkey": "mine"}, "appkey"),
    ):
        r = await create(customer, **body)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text
    blocked = await create(customer, name="x", dr_url="http://10.0.0.1/dr")
    assert blocked.status_code == 422
    assert blocked.json()["error"] == "blocked_url"
    assert await db.list_apps(customer.credentials["id"]) == before
    assert (await patch(customer, customer.appkey, oa_id=other.oa.oa_id)).status_code == 422
    assert (await patch(customer, customer.appkey, account_id=other.account.id)).status_code == 422
    assert (await patch(customer, customer.appkey, routed=None)).status_code == 422
    assert (await patch(customer, "nope", name="y")).status_code == 404
    missing = await customer.http.post(
        "/v1/admin/accounts/acc_nope/apps", json={"name": "x"}, headers=admin(customer)
    )
    assert missing.status_code == 404
    assert (await customer.http.get("/v1/admin/apps/nope", headers=admin(customer))).status_code == 404
    assert (await customer.http.get("/v1/admin/apps")).status_code == 401
    assert await db.list_apps(customer.credentials["id"]) == before


async def test_list_every_app(customer: Customer):
    other = await accounts.create(customer.hub, "other")
    r = await customer.http.get("/v1/admin/apps", headers=admin(customer))
    assert {a["appkey"] for a in r.json()["apps"]} == {customer.appkey, other.app.appkey}
