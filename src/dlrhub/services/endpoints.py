"""Endpoint health for operators: list accounts' endpoints by state with their recent failures; pause, resume, reset.

An endpoint is one account's callback URL without its query (`urls.health_key`: `acc_x:https://host:443/path`):
the breaker, and an operator, pause and disable it alone, never another account's endpoint on the same host. Every
operator's change is stored with `put_endpoints(..., overrule=True)`, since only an operator may end or shorten a
pause, and moves that endpoint's backlog with it (a pause defers it, a resume or reset brings it back), by health
key. A running dispatcher re-reads an endpoint's health within `endpoint_cache_s` (`workers.dispatch_cache`), and
the store keeps an operator's pause even against a dispatcher whose view predates it. Log lines name an endpoint
by its `urls.health_label` (customers put tokens in paths); the audit log keeps the full key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from dlrhub.core import breaker, errors, models, urls
from dlrhub.services import audit
from dlrhub.services import hub as hub_

log = logging.getLogger(__name__)

#: The longest pause an operator may set (an endpoint meant to stay shut is better disabled).
MAX_PAUSE = dt.timedelta(days=30)
#: The longest reason the audit log keeps.
MAX_REASON = 500


async def listing(
    hub: hub_.Hub, states: tuple[models.EndpointState, ...] = (), *, account_id: str | None = None
) -> list[models.Endpoint]:
    """Endpoints the dispatcher has judged (healthy ones appear once they have failed), of every account or of
    `account_id`."""
    return await hub.store.list_endpoints(states, account_id=account_id)


async def resolve(hub: hub_.Hub, endpoint: str, account_id: str | None = None) -> str:
    """The health key `endpoint` names, with `account_id` if given.

    `endpoint` is a health key as listed (`acc_x:https://host:443/path`), or a callback URL (its query and
    fragment ignored, read as `urls.health_target` reads it). A URL with `account_id` names that account's
    endpoint; a URL alone names the one stored endpoint at that URL, whichever account's it is. Raises
    errors.NotFound when nothing stored matches (or a key's account is not `account_id`), errors.Conflict
    when a URL alone matches several accounts' endpoints (name the account).
    """
    owner, target = urls.split_health_key(endpoint)
    if owner:
        if account_id is not None and account_id != owner:
            raise errors.NotFound(f"no endpoint {endpoint!r} of account {account_id!r}")
        return urls.health_key(owner, target)
    if account_id is not None:
        return urls.health_key(account_id, target)
    target = urls.health_target(target)
    found = [
        e.endpoint for e in await hub.store.list_endpoints() if urls.split_health_key(e.endpoint)[1] == target
    ]
    if not found:
        raise errors.NotFound(f"no endpoint {target!r}")
    if len(found) > 1:
        raise errors.Conflict(f"{len(found)} accounts have an endpoint {target!r}: name the account")
    return found[0]


async def recent_failures(
    hub: hub_.Hub, endpoints: list[str], per_endpoint: int = 5
) -> dict[str, list[models.Attempt]]:
    """For each health key, the last failed attempts to it (one per callback, newest first; bounded)."""
    return await hub.store.recent_failures(endpoints, per_endpoint)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise errors.InvalidInput("reason", "required (it goes to the audit log)")
    return reason[:MAX_REASON]


async def _stored(hub: hub_.Hub, key: str) -> models.Endpoint | None:
    return (await hub.store.get_endpoints([key])).get(key)


def _log(event: str, key: str, actor: str, text: str, *args: Any, **extra: Any) -> None:
    """One line naming the endpoint by its label and account (never its full path: customers put tokens there)."""
    label, owner = urls.health_label(key), urls.split_health_key(key)[0]
    log.info(
        "endpoint %s of account %s " + text,
        *(label, owner, *args),
        extra={"event": event, "endpoint": label, "account_id": owner, "actor": actor, **extra},
    )


async def pause(
    hub: hub_.Hub,
    endpoint: str,
    until: dt.datetime,
    actor: str,
    reason: str,
    *,
    account_id: str | None = None,
) -> models.Endpoint:
    """Hold every callback to one account's endpoint until `until` (at most MAX_PAUSE ahead), in the audit log
    under `actor` with `reason` (required). `endpoint` (and `account_id`) are read as `resolve` reads them; an
    endpoint never judged may be paused too, named with its account (a key, or a URL with `account_id`). A
    disabled one may not (reset it). Other accounts' endpoints on the same host keep sending.

    Raises errors.InvalidInput (no reason, a time past or too far), errors.NotFound (a URL alone that no stored
    endpoint has), errors.UnknownAccount, errors.Conflict (disabled, or a URL alone several accounts share). The
    failure count is kept: when the pause ends, the next attempt is a probe, as after the breaker's own pauses.
    """
    reason = _reason(reason)
    now = hub.clock()
    if until.tzinfo is None:
        raise errors.InvalidInput("until", "needs a time zone")
    if until <= now or until - now > MAX_PAUSE:
        raise errors.InvalidInput("until", f"a pause ends after now and within {MAX_PAUSE.days} days")
    try:
        key = await resolve(hub, endpoint, account_id)
    except errors.NotFound as exc:
        raise errors.NotFound(f"{exc}: name its account to pause an endpoint never judged") from exc
    found = await _stored(hub, key)
    if found is None:
        await hub.store.get_account(urls.split_health_key(key)[0])
        found = breaker.fresh(key, now)
    if found.state is models.EndpointState.DISABLED:
        raise errors.Conflict(f"{key} is disabled: reset it first")
    paused = dataclasses.replace(found, state=models.EndpointState.PAUSED, paused_until=until, updated_at=now)
    await hub.store.put_endpoints([paused], overrule=True)
    deferred = await hub.store.defer_endpoint_callbacks(key, until, now)
    details = {"was": found.state.value, "until": until.isoformat(), "deferred": deferred, "reason": reason}
    await audit.record(hub, actor, action="endpoint.pause", target=key, details=details)
    stamp = until.isoformat()
    _log(
        "endpoint.pause",
        key,
        actor,
        "paused until %s by %s (%d callbacks deferred)",
        stamp,
        actor,
        deferred,
        until=stamp,
    )
    return paused


async def resume(
    hub: hub_.Hub, endpoint: str, actor: str, reason: str, *, account_id: str | None = None
) -> models.Endpoint:
    """End one account's endpoint's pause now (the operator's or the breaker's): its next attempt is a probe,
    whose success makes it healthy and whose failure pauses it again; the callbacks held for the pause are due now.
    `endpoint` (and `account_id`) are read as `resolve` reads them.

    Raises errors.InvalidInput (no reason), errors.NotFound (never stored), errors.Conflict (not paused, or a URL
    alone several accounts share).
    """
    reason = _reason(reason)
    key = await resolve(hub, endpoint, account_id)
    found = await _stored(hub, key)
    if found is None:
        raise errors.NotFound(f"no endpoint {key!r}")
    if found.state is not models.EndpointState.PAUSED:
        raise errors.Conflict(f"{key} is {found.state.value}, not paused")
    now = hub.clock()
    held_until = found.paused_until or now
    resumed = dataclasses.replace(found, paused_until=now, updated_at=now)
    await hub.store.put_endpoints([resumed], overrule=True)
    moved = await hub.store.advance_endpoint_callbacks(key, held_until, now) if held_until > now else 0
    details = {"was_until": held_until.isoformat(), "released": moved, "reason": reason}
    await audit.record(hub, actor, action="endpoint.resume", target=key, details=details)
    _log("endpoint.resume", key, actor, "resumed by %s (%d callbacks due now)", actor, moved)
    return resumed


async def reset(
    hub: hub_.Hub, endpoint: str, actor: str = "system", reason: str = "", *, account_id: str | None = None
) -> models.Endpoint:
    """Make a paused or disabled endpoint healthy again, in the audit log under `actor` with `reason`.

    `endpoint` (and `account_id`) are read as `resolve` reads them, so `https://Example.com/dr` with account
    `acc_x` names `acc_x:https://example.com:443/dr`. Raises errors.NotFound if it was never stored, and
    errors.Conflict for a URL alone that several accounts' endpoints share. Callbacks held by a pause are due
    now; callbacks already cancelled stay cancelled (replay them to send them again).
    """
    key = await resolve(hub, endpoint, account_id)
    found = await _stored(hub, key)
    if found is None:
        raise errors.NotFound(f"no endpoint {key!r}")
    now = hub.clock()
    healthy = breaker.reset(found, now)
    await hub.store.put_endpoints([healthy], overrule=True)
    if found.paused_until is not None and found.paused_until > now:
        await hub.store.advance_endpoint_callbacks(key, found.paused_until, now)
    details = {"was": found.state.value, "reason": reason[:MAX_REASON]}
    await audit.record(hub, actor, action="endpoint.reset", target=key, details=details)
    was = found.state.value
    _log("endpoint.reset", key, actor, "reset to healthy by %s (was %s)", actor, was, was=was)
    return healthy
