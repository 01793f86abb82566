"""Accounts, apps and OAs as the front doors read them: each found record reused for a moment.

A send or a pull would otherwise spend as much on these reads as on its own work (bench/ingest.py). A change (a
locked account, a rotated key, a deactivated OA, a new quotation) reaches the doors within TTL_S (at once in the
process that made it: see `forget`). Balances are never taken from here: the store reads and debits them inside the
accept's own transaction.

A customer key that is not an account's current one may be a retired pair still in its overlap (`services.keys`):
the account is then found with that pair in place of the current one, so the caller's check of the secret (eSMS)
or of the signature (NXCloud) uses the secret of the key presented. Once its `valid_until` passes, a retired key is
refused like an unknown one, cached or not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from dlrhub import store
from dlrhub.core import control, errors, models, templates
from dlrhub.services import hub as hub_

#: Seconds a found record is reused (misses are not kept: a new account works at once).
TTL_S = 2.0
#: TTL_S as a span of time: an entry keeps the datetime it expires at, compared with the clock's reading as it is
#: (a `timestamp()` per look-up cost more than the look-up's dict search).
_TTL = dt.timedelta(seconds=TTL_S)
#: Entries kept per store before the cache is emptied (bounds memory under a flood of keys).
MAX_ENTRIES = 10_000

T = TypeVar("T")
_caches: weakref.WeakKeyDictionary[store.Store, dict[tuple[str, str], tuple[dt.datetime, Any]]] = (
    weakref.WeakKeyDictionary()
)
#: The reads in flight, per store: the requests that miss the same record together share one read.
_loading: weakref.WeakKeyDictionary[store.Store, dict[tuple[str, str], asyncio.Future[Any]]] = (
    weakref.WeakKeyDictionary()
)
#: An account found by a customer key, and until when that key works (None: the current pair, for good).
_Found = tuple[models.Account, dt.datetime | None]


def forget(hub: hub_.Hub) -> None:
    """Drop every record this process keeps for the hub's store: an admin change is seen at once here (other
    processes see it within TTL_S)."""
    _caches.pop(hub.store, None)
    _loading.pop(hub.store, None)


async def _cached(
    hub: hub_.Hub,
    kind: str,
    key: str,
    load: Callable[[store.Store], Awaitable[T | None]],
    *,
    fresh: bool = False,
) -> T | None:
    db = hub.store
    cache = _caches.get(db)
    if cache is None:
        cache = _caches[db] = {}
    now = hub.clock()
    hit = cache.get((kind, key))
    if hit is not None and hit[0] > now and not fresh:
        found: T = hit[1]
        return found
    value = await load(db) if fresh else await _load_once(db, (kind, key), load)
    if value is not None:
        if len(cache) >= MAX_ENTRIES:
            cache.clear()
        cache[(kind, key)] = (now + _TTL, value)
    return value


async def _load_once(
    db: store.Store, key: tuple[str, str], load: Callable[[store.Store], Awaitable[T | None]]
) -> T | None:
    """`load(db)`, or the same read already in flight: when a record expires under load, the requests that miss
    it together cost one read, not one each."""
    loads = _loading.get(db)
    if loads is None:
        loads = _loading[db] = {}
    pending = loads.get(key)
    if pending is None:
        pending = loads[key] = asyncio.ensure_future(load(db))

        def done(task: asyncio.Future[Any]) -> None:
            if loads.get(key) is task:
                del loads[key]
            if not task.cancelled():
                task.exception()  # retrieved: every waiter may have gone

        pending.add_done_callback(done)
    # A waiter that goes away leaves the read to the others.
    found: T | None = await asyncio.shield(pending)
    return found


async def _load_by_key(db: store.Store, kind: control.KeyKind, key: str) -> _Found | None:
    """The account whose current `kind` key this is; else the one whose retired pair it is, with that pair."""
    if kind is control.KeyKind.ESMS:
        current = await db.find_account_by_esms_key(key)
    else:
        current = await db.find_account_by_nx_key(key)
    if current is not None:
        return current, None
    retired = await db.find_retired_key(kind, key)
    if retired is None:
        return None
    account = await db.get_account(retired.account_id)
    if kind is control.KeyKind.ESMS:
        account = dataclasses.replace(account, esms_api_key=retired.key, esms_secret_key=retired.secret)
    else:
        account = dataclasses.replace(account, nx_access_key=retired.key, nx_access_secret=retired.secret)
    return account, retired.valid_until


async def _by_key(hub: hub_.Hub, kind: control.KeyKind, key: str, fresh: bool) -> models.Account | None:
    found = await _cached(hub, kind.value, key, lambda db: _load_by_key(db, kind, key), fresh=fresh)
    if found is None:
        return None
    account, valid_until = found
    if valid_until is not None and hub.clock() >= valid_until:
        return None
    return account


async def account_by_esms_key(hub: hub_.Hub, api_key: str, *, fresh: bool = False) -> models.Account | None:
    """The account this eSMS ApiKey opens, with the pair it belongs to (its SecretKey still to be checked), or
    None. `fresh` reads the store even when a record is cached (a balance about to be refused)."""
    return await _by_key(hub, control.KeyKind.ESMS, api_key, fresh)


async def account_by_nx_key(hub: hub_.Hub, access_key: str) -> models.Account | None:
    """The account this NXCloud accessKey opens, with the pair it belongs to (the signature still to be checked
    against its accessSecret), or None."""
    return await _by_key(hub, control.KeyKind.NXCLOUD, access_key, False)


async def app(hub: hub_.Hub, appkey: str) -> models.App | None:
    """The NXCloud app `appkey` (of whichever account: the caller checks), or None."""
    return await _cached(hub, "app", appkey, lambda db: db.get_app(appkey))


async def oa(hub: hub_.Hub, oa_id: str) -> models.OA | None:
    """The OA `oa_id` (of whichever account: the caller checks), or None."""
    return await _cached(hub, "oa", oa_id, lambda db: db.get_oa(oa_id))


async def account(hub: hub_.Hub, account_id: str) -> models.Account | None:
    """The account `account_id`, or None."""

    async def load(db: store.Store) -> models.Account | None:
        try:
            return await db.get_account(account_id)
        except errors.UnknownAccount:
            return None

    return await _cached(hub, "account", account_id, load)


async def token(hub: hub_.Hub, token_hash: str) -> control.Token | None:
    """The API token with this digest (revoked or not: the caller checks), or None."""
    tokens: store.Tokens = hub.store
    return await _cached(hub, "token", token_hash, lambda _: tokens.find_token(token_hash))


async def template_checker(hub: hub_.Hub, oa_id: str, template_id: str) -> templates.Checker:
    """The compiled check of the OA's template `template_id` (`templates.NO_CHECK` when none is stored).
    Kept like the other records, the absence of one included, so a send costs no read.
    """

    async def load(db: store.Accounts) -> templates.Checker:
        found: store.Templates = hub.store
        return templates.compile_checker(await found.get_template(oa_id, template_id))

    found = await _cached(hub, "template", f"{oa_id}\x00{template_id}", load)
    return found or templates.NO_CHECK
