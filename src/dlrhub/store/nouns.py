"""The store's interfaces by noun: accounts (with apps and OAs), the balance ledger, journeys, message reads,
callbacks, endpoints, request signatures.

Each is a protocol a consumer can ask for on its own (`base.Store` is all of them together), so a service sees only
the part of the store it uses.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import typing
from decimal import Decimal

from dlrhub.core import models, templates


@dataclasses.dataclass(frozen=True, slots=True)
class CallbackFilter:
    """Which callbacks to find (for replay and the dashboard's lists): by ids, by message, or by creation time,
    state, account, destination and dialect; all given must match."""

    ids: tuple[str, ...] = ()
    message_id: str | None = None
    account_id: str | None = None
    created_from: dt.datetime | None = None
    created_to: dt.datetime | None = None
    states: tuple[models.CallbackState, ...] = ()
    #: The destination, as `core.urls.endpoint_key` writes it (`scheme://host:port`).
    endpoint: str | None = None
    dialect: models.Dialect | None = None
    #: At most this many, oldest first (newest first with `newest_first`).
    limit: int = 1000
    #: Newest first, in `(created_at, id)` order descending: the order a page of a list is read in.
    newest_first: bool = False
    #: Keyset paging (with `newest_first`): only callbacks before this `(created_at, id)`, the previous page's last.
    before: tuple[dt.datetime, str] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AccountFilter:
    """Which accounts to list, oldest first: all given must match."""

    status: models.AccountStatus | None = None
    #: Part of the name, in any case.
    name_contains: str | None = None
    #: An account id: the page starts after this account (the previous page's last).
    after: str | None = None
    limit: int = 100


#: The most rows one `Messages.search_messages` call returns: a bound on any caller (pages ask for fewer).
MAX_SEARCH_ROWS = 500


@dataclasses.dataclass(frozen=True, slots=True)
class MessageQuery:
    """Which messages to find, newest first (`created_at`, then `id`, descending): all given must match."""

    account_id: str | None = None
    #: The message id (eSMS SMSID, NXCloud requestId) or the customer's RequestId.
    public_id: str | None = None
    #: The recipient, as stored: any of these (the forms one number may have been written in).
    phones: tuple[str, ...] = ()
    state: models.MessageState | None = None
    dialect: models.Dialect | None = None
    #: Created at or after `since`, and before `until`.
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    #: Keyset paging: `(created_at, id)` of the previous page's last row; the page starts after it.
    before: tuple[dt.datetime, str] | None = None
    #: At most this many (clamped to 1..MAX_SEARCH_ROWS).
    limit: int = 50


#: The account fields `Accounts.update_account` may change.
UPDATABLE = frozenset(
    {
        "name",
        "status",
        "currency",
        "prices",
        "utc_offset_minutes",
        "esms_delivered_callback",
        "default_callback_url",
        "notify_url",
    }
)


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


@dataclasses.dataclass(frozen=True, slots=True)
class OAChanges:
    """What `Accounts.change_oa` changes in an OA: each field left None stays as stored."""

    app_secret: str | None = None
    oa_secret: str | None = None
    access_token: str | None = None
    refresh_token: str | None = None
    token_expires_at: dt.datetime | None = None
    refresh_expires_at: dt.datetime | None = None
    daily_quota: int | None = None
    active: bool | None = None


class Accounts(typing.Protocol):
    """Accounts with their apps and OAs: the doors' lookups, the admin API, the dispatcher's signing secrets."""

    @abc.abstractmethod
    async def create_account(
        self, account: models.Account, apps: list[models.App], *, actor: str = "system"
    ) -> None:
        """Insert an account with its apps, and its ledger's `opening` row of its balance (by `actor`, at its
        `created_at`). Raises errors.Conflict when a credential is taken."""

    @abc.abstractmethod
    async def find_accounts(self, where: AccountFilter) -> list[models.Account]:
        """Accounts matching `where`, oldest first, at most `where.limit`."""

    @abc.abstractmethod
    async def update_account(self, account_id: str, changes: dict[str, object]) -> models.Account:
        """Change the fields named in `changes` (a subset of UPDATABLE, values of the model's types) at once;
        returns the account as changed. Raises errors.UnknownAccount, and errors.Conflict when the account is
        deactivated (nothing about it changes any more)."""

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
    async def list_oas(self, account_id: str | None = None) -> list[models.OA]:
        """An account's OAs (every OA when `account_id` is None), by id."""

    @abc.abstractmethod
    async def insert_oa(self, oa: models.OA) -> None:
        """Insert a new OA and, in the same transaction, route to it the account's apps that have no OA.

        Raises errors.Conflict when the OA id is taken, errors.UnknownAccount when the account does not exist.
        """

    @abc.abstractmethod
    async def change_oa(
        self, oa_id: str, changes: OAChanges, *, expect_refresh_token: str | None = None
    ) -> bool:
        """Apply `changes` to the OA in one statement; False (nothing changed) when there is no such OA or, with
        `expect_refresh_token`, when its stored refresh token is another (compare-and-set: a token keeper
        stores the pair a grant returned only over the refresh token that grant spent)."""


class Templates(typing.Protocol):
    """OAs' ZNS templates, and `OA.template_ids` (the ones that may send) kept in step with them."""

    @abc.abstractmethod
    async def save_templates(self, oa_id: str, found: list[templates.Template]) -> tuple[str, ...]:
        """Insert or replace `found` (the OA's templates) and set the OA's `template_ids` to its templates of
        status ENABLE, in one transaction; ids the OA held without a stored template are kept, as manual
        templates without parameters. Returns the new `template_ids`. Raises errors.NotFound for an unknown OA."""

    @abc.abstractmethod
    async def list_templates(self, oa_id: str) -> list[templates.Template]:
        """The OA's stored templates, by id."""

    @abc.abstractmethod
    async def get_template(self, oa_id: str, template_id: str) -> templates.Template | None:
        """One stored template of the OA."""


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
    async def search_messages(self, q: MessageQuery) -> list[models.Message]:
        """Messages matching `q`, newest first, at most `q.limit` (clamped to 1..MAX_SEARCH_ROWS). Each filter
        has an index (`store/message_search.py`), so a page costs about the same at any table size and depth."""

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
        """How many callbacks are in each state (summed from `callback_counts`)."""

    @abc.abstractmethod
    async def callback_counts(self) -> dict[tuple[models.Dialect, models.CallbackState], int]:
        """How many callbacks are in each dialect and state, every pair present (0 where none). Read from counts
        that triggers keep in the transaction changing a callback: a few rows at any table size."""

    @abc.abstractmethod
    async def oldest_pending_due_at(self) -> dt.datetime | None:
        """The earliest `due_at` of a pending callback, or None when none is pending: one step down the
        partial index `callbacks_due`, at any table size."""

    @abc.abstractmethod
    async def find_callbacks(self, where: CallbackFilter) -> list[models.Callback]:
        """Callbacks matching `where`, oldest first, at most `where.limit`."""

    @abc.abstractmethod
    async def enqueue_callbacks(self, callbacks: list[models.Callback]) -> int:
        """Put callbacks that no event wrote (the alerts) in the outbox, in one transaction, and wake the
        dispatchers. One whose id is stored already is left as it is (so a repeated alert is sent once);
        returns how many were new."""

    @abc.abstractmethod
    async def oldest_due_callback(self, now: dt.datetime) -> models.Callback | None:
        """The pending callback due the longest before `now` (None when none is due): one index read."""

    @abc.abstractmethod
    async def requeue_callbacks(self, changes: list[tuple[str, str, str, str]], now: dt.datetime) -> int:
        """Replay: make each `(callback id, url, endpoint, health key)` pending and due now, to that URL, with a
        fresh retry schedule (same id, attempts keep counting). Returns how many callbacks were requeued."""


#: Most recent failures `Endpoints.recent_failures` returns per destination.
MAX_RECENT_FAILURES = 20


class Endpoints(typing.Protocol):
    """Accounts' endpoints' stored health (the breaker's state), by health key (`urls.health_key`)."""

    @abc.abstractmethod
    async def get_endpoints(self, endpoints: list[str]) -> dict[str, models.Endpoint]:
        """The stored health of these health keys (absent ones were never unhealthy)."""

    @abc.abstractmethod
    async def put_endpoints(
        self, endpoints: list[models.Endpoint], *, overrule: bool = False
    ) -> list[models.Endpoint]:
        """Insert or replace endpoints' health; returns the stored health of those whose write was not applied.

        A stored pause still running (at the write's `updated_at`) is neither ended nor shortened unless the write
        disables the endpoint, or `overrule` (an operator's reset or resume): the writer's view may predate that
        pause (an operator's, or another dispatcher's), and a success judged from it may have been sent before the
        pause began, so the probe at its end decides. The writer takes the rows returned as its view."""

    @abc.abstractmethod
    async def recent_failures(
        self, endpoints: list[str], per_endpoint: int
    ) -> dict[str, list[models.Attempt]]:
        """For each health key (at most 1,000), the last failed attempt of each of its latest failed callbacks
        (at most `per_endpoint`, capped at MAX_RECENT_FAILURES), newest first."""

    @abc.abstractmethod
    async def list_endpoints(
        self, states: tuple[models.EndpointState, ...] = (), *, account_id: str | None = None
    ) -> list[models.Endpoint]:
        """Stored endpoints (all, or those in `states`; all accounts', or `account_id`'s), by key; at most
        10,000."""

    @abc.abstractmethod
    async def count_endpoints(self) -> dict[models.EndpointState, int]:
        """How many stored endpoints are in each state."""


class Signatures(typing.Protocol):
    """Request signatures already taken (NXCloud's `sign`): a repeat within its window is a replay."""

    @abc.abstractmethod
    async def take_signature(self, sign: str, expires_at: dt.datetime, now: dt.datetime) -> bool:
        """Record `sign` as taken until `expires_at`, for every process sharing the store; False (nothing
        changed) when it is taken already. Drops a few signatures expired by `now` on the way, so the table
        holds about one window's traffic."""
