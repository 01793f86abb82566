"""API tokens and what they may reach: the token's format and digest, the scopes routes ask for, the principal.

A token is `dlrh_<kind letter>_<43 urlsafe characters>` (32 random bytes). Only its SHA-256 is stored: with 256
bits of entropy no guess or dictionary can invert it, so a slow password hash (bcrypt, argon2) would add
nothing but cost per request, and a plain digest can be looked up by index.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import secrets

from dlrhub.core import control

#: Every named token starts with this (and the bootstrap admin token, chosen by the operator, usually does not).
PREFIX = "dlrh_"
#: How many characters of a token listings show: `dlrh_a_` and four random ones.
SHOWN = len(PREFIX) + 6
_LETTER = {control.TokenKind.ADMIN: "a", control.TokenKind.READ: "r", control.TokenKind.CUSTOMER: "c"}


def mint(kind: control.TokenKind) -> str:
    """A new token of `kind`: shown once, never stored."""
    return f"{PREFIX}{_LETTER[kind]}_{secrets.token_urlsafe(32)}"


def digest(token: str) -> str:
    """The stored form of `token`: its hex SHA-256."""
    return hashlib.sha256(token.encode("utf-8", errors="replace")).hexdigest()


def shown(token: str) -> str:
    """The part of `token` listings show to tell it apart (`dlrh_a_Xy3k`)."""
    return token[:SHOWN]


class Scope(enum.StrEnum):
    """What a route needs from its caller's token."""

    #: A change of state (the admin API's POST, PATCH and DELETE, the engine's events): admin tokens.
    ADMIN = "admin"
    #: A read of anything (the admin API's GETs, endpoint health): admin and read tokens.
    READ = "read"
    #: A read of messages, callbacks and attempts: admin and read tokens, and customer tokens for their account.
    PULL = "pull"
    #: A replay of callbacks: admin tokens, and customer tokens for their account's.
    REPLAY = "replay"


#: The token kinds each scope lets in.
ALLOWED: dict[Scope, frozenset[control.TokenKind]] = {
    Scope.ADMIN: frozenset({control.TokenKind.ADMIN}),
    Scope.READ: frozenset({control.TokenKind.ADMIN, control.TokenKind.READ}),
    Scope.PULL: frozenset(control.TokenKind),
    Scope.REPLAY: frozenset({control.TokenKind.ADMIN, control.TokenKind.CUSTOMER}),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the audit log's actor, the token's kind, and a customer token's account."""

    actor: str
    kind: control.TokenKind
    account_id: str | None = None
    #: The stored token's id (None for the bootstrap token).
    token_id: str | None = None

    def allows(self, scope: Scope) -> bool:
        """Whether this principal may call a route needing `scope` (tenancy is checked by the route)."""
        return self.kind in ALLOWED[scope]

    def sees(self, account_id: str) -> bool:
        """Whether this principal may see the records of `account_id`."""
        return self.account_id is None or self.account_id == account_id


#: The operator's `DLRHUB_ADMIN_TOKEN`: a full admin, named `bootstrap` in the audit log.
BOOTSTRAP = Principal("bootstrap", control.TokenKind.ADMIN)


def principal(token: control.Token) -> Principal:
    """The principal a stored token acts as (its name is the actor)."""
    return Principal(token.name, token.kind, token.account_id, token.id)
