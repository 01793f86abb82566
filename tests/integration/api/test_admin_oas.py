"""`/v1/admin/.../oas`: register a real OA against the simulator, refusals with Zalo's error and nothing stored,
secrets never shown, update, deactivate (sends through it then refused with the dialect's code)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dlrhub import store
from dlrhub.adapters.zalo import client
from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config
from tests import customers
from tests.integration.zalo import conftest as zalo

ADMIN = {"Authorization": f"Bearer {customers.ADMIN}"}
SEND = "/MainService.svc/json/SendZaloMessage_V6/"


@pytest.fixture
async def wired(customer: customers.Customer) -> AsyncIterator[tuple[Any, Any]]:
    """The customer's dlrhub talking to a simulator on a port of its own (as to the real Zalo), which knows only
    the OAs its console makes."""
    sim = simulator.Simulator(simulator_config.SimulatorConfig(oas=()))
    server, task, url = await zalo.serve(sim.app)
    zalo_client = client.ZaloClient(api_base=url, oauth_base=url)
    customer.api.state.zalo_client = zalo_client
    try:
        yield customer, sim
    finally:
        await zalo_client.aclose()
        server.should_exit = True
        await task


def _body(sim: Any, **changes: str) -> dict[str, str]:
    made, refresh = sim.console.create_oa()
    body = {
        "oa_id": made.oa_id,
        "app_id": made.app_id,
        "app_secret": made.app_secret,
        "oa_secret": made.oa_secret,
        "refresh_token": refresh,
    }
    return {**body, **changes}


async def test_register_list_show_update_deactivate(wired, db: store.Store) -> None:
    customer, sim = wired
    http, account_id = customer.http, customer.credentials["id"]
    body = _body(sim)
    made = await http.post(f"/v1/admin/accounts/{account_id}/oas", json=body, headers=ADMIN)
    assert made.status_code == 201, made.text
    shown = made.json()
    assert shown["oa_id"] == body["oa_id"] and shown["quota"] == {"daily": 5000, "remaining": 5000}
    assert shown["refresh_expires_in_days"] == pytest.approx(90, abs=0.2)
    for secret in (body["app_secret"], body["oa_secret"], body["refresh_token"]):
        assert secret not in made.text
    listed = await http.get("/v1/admin/oas", params={"account_id": account_id}, headers=ADMIN)
    ids = [o["oa_id"] for o in listed.json()["oas"]]
    assert sorted(ids) == sorted([body["oa_id"], customer.oa_id])
    one = await http.get(f"/v1/admin/oas/{body['oa_id']}", headers=ADMIN)
    assert one.status_code == 200 and one.json()["quota"]["daily"] == 5000
    stored = await db.get_oa(body["oa_id"])
    assert stored is not None and stored.access_token not in one.text + listed.text
    again = await http.post(f"/v1/admin/accounts/{account_id}/oas", json=body, headers=ADMIN)
    assert again.status_code == 409
    secrets = await http.patch(
        f"/v1/admin/oas/{body['oa_id']}/secrets", json={"oa_secret": "rotated"}, headers=ADMIN
    )
    assert secrets.status_code == 200 and "rotated" not in secrets.text
    empty = await http.patch(f"/v1/admin/oas/{body['oa_id']}/secrets", json={}, headers=ADMIN)
    assert empty.status_code == 422
    off = await http.post(f"/v1/admin/oas/{customer.oa_id}/deactivate", headers=ADMIN)
    assert off.status_code == 200 and off.json()["active"] is False
    refused = await customer.post(SEND, customer.zns())
    assert refused.json()["CodeResult"] == "799"
    missing = await http.post("/v1/admin/oas/999/deactivate", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


@pytest.mark.parametrize(
    ("change", "code"), [({"app_secret": "wrong"}, -14002), ({"refresh_token": "dead"}, -14014)]
)
async def test_a_refusal_carries_zalos_error_and_stores_nothing(
    wired, db, change: dict[str, str], code: int
) -> None:
    customer, sim = wired
    body = _body(sim, **change)
    answer = await customer.http.post(
        f"/v1/admin/accounts/{customer.credentials['id']}/oas", json=body, headers=ADMIN
    )
    assert answer.status_code == 422
    assert (answer.json()["error"], answer.json()["zalo_error"]) == ("zalo_refused", code)
    assert await db.get_oa(body["oa_id"]) is None


async def test_bad_input_and_no_token(wired) -> None:
    customer, sim = wired
    path = f"/v1/admin/accounts/{customer.credentials['id']}/oas"
    assert (await customer.http.post(path, json=_body(sim))).status_code == 401
    bad = await customer.http.post(path, json=_body(sim, oa_id="not-digits"), headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_request"
    extra = await customer.http.post(path, json={**_body(sim), "surprise": 1}, headers=ADMIN)
    assert extra.status_code == 422
    unknown = await customer.http.post("/v1/admin/accounts/acc_nope/oas", json=_body(sim), headers=ADMIN)
    assert unknown.status_code == 404
