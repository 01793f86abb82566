"""Rate limits per destination host: the operator's and the accounts' (`docs/howto/rate-limits.md`).

A limit belongs to a destination host (`urls.endpoint_key`, scheme://host:port), since it protects the receiver's
gateway, and every account's callbacks there are paced by it. There is at most one per host. The operator (an
admin token, the CLI) sets, changes and removes any. An account (a customer token) may set one only on a host its
own callbacks go to and no other account's do, and change or remove only one it set itself: a limit set by the
operator or by another account stays as it is (403), and so does a host another account's callbacks go to (a
limit there would slow that account down: the operator decides). A limit can only slow delivery down, never
speed it up beyond what the lanes allow.
"""

from __future__ import annotations

from dlrhub import store
from dlrhub.core import chars, control, errors, urls
from dlrhub.services import audit
from dlrhub.services import hub as hub_

#: The highest rate a limit may have, in requests a second, and the largest burst.
MAX_RATE = 10_000.0
MAX_BURST = 10_000
#: `set_by` of the operator's limits.
OPERATOR = "operator"


def limit_json(limit: control.EndpointLimit) -> dict[str, object]:
    """A limit as the API shows it."""
    return {
        "endpoint": limit.endpoint,
        "rate_per_s": limit.rate_per_s,
        "burst": limit.burst,
        "set_by": limit.set_by,
        "updated_at": limit.updated_at,
    }


def _owner(account_id: str | None) -> str:
    return OPERATOR if account_id is None else f"account:{account_id}"


def destination(url: str) -> str:
    """The host a URL (or `scheme://host:port`) is sent to. Raises errors.InvalidInput."""
    if "://" not in url or not url.startswith(("http://", "https://")):
        raise errors.InvalidInput("endpoint", "must be an http(s) URL")
    problem = chars.id_fault(url)
    if problem is not None:  # a NUL failed the store's read on PostgreSQL with a bare 500
        raise errors.InvalidInput("endpoint", problem)
    return urls.endpoint_key(url)


async def _check_account(
    hub: hub_.Hub, account_id: str, endpoint: str, existing: control.EndpointLimit | None
) -> None:
    if existing is not None and existing.set_by != _owner(account_id):
        raise errors.Forbidden(f"the limit on {endpoint} was set by someone else; ask the operator")
    used = await hub.store.find_callbacks(
        store.CallbackFilter(account_id=account_id, endpoint=endpoint, limit=1)
    )
    if not used:
        raise errors.Forbidden(f"your account has no callbacks to {endpoint}")
    if await hub.store.endpoint_shared(endpoint, account_id):
        # A limit paces every account's callbacks to the host: one account may not slow down another's.
        raise errors.Forbidden(f"other accounts' callbacks go to {endpoint} too; ask the operator")


async def set_limit(
    hub: hub_.Hub,
    actor: str,
    url: str,
    rate_per_s: float,
    burst: int | None = None,
    *,
    account_id: str | None = None,
) -> control.EndpointLimit:
    """Set the limit of `url`'s host: `rate_per_s` a second after a first `burst` (default: the rate, at least
    1). `account_id` is a customer's account (None: the operator). Raises InvalidInput, Forbidden."""
    if not 0 < rate_per_s <= MAX_RATE:
        raise errors.InvalidInput("rate_per_s", f"must be above 0 and at most {MAX_RATE:g} a second")
    burst = max(1, int(rate_per_s)) if burst is None else burst
    if not 1 <= burst <= MAX_BURST:
        raise errors.InvalidInput("burst", f"must be 1 to {MAX_BURST}")
    endpoint = destination(url)
    if account_id is not None:
        await _check_account(hub, account_id, endpoint, await hub.store.get_endpoint_limit(endpoint))
    limit = control.EndpointLimit(endpoint, float(rate_per_s), burst, _owner(account_id), hub.clock())
    await hub.store.put_endpoint_limit(limit)
    details = {"rate_per_s": limit.rate_per_s, "burst": burst, "set_by": limit.set_by}
    await audit.record(hub, actor, action="endpoint_limit.set", target=endpoint, details=details)
    return limit


async def listing(hub: hub_.Hub, account_id: str | None = None) -> list[control.EndpointLimit]:
    """Every limit (the operator), or those an account set itself."""
    found = await hub.store.list_endpoint_limits()
    return found if account_id is None else [lim for lim in found if lim.set_by == _owner(account_id)]


async def remove(
    hub: hub_.Hub, actor: str, url: str, *, account_id: str | None = None
) -> control.EndpointLimit:
    """Remove the limit of `url`'s host; return it. Raises NotFound, Forbidden (a customer's account did not set
    it)."""
    endpoint = destination(url)
    existing = await hub.store.get_endpoint_limit(endpoint)
    if existing is None:
        raise errors.NotFound(f"no limit on {endpoint}")
    if account_id is not None and existing.set_by != _owner(account_id):
        raise errors.Forbidden(f"the limit on {endpoint} was set by someone else; ask the operator")
    await hub.store.delete_endpoint_limit(endpoint)
    await audit.record(
        hub, actor, action="endpoint_limit.remove", target=endpoint, details=limit_json(existing)
    )
    return existing
