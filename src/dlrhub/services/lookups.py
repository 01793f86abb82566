"""Accounts, apps and OAs as the front doors read them: each found record reused for a moment.

A send or a pull would otherwise spend as much on these reads as on its own work (bench/ingest.py). A change (a
locked account, a rotated key, a deactivated OA, a new quotation) reaches the doors within TTL_S. Balances are
never taken from here: the store reads and debits them inside the accept's own transaction.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dlrhub import store
from dlrhub.core import models
from dlrhub.services import hub as hub_

#: Seconds a found record is reused (misses are not kept: a new account works at once).
TTL_S = 2.0
#: Entries kept per store before the cache is emptied (bounds memory under a flood of keys).
MAX_ENTRIES = 10_000

T = TypeVar("T")
_caches: weakref.WeakKeyDictionary[store.Accounts, dict[tuple[str, str], tuple[float, Any]]] = (
    weakref.WeakKeyDictionary()
)


async def _cached(
    hub: hub_.Hub, kind: str, key: str, load: Callable[[store.Accounts], Awaitable[T | None]]
) -> T | None:
    db: store.Accounts = hub.store
    cache = _caches.get(db)
    if cache is None:
        cache = _caches[db] = {}
    now = hub.clock().timestamp()
    hit = cache.get((kind, key))
    if hit is not None and hit[0] > now:
        found: T = hit[1]
        return found
    value = await load(db)
    if value is not None:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        cache[(kind, key)] = (now + TTL_S, value)
    return value


def forget(hub: hub_.Hub) -> None:
    """Drop every record reused for `hub`'s store: a change made by this process reaches its doors at once."""
    _caches.pop(hub.store, None)


async def account_by_esms_key(hub: hub_.Hub, api_key: str) -> models.Account | None:
    """The account whose eSMS ApiKey this is (its SecretKey still to be checked), or None."""
    return await _cached(hub, "esms", api_key, lambda db: db.find_account_by_esms_key(api_key))


async def account_by_nx_key(hub: hub_.Hub, access_key: str) -> models.Account | None:
    """The account whose NXCloud accessKey this is (the signature still to be checked), or None."""
    return await _cached(hub, "nxcloud", access_key, lambda db: db.find_account_by_nx_key(access_key))


async def app(hub: hub_.Hub, appkey: str) -> models.App | None:
    """The NXCloud app `appkey` (of whichever account: the caller checks), or None."""
    return await _cached(hub, "app", appkey, lambda db: db.get_app(appkey))


async def oa(hub: hub_.Hub, oa_id: str) -> models.OA | None:
    """The OA `oa_id` (of whichever account: the caller checks), or None."""
    return await _cached(hub, "oa", oa_id, lambda db: db.get_oa(oa_id))
