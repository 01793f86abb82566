"""The admin template routes: sync, add by hand, list, show, with the admin error shape and the audit log."""

from __future__ import annotations

from dlrhub import store
from dlrhub.services import zalo_wiring
from tests import customers

ADMIN = {"Authorization": f"Bearer {customers.ADMIN}"}


async def test_sync_list_show_add_over_http(shop) -> None:
    customer, _ = shop
    http, oa = customer.http, customer.oa_id
    base = f"/v1/admin/oas/{oa}/templates"
    assert (await http.post(base + "/sync")).status_code == 401
    synced = await http.post(base + "/sync", headers=ADMIN)
    assert synced.status_code == 200, synced.text
    assert synced.json()["template_ids"] == ["100001", "100002", "100003"]
    listed = (await http.get(base, headers=ADMIN)).json()
    assert [t["template_id"] for t in listed["templates"]] == ["100001", "100002", "100003"]
    shown = (await http.get(base + "/100001", headers=ADMIN)).json()
    assert shown["source"] == "zalo" and shown["status"] == "ENABLE"
    assert [p["name"] for p in shown["params"]] == ["name", "order"]
    body = {
        "template_id": "900",
        "name": "OTP",
        "params": [{"name": "otp", "type": "NUMBER", "maxLength": 6}],
    }
    added = await http.post(base, json=body, headers=ADMIN)
    assert added.status_code == 201, added.text
    assert added.json()["source"] == "manual"
    again = await http.post(base, json={"template_id": "100001"}, headers=ADMIN)
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    bad = await http.post(base, json={"template_id": "x y"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    extra = await http.post(base, json={"template_id": "1", "secret": "x"}, headers=ADMIN)
    assert extra.status_code == 422
    missing = await http.get(base + "/404", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    unknown = await http.get("/v1/admin/oas/nope/templates", headers=ADMIN)
    assert unknown.status_code == 404
    assert (await http.post("/v1/admin/oas/nope/templates/sync", headers=ADMIN)).status_code == 404
    actions = [e.action for e in await customer.hub.store.list_audit(store.AuditFilter())]
    assert actions.count("templates.sync") == 1 and actions.count("templates.add") == 1


async def test_zalo_refusing_is_a_502_with_its_error(db, start_simulator) -> None:
    failing = await start_simulator(template_errors={"100001": -124})
    url = failing.url
    made = await customers.in_process(db, {"zalo_mode": "zalo", "zalo_api_url": url, "zalo_oauth_url": url})
    try:
        answer = await made.http.post(f"/v1/admin/oas/{made.oa_id}/templates/sync", headers=ADMIN)
        assert answer.status_code == 502
        assert answer.json()["error"] == "zalo_error" and answer.json()["zalo_error"] == -124
        assert await made.hub.store.list_templates(made.oa_id) == []
    finally:
        await made.aclose()
        await zalo_wiring.close(made.api)
