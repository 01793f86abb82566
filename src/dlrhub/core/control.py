"""The control plane's nouns: balance ledger rows, API tokens, audit entries and retired customer keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from decimal import Decimal

from dlrhub.core import models


class LedgerKind(enum.StrEnum):
    """Why a ledger row moved an account's balance."""

    #: The balance the account started with (or had when the ledger began, migration 0007).
    OPENING = "opening"
    #: Money paid in by the customer (positive).
    TOP_UP = "top_up"
    #: An operator's correction, either sign.
    ADJUSTMENT = "adjustment"
    #: The price of the messages accepted in one group commit (negative): one row per account per batch.
    CHARGE = "charge"
    #: Money given back for messages (positive).
    REFUND = "refund"


@dataclasses.dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One change of an account's balance; the balance is always the sum of its account's entries."""

    #: Increasing in the order the entries were written (the paging cursor).
    id: int
    account_id: str
    #: Signed, in the account's currency.
    amount: Decimal
    kind: LedgerKind
    reason: str
    #: Who made the change (an admin token's name, the CLI's user, `send` for charges).
    actor: str
    #: How many messages a charge or refund covers (0 otherwise).
    message_count: int
    created_at: dt.datetime


class TokenKind(enum.StrEnum):
    """What an API token may do (`core.scopes` maps each route's scope to the kinds it lets in)."""

    #: Everything: the admin API, the engine's events, every message.
    ADMIN = "admin"
    #: Every read of the admin and native APIs, and no change (operators' dashboards).
    READ = "read"
    #: One account's native pull (messages, callbacks, attempts) and the replay of its callbacks.
    CUSTOMER = "customer"


@dataclasses.dataclass(frozen=True, slots=True)
class Token:
    """A named API token as stored: its SHA-256 and a short prefix to recognise it, never the token itself."""

    id: str
    name: str
    kind: TokenKind
    #: The account a `customer` token is bound to (None for the others).
    account_id: str | None
    #: Hex SHA-256 of the whole token.
    token_hash: str
    #: The token's first characters, to tell tokens apart in listings (`dlrh_a_Xy3k`).
    prefix: str
    created_at: dt.datetime
    #: The actor that created it (a token name, `bootstrap`, or the CLI's user).
    created_by: str
    #: When a request last used it, written at most once a minute (None: never).
    last_used_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AuditEntry:
    """One admin action: who did what to which noun, and when. `details` never holds a secret."""

    #: Time-ordered: a later entry has a greater id (the audit list's cursor).
    id: str
    at: dt.datetime
    #: The token name behind an API call (`bootstrap` for DLRHUB_ADMIN_TOKEN), or `cli:<user>`.
    actor: str
    #: `<noun>.<verb>`, e.g. `account.lock`.
    action: str
    #: The id of the noun acted on.
    target: str
    details: models.JSON


class KeyKind(enum.StrEnum):
    """Which customer key pair: the one a front door authenticates requests with."""

    #: eSMS `ApiKey` / `SecretKey`.
    ESMS = "esms"
    #: NXCloud `accessKey` / `accessSecret`.
    NXCLOUD = "nxcloud"


@dataclasses.dataclass(frozen=True, slots=True)
class RetiredKey:
    """A customer key pair replaced by a rotation, still accepted until `valid_until` (then like an unknown key)."""

    kind: KeyKind
    key: str
    secret: str
    account_id: str
    valid_until: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class EndpointLimit:
    """A rate limit on one destination host (`urls.endpoint_key`): the dispatcher starts at most `rate_per_s`
    attempts a second there, after a first `burst`."""

    endpoint: str
    rate_per_s: float
    burst: int
    #: The actor that set it (`operator` rights: a token name; an account's: `account:<id>`).
    set_by: str
    updated_at: dt.datetime
