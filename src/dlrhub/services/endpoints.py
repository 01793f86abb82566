"""Endpoint health for operators: list destinations by state with their recent failures; pause, resume, reset.

Every change is stored with `put_endpoints(..., overrule=True)`, since only an operator may end or shorten a
pause, and moves the destination's backlog with it (a pause defers it, a resume or reset brings it back). A
running dispatcher re-reads a destination's health within `endpoint_cache_s` (`workers.dispatch_cache`), and the
store keeps an operator's pause even against a dispatcher whose view predates it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from dlrhub.core import breaker, errors, models, urls
from dlrhub.services import audit
from dlrhub.services import hub as hub_

log = logging.getLogger(__name__)

#: The longest pause an operator may set (a destination meant to stay shut is better disabled).
MAX_PAUSE = dt.timedelta(days=30)
#: The longest reason the audit log keeps.
MAX_REASON = 500


async def listing(hub: hub_.Hub, states: tuple[models.EndpointState, ...] = ()) -> list[models.Endpoint]:
    """Destinations the dispatcher has judged (healthy ones appear once they have failed)."""
    return await hub.store.list_endpoints(states)


async def recent_failures(
    hub: hub_.Hub, endpoints: list[str], per_endpoint: int = 5
) -> dict[str, list[models.Attempt]]:
    """For each destination, the last failed attempts to it (one per callback, newest first; bounded)."""
    return await hub.store.recent_failures(endpoints, per_endpoint)


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise errors.InvalidInput("reason", "required (it goes to the audit log)")
    return reason[:MAX_REASON]


async def _stored(hub: hub_.Hub, endpoint: str) -> models.Endpoint | None:
    return (await hub.store.get_endpoints([endpoint])).get(endpoint)


async def pause(hub: hub_.Hub, endpoint: str, until: dt.datetime, actor: str, reason: str) -> models.Endpoint:
    """Hold every callback to `endpoint` until `until` (at most MAX_PAUSE ahead), in the audit log under `actor`
    with `reason` (required). A destination never judged may be paused too; a disabled one may not (reset it).

    Raises errors.InvalidInput (no reason, a time past or too far), errors.Conflict (disabled). The failure count
    is kept: when the pause ends, the next attempt is a probe, as after the breaker's own pauses.
    """
    reason = _reason(reason)
    endpoint = urls.endpoint_key(endpoint)
    now = hub.clock()
    if until.tzinfo is None:
        raise errors.InvalidInput("until", "needs a time zone")
    if until <= now or until - now > MAX_PAUSE:
        raise errors.InvalidInput("until", f"a pause ends after now and within {MAX_PAUSE.days} days")
    found = await _stored(hub, endpoint) or breaker.fresh(endpoint, now)
    if found.state is models.EndpointState.DISABLED:
        raise errors.Conflict(f"{endpoint} is disabled: reset it first")
    paused = dataclasses.replace(found, state=models.EndpointState.PAUSED, paused_until=until, updated_at=now)
    await hub.store.put_endpoints([paused], overrule=True)
    deferred = await hub.store.defer_endpoint_callbacks(endpoint, until, now)
    details = {"was": found.state.value, "until": until.isoformat(), "deferred": deferred, "reason": reason}
    await audit.record(hub, actor, action="endpoint.pause", target=endpoint, details=details)
    log.info(
        "endpoint %s paused until %s by %s (%d callbacks deferred)",
        *(endpoint, until.isoformat(), actor, deferred),
        extra={"event": "endpoint.pause", "endpoint": endpoint, "actor": actor, "until": until.isoformat()},
    )
    return paused


async def resume(hub: hub_.Hub, endpoint: str, actor: str, reason: str) -> models.Endpoint:
    """End `endpoint`'s pause now (the operator's or the breaker's): its next attempt is a probe, whose success
    makes it healthy and whose failure pauses it again; the callbacks held for the pause are due now.

    Raises errors.InvalidInput (no reason), errors.NotFound (never stored), errors.Conflict (not paused).
    """
    reason = _reason(reason)
    endpoint = urls.endpoint_key(endpoint)
    found = await _stored(hub, endpoint)
    if found is None:
        raise errors.NotFound(f"no endpoint {endpoint!r}")
    if found.state is not models.EndpointState.PAUSED:
        raise errors.Conflict(f"{endpoint} is {found.state.value}, not paused")
    now = hub.clock()
    held_until = found.paused_until or now
    resumed = dataclasses.replace(found, paused_until=now, updated_at=now)
    await hub.store.put_endpoints([resumed], overrule=True)
    moved = await hub.store.advance_endpoint_callbacks(endpoint, held_until, now) if held_until > now else 0
    details = {"was_until": held_until.isoformat(), "released": moved, "reason": reason}
    await audit.record(hub, actor, action="endpoint.resume", target=endpoint, details=details)
    log.info(
        "endpoint %s resumed by %s (%d callbacks due now)",
        *(endpoint, actor, moved),
        extra={"event": "endpoint.resume", "endpoint": endpoint, "actor": actor},
    )
    return resumed


async def reset(hub: hub_.Hub, endpoint: str, actor: str = "system", reason: str = "") -> models.Endpoint:
    """Make a paused or disabled destination healthy again, in the audit log under `actor` with `reason`.
    Raises errors.NotFound if it was never stored.

    `endpoint` is read as `urls.endpoint_key` reads it, so `https://Example.com/` names `https://example.com:443`.
    Callbacks held by a pause are due now; callbacks already cancelled stay cancelled (replay them).
    """
    endpoint = urls.endpoint_key(endpoint)
    found = await _stored(hub, endpoint)
    if found is None:
        raise errors.NotFound(f"no endpoint {endpoint!r}")
    now = hub.clock()
    healthy = breaker.reset(found, now)
    await hub.store.put_endpoints([healthy], overrule=True)
    if found.paused_until is not None and found.paused_until > now:
        await hub.store.advance_endpoint_callbacks(endpoint, found.paused_until, now)
    details = {"was": found.state.value, "reason": reason[:MAX_REASON]}
    await audit.record(hub, actor, action="endpoint.reset", target=endpoint, details=details)
    log.info(
        "endpoint %s reset to healthy by %s (was %s)",
        *(endpoint, actor, found.state.value),
        extra={"event": "endpoint.reset", "endpoint": endpoint, "actor": actor, "was": found.state.value},
    )
    return healthy
