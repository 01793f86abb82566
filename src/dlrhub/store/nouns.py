"""The store's interfaces by noun: accounts (with apps and OAs), journeys, message reads, callbacks, endpoints,
request signatures.

Each is a protocol a consumer can ask for on its own (`base.Store` is all of them together), so a service sees only
the part of the store it uses.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import typing
from decimal import Decimal

from dlrhub.core import models


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackFilter:
    """Which callbacks to find (for replay): by ids, by message, or by creation time and state; all given must match."""

    ids: tuple[str, ...] = ()
    message_id: str | None = None
    account_id: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    states: tuple[models.CallbackState, ...] = ()
    #: At most this many, oldest first.
    limit: int = 1000


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


class MessageStatus(typing.NamedTuple):
    """A light read of a message's latest status, for pull APIs that answer for many messages at once."""

    id: str
    type_id: int
    recipient: str
    recipient_kind: str
    state: models.MessageState
    callback_url: str | None
    request_id: str | None
    oa_id: str | None
    template_id: str | None
    price: Decimal
    telco_id: int | None
    zalo_msg_id: str | None
    code: int | None
    text: str | None
    zalo_res: models.JSON | None
    updated_at: dt.datetime


class Accounts(typing.Protocol):
    """Accounts with their apps and OAs: the doors' lookups, the admin API, the dispatcher's signing secrets."""

    @abc.abstractmethod
    async def create_account(self, account: models.Account, apps: list[models.App]) -> None:
        """Insert an account with its apps. Raises errors.Conflict when a credential is taken."""

    @abc.abstractmethod
    async def get_account(self, account_id: str) -> models.Account:
        """Raises errors.UnknownAccount."""

    @abc.abstractmethod
    async def list_accounts(self) -> list[models.Account]:
        """All accounts, oldest first."""

    @abc.abstractmethod
    async def find_account_by_esms_key(self, api_key: str) -> models.Account | None:
        """The account whose eSMS ApiKey this is."""

    @abc.abstractmethod
    async def find_account_by_nx_key(self, access_key: str) -> models.Account | None:
        """The account whose NXCloud accessKey this is."""

    @abc.abstractmethod
    async def get_app(self, appkey: str) -> models.App | None:
        """The app with this appkey."""

    @abc.abstractmethod
    async def list_apps(self, account_id: str) -> list[models.App]:
        """An account's apps."""

    @abc.abstractmethod
    async def put_oa(self, oa: models.OA) -> None:
        """Insert or replace an OA."""

    @abc.abstractmethod
    async def get_oa(self, oa_id: str) -> models.OA | None:
        """The OA with this id."""

    @abc.abstractmethod
    async def list_oas(self, account_id: str) -> list[models.OA]:
        """An account's OAs."""


class Journeys(typing.Protocol):
    """NXCloud/Zalo journeys (token holders)."""

    @abc.abstractmethod
    async def put_journey(self, journey: models.Journey) -> None:
        """Insert or replace a journey."""

    @abc.abstractmethod
    async def get_journey(self, journey_id: str) -> models.Journey | None:
        """The journey with this id."""

    @abc.abstractmethod
    async def get_journey_by_token(self, token: str) -> models.Journey | None:
        """The journey holding this token."""


class Messages(typing.Protocol):
    """Reading messages and their events (writing them is `base.Ingest`)."""

    @abc.abstractmethod
    async def get_message(self, message_id: str) -> models.Message:
        """Raises errors.UnknownMessage."""

    @abc.abstractmethod
    async def get_messages(self, account_id: str, message_ids: list[str]) -> list[models.Message]:
        """The account's messages among `message_ids`, in the order given, skipping unknown ids."""

    @abc.abstractmethod
    async def get_message_statuses(self, account_id: str, message_ids: list[str]) -> list[MessageStatus]:
        """The latest status of the account's messages among `message_ids`, in the order given (first
        occurrence), skipping unknown ids (eSMS GetCallback)."""

    @abc.abstractmethod
    async def find_message_by_zalo_msg_id_for_account(
        self, account_id: str, zalo_msg_id: str
    ) -> models.Message | None:
        """The account's message that Zalo answered with `zalo_msg_id` (eSMS GetZaloMessageStatus)."""

    @abc.abstractmethod
    async def list_events(self, message_id: str) -> list[models.StatusEvent]:
        """A message's events, in sequence order."""


class Callbacks(typing.Protocol):
    """Reading callbacks and their attempts, and replaying them."""

    @abc.abstractmethod
    async def list_callbacks(self, message_id: str) -> list[models.Callback]:
        """A message's callbacks, in order."""

    @abc.abstractmethod
    async def get_callback(self, callback_id: str) -> models.Callback:
        """Raises errors.UnknownCallback."""

    @abc.abstractmethod
    async def list_attempts(self, callback_id: str) -> list[models.Attempt]:
        """A callback's attempts, in order."""

    @abc.abstractmethod
    async def count_callbacks(self) -> dict[models.CallbackState, int]:
        """How many callbacks are in each state."""

    @abc.abstractmethod
    async def find_callbacks(self, where: CallbackFilter) -> list[models.Callback]:
        """Callbacks matching `where`, oldest first, at most `where.limit`."""

    @abc.abstractmethod
    async def requeue_callbacks(self, changes: list[tuple[str, str, str]], now: dt.datetime) -> int:
        """Replay: make each `(callback id, url, endpoint)` pending and due now, to that URL, with a fresh retry
        schedule (same id, attempts keep counting). Returns how many callbacks were requeued."""


class Endpoints(typing.Protocol):
    """Destinations' stored health (the breaker's state)."""

    @abc.abstractmethod
    async def get_endpoints(self, endpoints: list[str]) -> dict[str, models.Endpoint]:
        """The stored health of these destinations (absent ones were never unhealthy)."""

    @abc.abstractmethod
    async def put_endpoints(self, endpoints: list[models.Endpoint]) -> None:
        """Insert or replace destinations' health."""

    @abc.abstractmethod
    async def list_endpoints(self, states: tuple[models.EndpointState, ...] = ()) -> list[models.Endpoint]:
        """Stored destinations (all, or those in `states`), by name; at most 10,000."""

    @abc.abstractmethod
    async def count_endpoints(self) -> dict[models.EndpointState, int]:
        """How many stored destinations are in each state."""


class Signatures(typing.Protocol):
    """Request signatures already taken (NXCloud's `sign`): a repeat within its window is a replay."""

    @abc.abstractmethod
    async def take_signature(self, sign: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        """Record `sign` as taken until `expires_at`, for every process sharing the store; False (nothing
        changed) when it is taken already. Drops a few signatures expired by `now` on the way, so the table
        holds about one window's traffic."""


class Tokens(typing.Protocol):
    """Named API tokens, stored by their digest (`core.scopes.digest`)."""

    @abc.abstractmethod
    async def create_token(self, token: models.Token) -> None:
        """Insert a token. Raises errors.Conflict when its name (or digest) is taken."""

    @abc.abstractmethod
    async def find_token(self, token_hash: str) -> models.Token | None:
        """The token with this digest, revoked or not."""

    @abc.abstractmethod
    async def list_tokens(self) -> list[models.Token]:
        """Every token, revoked ones too, oldest first."""

    @abc.abstractmethod
    async def revoke_token(self, token_id: str, now: dt.datetime) -> tuple[models.Token, bool]:
        """Revoke a token at `now` (one revoked already keeps its time): the token as stored after, and whether
        this call revoked it. Raises errors.UnknownToken."""

    @abc.abstractmethod
    async def touch_token(self, token_id: str, now: dt.datetime, stale_before: dt.datetime) -> None:
        """Set the token's `last_used_at` to `now` unless it was set at or after `stale_before`."""


class AuditLog(typing.Protocol):
    """The admin actions taken: appended, never changed."""

    @abc.abstractmethod
    async def append_audit(self, entry: models.AuditEntry) -> None:
        """Append one entry."""

    @abc.abstractmethod
    async def list_audit(self, where: AuditFilter) -> list[models.AuditEntry]:
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
        kind: models.KeyKind,
        account_id: str,
        expected_key: str,
        new_key: str,
        new_secret: str,
        retired: models.RetiredKey | None,
        now: dt.datetime,
    ) -> bool:
        """In one transaction: make `(new_key, new_secret)` the account's current `kind` pair if its current key is
        still `expected_key`, keep `retired` (the old pair, None to drop it at once) and drop the account's retired
        pairs expired by `now`. False (nothing written) when the current key is no longer `expected_key`.
        Raises errors.Conflict when `new_key` is taken."""

    @abc.abstractmethod
    async def find_retired_key(self, kind: models.KeyKind, key: str) -> models.RetiredKey | None:
        """The retired `kind` pair whose key this is, expired or not (the caller compares `valid_until`)."""

    @abc.abstractmethod
    async def list_retired_keys(self, account_id: str) -> list[models.RetiredKey]:
        """The account's retired pairs, expired or not, soonest to expire first."""

    @abc.abstractmethod
    async def swap_signing_secrets(
        self, account_id: str, expected: tuple[str, ...], new: tuple[str, ...]
    ) -> bool:
        """Set the account's signing secrets to `new` if they are still `expected`, in one transaction; False
        (nothing written) when they changed meanwhile. Raises errors.UnknownAccount."""
