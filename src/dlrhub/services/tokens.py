"""Named API tokens: create, list and revoke them, and find who a request's bearer token is.

A request's token is looked up by its digest and the stored row reused for up to `lookups.TTL_S` seconds, so a
revocation reaches every process within that time (at once in the process that revoked it). `last_used_at` is
written at most once a minute per token and process (TOUCH_EVERY), not once a request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hmac
import re
import uuid
import weakref

from dlrhub import store
from dlrhub.core import control, errors, models, scopes
from dlrhub.services import audit, lookups
from dlrhub.services import hub as hub_

#: How stale `last_used_at` may get: a request writes it only when it is older than this.
TOUCH_EVERY = dt.timedelta(minutes=1)
#: A token name: what the audit log calls the token's actions.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
#: The names the system acts under, which no token may take.
RESERVED = frozenset({"bootstrap", "cli", "system"})

_touched: weakref.WeakKeyDictionary[store.Tokens, dict[str, float]] = weakref.WeakKeyDictionary()


@dataclasses.dataclass(frozen=True, slots=True)
class NewToken:
    """A token just made: the stored row, and the token itself, shown this once."""

    token: control.Token
    secret: str


def token_json(token: control.Token) -> dict[str, object]:
    """A token as listings show it: no secret, no digest, only its first characters."""
    return {
        "id": token.id,
        "name": token.name,
        "kind": token.kind.value,
        "account_id": token.account_id,
        "prefix": token.prefix + "…",
        "created_at": token.created_at.isoformat(),
        "created_by": token.created_by,
        "last_used_at": None if token.last_used_at is None else token.last_used_at.isoformat(),
        "revoked_at": None if token.revoked_at is None else token.revoked_at.isoformat(),
    }


async def create(
    hub: hub_.Hub, actor: str, name: str, kind: control.TokenKind, account_id: str | None = None
) -> NewToken:
    """Make a token named `name` of `kind` (a customer token is bound to `account_id`) and audit it.

    Raises errors.InvalidInput on a bad name or a customer token without an account (or another kind with
    one), errors.UnknownAccount when the account does not exist, errors.Conflict when the name is taken.
    """
    if not NAME.match(name) or name.lower() in RESERVED:
        raise errors.InvalidInput(
            "name", "1 to 64 letters, digits, '.', '_', '@' or '-'; not a reserved name"
        )
    if (kind is control.TokenKind.CUSTOMER) != (account_id is not None):
        raise errors.InvalidInput("account_id", "a customer token needs one; other kinds take none")
    if account_id is not None:
        accounts: store.Accounts = hub.store
        await accounts.get_account(account_id)
    secret = scopes.mint(kind)
    token = control.Token(
        id="tok_" + uuid.uuid4().hex[:16],
        name=name,
        kind=kind,
        account_id=account_id,
        token_hash=scopes.digest(secret),
        prefix=scopes.shown(secret),
        created_at=hub.clock().replace(microsecond=0),
        created_by=actor,
    )
    db: store.Tokens = hub.store
    await db.create_token(token)
    details = {"name": name, "kind": kind.value, "account_id": account_id, "prefix": token.prefix}
    await audit.record(hub, actor, action="token.create", target=token.id, details=details)
    return NewToken(token, secret)


async def listing(hub: hub_.Hub) -> list[control.Token]:
    """Every token, revoked ones too, oldest first."""
    db: store.Tokens = hub.store
    return await db.list_tokens()


async def has_live_admin(hub: hub_.Hub) -> bool:
    """Whether a named admin token is live (then `dlrhub serve` makes no bootstrap token of its own)."""
    return any(t.kind is control.TokenKind.ADMIN and t.revoked_at is None for t in await listing(hub))


async def revoke(hub: hub_.Hub, actor: str, token_id: str) -> control.Token:
    """Revoke a token now (this process stops taking it at once, others within `lookups.TTL_S`) and audit it;
    the token as stored after. Revoking a revoked token changes nothing. Raises errors.UnknownToken."""
    db: store.Tokens = hub.store
    token, changed = await db.revoke_token(token_id, hub.clock().replace(microsecond=0))
    lookups.forget(hub)
    if changed:
        details = {"name": token.name, "kind": token.kind.value, "prefix": token.prefix}
        await audit.record(hub, actor, action="token.revoke", target=token.id, details=details)
    return token


async def authenticate(hub: hub_.Hub, presented: str) -> scopes.Principal:
    """The principal a request's bearer token acts as: the bootstrap admin for `DLRHUB_ADMIN_TOKEN`, else the
    named token's. Raises errors.NotAuthorized for an unknown or revoked token."""
    bootstrap = hub.settings.admin_token
    if bootstrap and hmac.compare_digest(presented.encode(), bootstrap.encode()):
        return scopes.BOOTSTRAP
    if not presented.startswith(scopes.PREFIX):
        raise errors.NotAuthorized()
    token = await lookups.token(hub, scopes.digest(presented))
    if token is None or token.revoked_at is not None:
        raise errors.NotAuthorized()
    if token.account_id is not None:
        # A deactivated account's tokens stop with it (a locked one may still read its own reports).
        owner = await lookups.account(hub, token.account_id)
        if owner is None or owner.status is models.AccountStatus.DEACTIVATED:
            raise errors.NotAuthorized()
    await _touch(hub, token)
    return scopes.principal(token)


async def _touch(hub: hub_.Hub, token: control.Token) -> None:
    """Record the use of `token`, at most once per TOUCH_EVERY in this process."""
    db: store.Tokens = hub.store
    now = hub.clock()
    stale_before = now - TOUCH_EVERY
    if token.last_used_at is not None and token.last_used_at >= stale_before:
        return
    touched = _touched.setdefault(db, {})
    last = touched.get(token.id)
    if last is not None and last >= stale_before.timestamp():
        return
    touched[token.id] = now.timestamp()
    await db.touch_token(token.id, now, stale_before)
