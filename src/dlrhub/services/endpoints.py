"""Endpoint health for operators: list accounts' endpoints by state, and re-enable one.

An endpoint is one account's callback URL without its query (`urls.health_key`: `acc_x:https://host:443/path`):
the breaker pauses and disables it alone, never another account's endpoint on the same host.
"""

from __future__ import annotations

import logging

from dlrhub.core import breaker, errors, models, urls
from dlrhub.services import audit
from dlrhub.services import hub as hub_

log = logging.getLogger(__name__)


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


async def reset(
    hub: hub_.Hub, endpoint: str, actor: str = "system", reason: str = "", *, account_id: str | None = None
) -> models.Endpoint:
    """Make a paused or disabled endpoint healthy again, in the audit log under `actor` with `reason`.

    `endpoint` (and `account_id`) are read as `resolve` reads them, so `https://Example.com/dr` with account
    `acc_x` names `acc_x:https://example.com:443/dr`. Raises errors.NotFound if it was never stored, and
    errors.Conflict for a URL alone that several accounts' endpoints share. Callbacks already cancelled stay
    cancelled; replay them to send them again.
    """
    key = await resolve(hub, endpoint, account_id)
    found = (await hub.store.get_endpoints([key])).get(key)
    if found is None:
        raise errors.NotFound(f"no endpoint {key!r}")
    healthy = breaker.reset(found, hub.clock())
    await hub.store.put_endpoints([healthy])
    details = {"was": found.state.value, "reason": reason[:500]}
    await audit.record(hub, actor, action="endpoint.reset", target=key, details=details)
    # The line names the endpoint by its label: customers put tokens in paths.
    label, owner = urls.health_label(key), urls.split_health_key(key)[0]
    log.info(
        "endpoint %s of account %s reset to healthy by %s (was %s)",
        *(label, owner, actor, found.state.value),
        extra={
            "event": "endpoint.reset",
            "endpoint": label,
            "account_id": owner,
            "actor": actor,
            "was": found.state.value,
        },
    )
    return healthy
