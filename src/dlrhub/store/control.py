"""The control plane's parts of the store: the balance ledger, API tokens, the audit log, NXCloud apps and
retired customer keys."""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import typing
from decimal import Decimal

from dlrhub.core import control, models, token_bucket


@dataclasses.dataclass(frozen=True, slots=True)
class AuditFilter:
    """Which audit entries to list: all given must match; newest first, before the cursor `before_id`."""

    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    #: The id of the last entry of the previous page.
    before_id: str | None = None
    limit: int = 100


class Ledger(typing.Protocol):
    """Every change of a balance, as rows; the balance is their sum (sends write theirs in `Ingest`)."""

    @abc.abstractmethod
    async def post_ledger(
        self,
        account_id: str,
        amount: Decimal,
        kind: control.LedgerKind,
        *,
        reason: str,
        actor: str,
        now: dt.datetime,
    ) -> tuple[control.LedgerEntry, models.Account]:
        """Write one row and move the balance by `amount`, in one transaction; the row and the account after.
        Raises errors.UnknownAccount; errors.Conflict when the account is deactivated, and when the balance would
        fall below zero (nothing is written then)."""

    @abc.abstractmethod
    async def list_ledger(
        self, account_id: str, *, before: int | None = None, limit: int = 100
    ) -> list[control.LedgerEntry]:
        """An account's rows, newest first, at most `limit`, those with an id below `before` when given."""

    @abc.abstractmethod
    async def ledger_total(self, account_id: str) -> Decimal:
        """The sum of an account's rows (0 for none): what its balance must be."""


class Tokens(typing.Protocol):
    """Named API tokens, stored by their digest (`core.scopes.digest`)."""

    @abc.abstractmethod
    async def create_token(self, token: control.Token) -> None:
        """Insert a token. Raises errors.Conflict when its name (or digest) is taken."""

    @abc.abstractmethod
    async def find_token(self, token_hash: str) -> control.Token | None:
        """The token with this digest, revoked or not."""

    @abc.abstractmethod
    async def list_tokens(self) -> list[control.Token]:
        """Every token, revoked ones too, oldest first."""

    @abc.abstractmethod
    async def revoke_token(self, token_id: str, now: dt.datetime) -> tuple[control.Token, bool]:
        """Revoke a token at `now` (one revoked already keeps its time): the token as stored after, and whether
        this call revoked it. Raises errors.UnknownToken."""

    @abc.abstractmethod
    async def touch_token(self, token_id: str, now: dt.datetime, stale_before: dt.datetime) -> None:
        """Set the token's `last_used_at` to `now` unless it was set at or after `stale_before`."""


class EndpointLimits(typing.Protocol):
    """Rate limits per destination host (`urls.endpoint_key`), at most one each."""

    @abc.abstractmethod
    async def put_endpoint_limit(self, limit: control.EndpointLimit) -> None:
        """Set (or replace) the limit of `limit.endpoint`."""

    @abc.abstractmethod
    async def get_endpoint_limit(self, endpoint: str) -> control.EndpointLimit | None:
        """The limit of `endpoint`, if one is set."""

    @abc.abstractmethod
    async def list_endpoint_limits(self) -> list[control.EndpointLimit]:
        """Every limit, by endpoint."""

    @abc.abstractmethod
    async def delete_endpoint_limit(self, endpoint: str) -> bool:
        """Remove the limit of `endpoint`; whether there was one."""

    @abc.abstractmethod
    async def endpoint_shared(self, endpoint: str, account_id: str) -> bool:
        """Whether a callback of another account than `account_id` waits to go to `endpoint` (pending)."""

    @abc.abstractmethod
    async def take_endpoint_tokens(self, endpoint: str, want: int, now: float) -> token_bucket.Taken | None:
        """Take up to `want` tokens of `endpoint`'s limit at `now` (seconds since the epoch) from the bucket every
        dispatcher shares (`core.token_bucket.take` on its row, atomically); None when it has no limit."""


class AuditLog(typing.Protocol):
    """The admin actions taken: appended, never changed."""

    @abc.abstractmethod
    async def append_audit(self, entry: control.AuditEntry) -> None:
        """Append one entry."""

    @abc.abstractmethod
    async def list_audit(self, where: AuditFilter) -> list[control.AuditEntry]:
        """Entries matching `where`, newest first, at most `where.limit`."""


class Apps(typing.Protocol):
    """Creating and changing NXCloud apps (the doors read them through `Accounts.get_app`)."""

    @abc.abstractmethod
    async def create_app(self, app: models.App) -> None:
        """Insert a new app. Raises errors.Conflict when the appkey is taken."""

    @abc.abstractmethod
    async def replace_app(self, app: models.App) -> None:
        """Write every field of the stored app with `app.appkey`. Raises errors.NotFound when there is none."""

    @abc.abstractmethod
    async def list_all_apps(self, limit: int = 10_000) -> list[models.App]:
        """Every account's apps, by account then appkey, at most `limit`."""


class Keys(typing.Protocol):
    """Rotating credentials: customer key pairs (with the retired ones still accepted) and signing secrets."""

    @abc.abstractmethod
    async def rotate_customer_key(
        self,
        kind: control.KeyKind,
        account_id: str,
        expected_key: str,
        new_key: str,
        new_secret: str,
        retired: control.RetiredKey | None,
        now: dt.datetime,
    ) -> bool:
        """In one transaction: make `(new_key, new_secret)` the account's current `kind` pair if its current key is
        still `expected_key`, keep `retired` (the old pair, None to drop it at once), end the account's earlier
        retired `kind` pairs no later than `retired` (at `now` without it) and drop its retired pairs expired by
        `now`. False (nothing written) when the current key is no longer `expected_key`.
        Raises errors.Conflict when `new_key` is taken."""

    @abc.abstractmethod
    async def find_retired_key(self, kind: control.KeyKind, key: str) -> control.RetiredKey | None:
        """The retired `kind` pair whose key this is, expired or not (the caller compares `valid_until`)."""

    @abc.abstractmethod
    async def list_retired_keys(self, account_id: str) -> list[control.RetiredKey]:
        """The account's retired pairs, expired or not, soonest to expire first."""

    @abc.abstractmethod
    async def swap_signing_secrets(
        self, account_id: str, expected: tuple[str, ...], new: tuple[str, ...]
    ) -> bool:
        """Set the account's signing secrets to `new` if they are still `expected`, in one transaction; False
        (nothing written) when they changed meanwhile. Raises errors.UnknownAccount."""
