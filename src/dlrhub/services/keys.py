"""Rotating an account's credentials: customer key pairs with an overlap, and Standard Webhooks signing secrets.

A rotated eSMS or NXCloud pair works at once; the old pair is kept as a `control.RetiredKey` and keeps working until
its `valid_until`, then is refused like an unknown key (`services.lookups` reads it). Signing secrets are named by a
key id, a fingerprint that is safe to show; while several are live, each callback carries one signature per secret.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import re

from dlrhub import store
from dlrhub.core import control, errors, ids, models, signing
from dlrhub.services import audit, lookups
from dlrhub.services import hub as hub_

#: How long an old pair keeps working when the operator names no time.
DEFAULT_OVERLAP = dt.timedelta(hours=24)
#: The longest overlap accepted: a retired pair should not outlive the reason it was rotated.
MAX_OVERLAP = dt.timedelta(days=90)
#: How many times a change is retried when another one lands between its read and its write.
ATTEMPTS = 3
KEY_ID_PREFIX = "whk_"
_DURATION = re.compile(r"^(\d{1,7})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
#: What each kind's pair is called on the wire.
PAIR_NAMES = {
    control.KeyKind.ESMS: ("ApiKey", "SecretKey"),
    control.KeyKind.NXCLOUD: ("accessKey", "accessSecret"),
}


def parse_overlap(text: str) -> dt.timedelta:
    """A duration written `90s`, `30m`, `24h`, `7d` or a number of seconds (`0`: no overlap).

    Raises errors.InvalidInput.
    """
    found = _DURATION.match(text.strip().lower())
    if found is None:
        raise errors.InvalidInput("overlap", "write a whole number with s, m, h or d (e.g. 24h), or 0")
    return dt.timedelta(seconds=int(found[1]) * _UNITS[found[2]])


def hint(credential: str) -> str:
    """The last 4 characters of a credential, enough to tell two apart, never enough to use one."""
    return "…" + credential[-4:]


def key_id(secret: str) -> str:
    """A signing secret's stable key id: `whk_` and the first 8 hex digits of its SHA-256 (safe to show)."""
    return KEY_ID_PREFIX + hashlib.sha256(secret.encode()).hexdigest()[:8]


@dataclasses.dataclass(frozen=True, slots=True)
class Rotation:
    """A rotated customer pair: the new one (shown once) and until when the old one works."""

    kind: control.KeyKind
    account_id: str
    key: str
    secret: str
    old_key: str
    #: None when the old pair was refused at once.
    old_valid_until: dt.datetime | None

    def answer(self) -> dict[str, object]:
        """The new pair under its wire names (this holds a secret: show it once) and the old key's fate."""
        key_name, secret_name = PAIR_NAMES[self.kind]
        until = self.old_valid_until
        return {
            "account_id": self.account_id,
            "kind": self.kind.value,
            key_name: self.key,
            secret_name: self.secret,
            "old": {
                "key_hint": hint(self.old_key),
                "valid_until": None if until is None else until.isoformat(),
                "revoked": until is None,
            },
        }


def _new_pair(kind: control.KeyKind) -> tuple[str, str]:
    """A fresh pair, shaped as `accounts.create` makes them."""
    if kind is control.KeyKind.ESMS:
        return ids.token(16).upper(), ids.token(16).upper()
    return ids.token(8), ids.token(16)


def _changeable(account: models.Account) -> models.Account:
    """`account`, unless it is deactivated: nothing about it changes any more (errors.Conflict)."""
    if account.status is models.AccountStatus.DEACTIVATED:
        raise errors.Conflict(f"account {account.id!r} is deactivated")
    return account


def _current(account: models.Account, kind: control.KeyKind) -> tuple[str, str]:
    if kind is control.KeyKind.ESMS:
        return account.esms_api_key, account.esms_secret_key
    return account.nx_access_key, account.nx_access_secret


def _old_until(
    now: dt.datetime, old_valid_until: dt.datetime | None, overlap: dt.timedelta | None
) -> dt.datetime:
    if old_valid_until is not None and overlap is not None:
        raise errors.InvalidInput("overlap", "give old_valid_until or overlap, not both")
    if old_valid_until is not None:
        if old_valid_until.tzinfo is None:
            raise errors.InvalidInput(
                "old_valid_until", "needs a time zone (such as YYYY-MM-DDT12:00:00+07:00)"
            )
        if old_valid_until < now:
            raise errors.InvalidInput("old_valid_until", "is in the past")
        until = old_valid_until
    else:
        span = DEFAULT_OVERLAP if overlap is None else overlap
        if span < dt.timedelta(0):
            raise errors.InvalidInput("overlap", "must not be negative")
        until = now + span
    if until - now > MAX_OVERLAP:
        raise errors.InvalidInput("overlap", f"at most {MAX_OVERLAP.days} days")
    return until


async def rotate(
    hub: hub_.Hub,
    account_id: str,
    kind: control.KeyKind,
    actor: str,
    *,
    old_valid_until: dt.datetime | None = None,
    overlap: dt.timedelta | None = None,
) -> Rotation:
    """Give the account a new `kind` pair, working at once; the old one works until `old_valid_until`, or for
    `overlap` (DEFAULT_OVERLAP when neither is given; a zero overlap refuses it at once).

    Pairs retired before and already expired are dropped. Raises errors.UnknownAccount, errors.InvalidInput
    (both times given, a time in the past or without a zone, more than MAX_OVERLAP), errors.Conflict when the
    account is deactivated or other rotations of the account keep landing in between.
    """
    db: store.Store = hub.store
    now = hub.clock()
    until = _old_until(now, old_valid_until, overlap)
    for _ in range(ATTEMPTS):
        account = _changeable(await db.get_account(account_id))
        old_key, old_secret = _current(account, kind)
        key, secret = _new_pair(kind)
        retired = control.RetiredKey(kind, old_key, old_secret, account_id, until) if until > now else None
        if await db.rotate_customer_key(kind, account_id, old_key, key, secret, retired, now):
            break
    else:
        raise errors.Conflict("the account's keys changed meanwhile; try again")
    lookups.forget(hub)
    done = Rotation(kind, account_id, key, secret, old_key, None if retired is None else until)
    details = {
        "key_hint": hint(key),
        "old_key_hint": hint(old_key),
        "old_valid_until": None if done.old_valid_until is None else done.old_valid_until.isoformat(),
    }
    await audit.record(hub, actor, action=f"keys.rotate_{kind.value}", target=account_id, details=details)
    return done


async def key_status(hub: hub_.Hub, account_id: str) -> dict[str, object]:
    """The account's current key hints and its retired pairs (hints, until when, whether still live)."""
    db: store.Store = hub.store
    account = await db.get_account(account_id)
    now = hub.clock()
    retired = await db.list_retired_keys(account_id)
    return {
        "account_id": account_id,
        "current": {kind.value: hint(_current(account, kind)[0]) for kind in control.KeyKind},
        "retired": [
            {
                "kind": r.kind.value,
                "key_hint": hint(r.key),
                "valid_until": r.valid_until.isoformat(),
                "live": r.valid_until > now,
            }
            for r in retired
        ],
        "signing_key_ids": [key_id(s) for s in account.signing_secrets],
    }


# -- signing secrets -------------------------------------------------------------------------------------------
async def signing_key_ids(hub: hub_.Hub, account_id: str) -> list[str]:
    """The key ids of the account's live signing secrets, in signing order. Raises errors.UnknownAccount."""
    db: store.Accounts = hub.store
    return [key_id(s) for s in (await db.get_account(account_id)).signing_secrets]


async def add_signing_secret(hub: hub_.Hub, account_id: str, actor: str) -> dict[str, object]:
    """Add a fresh signing secret to the account: callbacks carry its signature besides the others'.

    Returns its key id, the secret (shown this once) and every live key id. Raises errors.UnknownAccount,
    errors.Conflict when the account is deactivated or signing.MAX_SECRETS are live already.
    """
    db: store.Store = hub.store
    for _ in range(ATTEMPTS):
        current = _changeable(await db.get_account(account_id)).signing_secrets
        if len(current) >= signing.MAX_SECRETS:
            raise errors.Conflict(
                f"at most {signing.MAX_SECRETS} signing secrets may be live; retire one first"
            )
        secret = ids.signing_secret()
        if key_id(secret) in {key_id(s) for s in current}:
            continue  # a fingerprint clash: draw another secret
        if await db.swap_signing_secrets(account_id, current, (*current, secret)):
            break
    else:
        raise errors.Conflict("the account's signing secrets changed meanwhile; try again")
    lookups.forget(hub)
    key_ids = [key_id(s) for s in (*current, secret)]
    await audit.record(
        hub,
        actor,
        action="signing.add",
        target=account_id,
        details={"key_id": key_id(secret), "key_ids": key_ids},
    )
    return {"account_id": account_id, "key_id": key_id(secret), "secret": secret, "key_ids": key_ids}


async def retire_signing_secret(
    hub: hub_.Hub, account_id: str, retired_id: str, actor: str, *, allow_unsigned: bool = False
) -> dict[str, object]:
    """Stop signing with the secret `retired_id`; the others stay live.

    Retiring the last one turns signing off, which only `allow_unsigned` permits. Raises errors.UnknownAccount,
    errors.NotFound (no live secret with that key id), errors.Conflict (the last one, without `allow_unsigned`;
    a deactivated account).
    """
    db: store.Store = hub.store
    for _ in range(ATTEMPTS):
        current = _changeable(await db.get_account(account_id)).signing_secrets
        kept = tuple(s for s in current if key_id(s) != retired_id)
        if len(kept) == len(current):
            raise errors.NotFound(f"no live signing secret {retired_id!r} on account {account_id!r}")
        if not kept and not allow_unsigned:
            raise errors.Conflict(
                "this is the last signing secret: retiring it turns signing off (allow it explicitly)"
            )
        if await db.swap_signing_secrets(account_id, current, kept):
            break
    else:
        raise errors.Conflict("the account's signing secrets changed meanwhile; try again")
    lookups.forget(hub)
    key_ids = [key_id(s) for s in kept]
    await audit.record(
        hub,
        actor,
        action="signing.retire",
        target=account_id,
        details={"key_id": retired_id, "key_ids": key_ids},
    )
    return {"account_id": account_id, "retired": retired_id, "key_ids": key_ids, "signed": bool(kept)}
