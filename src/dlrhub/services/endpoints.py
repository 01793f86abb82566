"""Endpoint health for operators: list destinations by state, and re-enable one."""

from __future__ import annotations

import logging

from dlrhub.core import breaker, errors, models, urls
from dlrhub.services import audit
from dlrhub.services import hub as hub_

log = logging.getLogger(__name__)


async def listing(hub: hub_.Hub, states: tuple[models.EndpointState, ...] = ()) -> list[models.Endpoint]:
    """Destinations the dispatcher has judged (healthy ones appear once they have failed)."""
    return await hub.store.list_endpoints(states)


async def reset(hub: hub_.Hub, endpoint: str, actor: str = "system", reason: str = "") -> models.Endpoint:
    """Make a paused or disabled destination healthy again, in the audit log under `actor` with `reason`.
    Raises errors.NotFound if it was never stored.

    `endpoint` is read as `urls.endpoint_key` reads it, so `https://Example.com/` names `https://example.com:443`.
    Callbacks already cancelled stay cancelled; replay them to send them again.
    """
    endpoint = urls.endpoint_key(endpoint)
    found = (await hub.store.get_endpoints([endpoint])).get(endpoint)
    if found is None:
        raise errors.NotFound(f"no endpoint {endpoint!r}")
    healthy = breaker.reset(found, hub.clock())
    await hub.store.put_endpoints([healthy])
    details = {"was": found.state.value, "reason": reason[:500]}
    await audit.record(hub, actor, action="endpoint.reset", target=endpoint, details=details)
    log.info(
        "endpoint %s reset to healthy by %s (was %s)",
        *(endpoint, actor, found.state.value),
        extra={"event": "endpoint.reset", "endpoint": endpoint, "actor": actor, "was": found.state.value},
    )
    return healthy
