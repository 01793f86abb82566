"""Rotating customer keys through the admin API: the new pair works at once, the old one until its time, then not."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from dlrhub import store
from dlrhub.dialects.nxcloud import signing
from tests.customers import Customer

ESMS = "/MainService.svc/json/"
T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def admin(customer: Customer) -> dict[str, str]:
    return {"Authorization": f"Bearer {customer.admin_token}"}


def at(customer: Customer, when: dt.datetime) -> None:
    """Set the in-process hub's clock (every lookup, cached or not, compares against it)."""
    customer.hub.clock = lambda: when


async def rotate(customer: Customer, kind: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    account_id = customer.credentials["id"]
    r = await customer.http.post(
        f"/v1/admin/accounts/{account_id}/keys/{kind}/rotate", json=body, headers=admin(customer)
    )
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


async def balance_code(customer: Customer, api_key: str, secret_key: str) -> str:
    r = await customer.post(ESMS + "GetBalance_json", {"ApiKey": api_key, "SecretKey": secret_key})
    code: str = r.json()["CodeResponse"]
    return code


async def mt_code(customer: Customer, access_key: str, secret: str) -> int:
    raw = orjson.dumps(
        {
            "appkey": customer.appkey,
            "phone": "84901888484",
            "functionType": "template",
            "messageData": {"templateId": "100001", "templateData": {"name": "An"}},
        }
    )
    ts_ms = int(customer.hub.clock().timestamp() * 1000)
    headers = signing.sign_headers(access_key, secret, raw, ts_ms=ts_ms)
    r = await customer.http.post(
        "/v1/zalo/mt", content=raw, headers=headers | {"Content-Type": "application/json"}
    )
    code: int = r.json()["code"]
    return code


async def test_esms_rotation_overlaps_then_the_old_pair_stops(customer: Customer):
    at(customer, T0)
    old = customer.credentials["esms"]
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "100"  # cached from here on
    until = T0 + dt.timedelta(hours=2)
    answer = await rotate(customer, "esms", {"old_valid_until": until.isoformat()})
    new_key, new_secret = answer["ApiKey"], answer["SecretKey"]
    assert new_key != old["ApiKey"]
    assert new_secret != old["SecretKey"]
    assert answer["old"] == {
        "key_hint": "…" + old["ApiKey"][-4:],
        "valid_until": until.isoformat(),
        "revoked": False,
    }
    # Both work now, and a send with the new pair is accepted.
    assert await balance_code(customer, new_key, new_secret) == "100"
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "100"
    sent = await customer.post(
        ESMS + "SendZaloMessage_V6/", customer.zns(ApiKey=new_key, SecretKey=new_secret)
    )
    assert sent.json()["CodeResult"] == "100", sent.text
    # A pair is a pair: the old key does not take the new secret, nor the other way round.
    assert await balance_code(customer, old["ApiKey"], new_secret) == "101"
    assert await balance_code(customer, new_key, old["SecretKey"]) == "101"
    at(customer, until - dt.timedelta(seconds=1))
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "100"
    at(customer, until)
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "101"
    old_send = await customer.post(ESMS + "SendZaloMessage_V6/", customer.zns())
    assert old_send.json()["CodeResult"] == "101"
    assert await balance_code(customer, new_key, new_secret) == "100"


async def test_esms_rotation_with_no_overlap_refuses_the_old_pair_at_once(customer: Customer):
    at(customer, T0)
    old = customer.credentials["esms"]
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "100"
    answer = await rotate(customer, "esms", {"overlap_seconds": 0})
    assert answer["old"]["revoked"] is True
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "101"
    assert await balance_code(customer, answer["ApiKey"], answer["SecretKey"]) == "100"


async def test_a_rotation_with_no_overlap_also_stops_the_pairs_retired_before(customer: Customer):
    """A leaked key rotated out with the default overlap, then rotated again with none: no earlier pair works."""
    at(customer, T0)
    first = customer.credentials["esms"]
    second = await rotate(customer, "esms")  # `first` works 24 h more
    assert await balance_code(customer, first["ApiKey"], first["SecretKey"]) == "100"
    third = await rotate(customer, "esms", {"overlap_seconds": 0})
    assert await balance_code(customer, first["ApiKey"], first["SecretKey"]) == "101"
    assert await balance_code(customer, second["ApiKey"], second["SecretKey"]) == "101"
    assert await balance_code(customer, third["ApiKey"], third["SecretKey"]) == "100"
    status = await customer.http.get(
        f"/v1/admin/accounts/{customer.credentials['id']}/keys", headers=admin(customer)
    )
    assert status.json()["retired"] == []


async def test_a_shorter_overlap_ends_the_pairs_retired_before_with_it(customer: Customer):
    at(customer, T0)
    first = customer.credentials["nxcloud"]
    second = await rotate(customer, "nxcloud", {"overlap_seconds": 7 * 86_400})
    third = await rotate(customer, "nxcloud", {"overlap_seconds": 3600})
    # Both earlier pairs work for the hour the last rotation gave, and neither a moment longer.
    at(customer, T0 + dt.timedelta(minutes=59))
    assert await mt_code(customer, first["accessKey"], first["accessSecret"]) == 0
    assert await mt_code(customer, second["accessKey"], second["accessSecret"]) == 0
    at(customer, T0 + dt.timedelta(hours=1))
    assert await mt_code(customer, first["accessKey"], first["accessSecret"]) == 1005
    assert await mt_code(customer, second["accessKey"], second["accessSecret"]) == 1005
    assert await mt_code(customer, third["accessKey"], third["accessSecret"]) == 0


async def test_nxcloud_rotation_checks_each_key_against_its_own_secret(customer: Customer):
    at(customer, T0)
    old = customer.credentials["nxcloud"]
    answer = await rotate(customer, "nxcloud")  # the default overlap: 24 h
    assert answer["old"]["valid_until"] == (T0 + dt.timedelta(hours=24)).isoformat()
    new_key, new_secret = answer["accessKey"], answer["accessSecret"]
    assert await mt_code(customer, new_key, new_secret) == 0
    assert await mt_code(customer, old["accessKey"], old["accessSecret"]) == 0
    assert await mt_code(customer, old["accessKey"], new_secret) == 1003
    assert await mt_code(customer, new_key, old["accessSecret"]) == 1003
    at(customer, T0 + dt.timedelta(hours=24))
    assert await mt_code(customer, old["accessKey"], old["accessSecret"]) == 1005  # like an unknown key
    assert await mt_code(customer, new_key, new_secret) == 0


async def test_the_secret_is_shown_once_and_the_audit_log_keeps_hints_only(
    customer: Customer, db: store.Store
):
    at(customer, T0)
    answer = await rotate(customer, "esms", {"overlap_seconds": 3600})
    account_id = customer.credentials["id"]
    status = await customer.http.get(f"/v1/admin/accounts/{account_id}/keys", headers=admin(customer))
    assert status.status_code == 200
    assert answer["SecretKey"] not in status.text
    assert answer["ApiKey"] not in status.text
    body = status.json()
    assert body["current"]["esms"] == "…" + answer["ApiKey"][-4:]
    [retired] = body["retired"]
    assert retired["kind"] == "esms"
    assert retired["live"] is True
    [entry] = await db.list_audit(store.AuditFilter(action="keys.rotate_esms"))
    assert entry.target == account_id
    logged = orjson.dumps(entry.details).decode()
    for secret in (answer["SecretKey"], answer["ApiKey"], customer.credentials["esms"]["SecretKey"]):
        assert secret not in logged


async def test_rotation_refuses_bad_times_and_unknown_accounts(customer: Customer):
    at(customer, T0)
    account_id = customer.credentials["id"]
    url = f"/v1/admin/accounts/{account_id}/keys/esms/rotate"
    past = (T0 - dt.timedelta(minutes=1)).isoformat()
    for body in (
        {"old_valid_until": past},
        {"old_valid_until": "2025-03-02T09:00:00"},  # no zone
        {"overlap_seconds": -1},
        {"overlap_seconds": 60, "old_valid_until": (T0 + dt.timedelta(hours=1)).isoformat()},
        {"overlap_seconds": 100 * 86400},
        {"surprise": 1},
    ):
        r = await customer.http.post(url, json=body, headers=admin(customer))
        assert r.status_code == 422, (body, r.text)
        assert set(r.json()) >= {"error", "message"}
    r = await customer.http.post("/v1/admin/accounts/acc_nope/keys/nxcloud/rotate", headers=admin(customer))
    assert r.status_code == 404
    r = await customer.http.post(url)
    assert r.status_code == 401
    old = customer.credentials["esms"]
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "100"  # nothing changed


async def test_a_deactivated_account_s_keys_and_signing_secrets_change_no_more(customer: Customer):
    """Deactivation is for good: nothing about the account changes any more, its keys included (409)."""
    account_id = customer.credentials["id"]
    base = f"/v1/admin/accounts/{account_id}"
    added = await customer.http.post(f"{base}/signing-secrets", headers=admin(customer))
    assert added.status_code == 201, added.text
    r = await customer.http.post(f"{base}/deactivate", headers=admin(customer))
    assert r.status_code == 200, r.text
    before = (await customer.http.get(f"{base}/keys", headers=admin(customer))).json()
    for method, path in (
        ("POST", "/keys/esms/rotate"),
        ("POST", "/keys/nxcloud/rotate"),
        ("POST", "/signing-secrets"),
        ("DELETE", f"/signing-secrets/{added.json()['key_id']}?allow_unsigned=true"),
    ):
        r = await customer.http.request(method, base + path, headers=admin(customer))
        assert r.status_code == 409, (path, r.text)
        assert "deactivated" in r.json()["message"]
    assert (await customer.http.get(f"{base}/keys", headers=admin(customer))).json() == before


async def test_a_cached_retired_key_stops_at_its_time_not_at_the_cache_s_end(customer: Customer):
    at(customer, T0)
    old = customer.credentials["esms"]
    await rotate(customer, "esms", {"overlap_seconds": 1})
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "100"  # found, and cached for 2 s
    at(customer, T0 + dt.timedelta(seconds=1))
    assert await balance_code(customer, old["ApiKey"], old["SecretKey"]) == "101"
