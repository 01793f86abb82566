"""Signing secrets rotated through the admin API: while two are live a callback verifies with either; retiring one
leaves the other; the last goes only when asked."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
import standardwebhooks

from dlrhub import store
from dlrhub.core import models, signing
from dlrhub.services import keys
from tests.customers import Customer
from tests.integration.engine.test_dispatcher import config, eventually, ingest, running, states
from tests.receivers import Receiver


@pytest.fixture
def customer_account() -> dict[str, Any]:
    return {"signed": True}


def admin(customer: Customer) -> dict[str, str]:
    return {"Authorization": f"Bearer {customer.admin_token}"}


def url(customer: Customer, tail: str = "") -> str:
    return f"/v1/admin/accounts/{customer.credentials['id']}/signing-secrets{tail}"


async def delivered(db: store.Store, account: models.Account, message_id: str, rec: Receiver) -> Any:
    """Send one callback through a fresh dispatcher; the request the receiver got."""
    async with running(db, config()):
        await ingest(db, account, message_id, models.EventKind.SUCCESS, rec.url("/hook"))

        async def done() -> bool:
            return await states(db, message_id) == [models.CallbackState.SUCCEEDED]

        await eventually(done)
    return rec.hits[-1]


def verifies(secret: str, hit: Any) -> bool:
    try:
        standardwebhooks.Webhook(secret).verify(hit.body, hit.headers)
    except standardwebhooks.WebhookVerificationError:
        return False
    return True


async def test_two_live_secrets_both_verify_then_the_retired_one_stops(customer: Customer, db: store.Store):
    [first] = customer.credentials["signing_secrets"]
    added = await customer.http.post(url(customer), headers=admin(customer))
    assert added.status_code == 201, added.text
    body = added.json()
    second = body["secret"]
    assert body["key_id"] == keys.key_id(second)
    assert body["key_ids"] == [keys.key_id(first), keys.key_id(second)]
    listed = await customer.http.get(url(customer), headers=admin(customer))
    assert listed.json()["key_ids"] == body["key_ids"]
    assert first not in listed.text
    assert second not in listed.text
    account = await db.get_account(customer.credentials["id"])
    async with Receiver() as rec:
        hit = await delivered(db, account, "m-both", rec)
        assert len(hit.headers["webhook-signature"].split(" ")) == 2
        assert verifies(first, hit)
        assert verifies(second, hit)
        gone = await customer.http.delete(url(customer, f"/{keys.key_id(first)}"), headers=admin(customer))
        assert gone.status_code == 200, gone.text
        assert gone.json()["key_ids"] == [keys.key_id(second)]
        hit = await delivered(db, account, "m-one", rec)
        assert not verifies(first, hit)
        assert verifies(second, hit)
    [entry, *_] = await db.list_audit(store.AuditFilter(action="signing.retire"))
    assert entry.details["key_id"] == keys.key_id(first)
    logged = orjson.dumps([e.details for e in await db.list_audit(store.AuditFilter())]).decode()
    assert first not in logged
    assert second not in logged


async def test_the_last_secret_goes_only_with_an_explicit_flag(customer: Customer, db: store.Store):
    [only] = customer.credentials["signing_secrets"]
    last = url(customer, f"/{keys.key_id(only)}")
    refused = await customer.http.delete(last, headers=admin(customer))
    assert refused.status_code == 409
    assert (await db.get_account(customer.credentials["id"])).signing_secrets == (only,)
    unknown = await customer.http.delete(url(customer, "/whk_00000000"), headers=admin(customer))
    assert unknown.status_code == 404
    done = await customer.http.delete(last + "?allow_unsigned=true", headers=admin(customer))
    assert done.status_code == 200
    assert done.json() == {
        "account_id": customer.credentials["id"],
        "retired": keys.key_id(only),
        "key_ids": [],
        "signed": False,
    }
    assert (await db.get_account(customer.credentials["id"])).signing_secrets == ()


async def test_at_most_max_secrets(customer: Customer):
    for _ in range(signing.MAX_SECRETS - 1):
        assert (await customer.http.post(url(customer), headers=admin(customer))).status_code == 201
    r = await customer.http.post(url(customer), headers=admin(customer))
    assert r.status_code == 409
    assert r.json()["error"] == "conflict"
