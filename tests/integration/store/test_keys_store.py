"""The store's `Apps` and `Keys` parts, alike on both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from dlrhub import store
from dlrhub.core import control, errors, models
from tests.conftest import make_account

T0 = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)
ESMS = control.KeyKind.ESMS
NX = control.KeyKind.NXCLOUD


def app_of(account: models.Account, appkey: str = "app1") -> models.App:
    return models.App(
        appkey=appkey,
        account_id=account.id,
        name="app",
        active=True,
        dr_url=None,
        quotation=Decimal("1.5000"),
        currency="VND",
        routed=True,
        oa_id=None,
    )


async def test_apps_are_created_replaced_and_listed(db: store.Store):
    a, b = make_account(), make_account()
    await db.create_account(a, [])
    await db.create_account(b, [])
    app = app_of(a)
    await db.create_app(app)
    with pytest.raises(errors.Conflict):
        await db.create_app(app)
    assert await db.get_app("app1") == app
    changed = dataclasses.replace(
        app, quotation=None, routed=False, dr_url="https://x.example/dr", name="new"
    )
    await db.replace_app(changed)
    assert await db.get_app("app1") == changed
    with pytest.raises(errors.NotFound):
        await db.replace_app(app_of(a, "nope"))
    await db.create_app(app_of(b, "app0"))
    assert [x.appkey for x in await db.list_all_apps()] == sorted(
        ["app1", "app0"], key=lambda k: (a.id if k == "app1" else b.id, k)
    )
    assert len(await db.list_all_apps(limit=1)) == 1


async def test_a_rotation_swaps_the_pair_and_keeps_the_old_one(db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    old = control.RetiredKey(ESMS, account.esms_api_key, account.esms_secret_key, account.id, T0)
    assert await db.rotate_customer_key(ESMS, account.id, account.esms_api_key, "K2", "S2", old, T0)
    stored = await db.get_account(account.id)
    assert (stored.esms_api_key, stored.esms_secret_key) == ("K2", "S2")
    assert (stored.nx_access_key, stored.nx_access_secret) == (
        account.nx_access_key,
        account.nx_access_secret,
    )
    assert await db.find_account_by_esms_key("K2") == stored
    assert await db.find_retired_key(ESMS, account.esms_api_key) == old
    assert await db.find_retired_key(NX, account.esms_api_key) is None
    # A rotation that read the pair before this one landed writes nothing.
    assert not await db.rotate_customer_key(ESMS, account.id, account.esms_api_key, "K3", "S3", None, T0)
    assert (await db.get_account(account.id)).esms_api_key == "K2"
    # The next one drops the pairs expired by its `now`, and may keep none.
    later = T0 + dt.timedelta(hours=1)
    assert await db.rotate_customer_key(ESMS, account.id, "K2", "K3", "S3", None, later)
    assert await db.list_retired_keys(account.id) == []


async def test_a_rotation_refuses_a_taken_key_and_writes_nothing(db: store.Store):
    a, b = make_account(), make_account()
    await db.create_account(a, [])
    await db.create_account(b, [])
    old = control.RetiredKey(NX, a.nx_access_key, a.nx_access_secret, a.id, T0 + dt.timedelta(days=1))
    with pytest.raises(errors.Conflict):
        await db.rotate_customer_key(NX, a.id, a.nx_access_key, b.nx_access_key, "S", old, T0)
    assert await db.get_account(a.id) == a
    assert await db.list_retired_keys(a.id) == []


async def test_retired_keys_are_listed_soonest_first(db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    first = control.RetiredKey(NX, account.nx_access_key, "s1", account.id, T0 + dt.timedelta(hours=1))
    assert await db.rotate_customer_key(NX, account.id, account.nx_access_key, "N2", "s2", first, T0)
    second = control.RetiredKey(NX, "N2", "s2", account.id, T0 + dt.timedelta(hours=5))
    assert await db.rotate_customer_key(NX, account.id, "N2", "N3", "s3", second, T0)
    assert await db.list_retired_keys(account.id) == [first, second]


async def test_a_rotation_ends_the_earlier_retired_pairs_of_its_kind_with_the_one_it_retires(db: store.Store):
    account = make_account()
    await db.create_account(account, [])
    first = control.RetiredKey(NX, account.nx_access_key, "s1", account.id, T0 + dt.timedelta(hours=5))
    assert await db.rotate_customer_key(NX, account.id, account.nx_access_key, "N2", "s2", first, T0)
    esms = control.RetiredKey(ESMS, account.esms_api_key, "e1", account.id, T0 + dt.timedelta(hours=9))
    assert await db.rotate_customer_key(ESMS, account.id, account.esms_api_key, "E2", "e2", esms, T0)
    second = control.RetiredKey(NX, "N2", "s2", account.id, T0 + dt.timedelta(hours=1))
    assert await db.rotate_customer_key(NX, account.id, "N2", "N3", "s3", second, T0)
    capped = dataclasses.replace(first, valid_until=second.valid_until)
    found = await db.list_retired_keys(account.id)
    assert set(found) == {capped, second, esms}  # the other kind keeps its time
    # No overlap: every retired NXCloud pair ends now (and is dropped); the eSMS one stays.
    assert await db.rotate_customer_key(NX, account.id, "N3", "N4", "s4", None, T0)
    assert await db.list_retired_keys(account.id) == [esms]


async def test_signing_secrets_are_swapped_only_from_what_was_read(db: store.Store):
    account = make_account(signing_secrets=("whsec_a",))
    await db.create_account(account, [])
    assert await db.swap_signing_secrets(account.id, ("whsec_a",), ("whsec_a", "whsec_b"))
    assert not await db.swap_signing_secrets(account.id, ("whsec_a",), ())
    assert (await db.get_account(account.id)).signing_secrets == ("whsec_a", "whsec_b")
    assert await db.swap_signing_secrets(account.id, ("whsec_a", "whsec_b"), ())
    assert (await db.get_account(account.id)).signing_secrets == ()
    with pytest.raises(errors.UnknownAccount):
        await db.swap_signing_secrets("acc_nope", (), ())
