"""The token store on each backend: create, find by digest, list, revoke once, touch at most once a window."""

from __future__ import annotations

import datetime as dt

import pytest

from dlrhub.core import control, errors
from tests.conftest import make_account

T0 = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)


def token(**changes) -> control.Token:
    base = {
        "id": "tok_1",
        "name": "ops",
        "kind": control.TokenKind.READ,
        "account_id": None,
        "token_hash": "a" * 64,
        "prefix": "dlrh_r_abcd",
        "created_at": T0,
        "created_by": "bootstrap",
    }
    return control.Token(**{**base, **changes})


async def test_create_find_list(db) -> None:
    account = make_account()
    await db.create_account(account, [])
    await db.create_token(token())
    shop = token(
        id="tok_2", name="shop", kind=control.TokenKind.CUSTOMER, account_id=account.id, token_hash="b" * 64
    )
    await db.create_token(shop)
    assert await db.find_token("a" * 64) == token()
    assert await db.find_token("b" * 64) == shop
    assert await db.find_token("c" * 64) is None
    assert [t.name for t in await db.list_tokens()] == ["ops", "shop"]


async def test_a_name_is_taken_once(db) -> None:
    await db.create_token(token())
    with pytest.raises(errors.Conflict):
        await db.create_token(token(id="tok_2", token_hash="b" * 64))
    assert len(await db.list_tokens()) == 1


async def test_revoke_keeps_the_first_time(db) -> None:
    await db.create_token(token())
    first, changed = await db.revoke_token("tok_1", T0 + dt.timedelta(hours=1))
    again, changed_again = await db.revoke_token("tok_1", T0 + dt.timedelta(hours=2))
    assert (changed, changed_again) == (True, False)
    assert first.revoked_at == again.revoked_at == T0 + dt.timedelta(hours=1)
    assert (await db.find_token("a" * 64)).revoked_at == T0 + dt.timedelta(hours=1)
    with pytest.raises(errors.UnknownToken):
        await db.revoke_token("tok_none", T0)


async def test_touch_writes_only_a_stale_time(db) -> None:
    await db.create_token(token())
    minute = dt.timedelta(minutes=1)
    await db.touch_token("tok_1", T0, T0 - minute)
    await db.touch_token("tok_1", T0 + dt.timedelta(seconds=30), T0 + dt.timedelta(seconds=30) - minute)
    assert (await db.find_token("a" * 64)).last_used_at == T0
    await db.touch_token("tok_1", T0 + 2 * minute, T0 + minute)
    assert (await db.find_token("a" * 64)).last_used_at == T0 + 2 * minute
