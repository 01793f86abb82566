"""The store's OA writes: insert (routing the account's apps without an OA), and changes as one statement, with a
compare-and-set on the refresh token for a token keeper (on both backends)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from dlrhub import settings, store
from dlrhub.core import errors
from dlrhub.services import accounts
from dlrhub.services import hub as hub_

LATER = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


async def test_insert_oa_routes_unrouted_apps_and_refuses_a_taken_id(db: store.Store) -> None:
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    demo = await accounts.create(hub, "demo", with_demo_oa=True)
    bare = await accounts.create(hub, "bare", with_demo_oa=False)
    real = dataclasses.replace(demo.oa, oa_id="42", account_id=bare.account.id)
    with pytest.raises(errors.UnknownAccount):
        await db.insert_oa(dataclasses.replace(real, account_id="acc_missing"))
    await db.insert_oa(real)
    with pytest.raises(errors.Conflict):
        await db.insert_oa(real)
    assert (await db.list_apps(bare.account.id))[0].oa_id == "42"
    # An app already routed keeps its OA.
    await db.insert_oa(dataclasses.replace(real, oa_id="43", account_id=demo.account.id))
    assert (await db.list_apps(demo.account.id))[0].oa_id == demo.oa.oa_id
    assert [o.oa_id for o in await db.list_oas()] == sorted(["42", "43", demo.oa.oa_id])
    assert [o.oa_id for o in await db.list_oas(bare.account.id)] == ["42"]


async def test_change_oa_keeps_what_it_is_not_given_and_compares_the_refresh_token(db: store.Store) -> None:
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    oa = (await accounts.create(hub, "shop", with_demo_oa=True)).oa
    grant = store.OAChanges(
        access_token="a2", refresh_token="r2", token_expires_at=LATER, refresh_expires_at=LATER
    )
    assert not await db.change_oa(oa.oa_id, grant, expect_refresh_token="not-the-stored-one")
    assert await db.get_oa(oa.oa_id) == oa
    assert await db.change_oa(oa.oa_id, grant, expect_refresh_token=oa.refresh_token)
    assert await db.change_oa(oa.oa_id, store.OAChanges(oa_secret="s2", active=False))
    assert not await db.change_oa("missing", store.OAChanges(active=False))
    changed = await db.get_oa(oa.oa_id)
    assert changed == dataclasses.replace(
        oa,
        access_token="a2",
        refresh_token="r2",
        token_expires_at=LATER,
        refresh_expires_at=LATER,
        oa_secret="s2",
        active=False,
    )
    assert changed is not None and changed.refresh_expires_at == LATER
