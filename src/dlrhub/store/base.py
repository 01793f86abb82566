"""The store interface: the only contract between dlrhub and its databases."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from dlrhub.core import errors, models
from dlrhub.planning import accepts, events


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptResult:
    """One finished attempt and what the retry policy made of its callback."""

    attempt: models.Attempt
    #: The callback's state after this attempt.
    state: models.CallbackState
    #: When to try again (for `pending`).
    due_at: dt.datetime | None = None


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
class OrphanReceipt:
    """A Zalo receipt kept because no message could take it when it came (DECISIONS › Zalo upstream)."""

    msg_id: str
    tracking_id: str | None
    #: The receipt as received.
    payload: dict[str, object]
    received_at: dt.datetime
    #: When a message took it; None while it waits.
    matched_at: dt.datetime | None


class MessageStatus(NamedTuple):
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


class Store(abc.ABC):
    """Async storage for every dlrhub noun. Each method is one transaction, except the few that change a set of
    callbacks each of which stands alone (defer, cancel, requeue): a backend may split those into several, so an
    error or crash can leave them part done, and running them again finishes the job."""

    # -- lifecycle -------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def migrate(self) -> list[str]:
        """Apply pending numbered migrations; return the names applied."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""

    # -- accounts, apps, OAs -----------------------------------------------------------------------------
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

    # -- messages and events -----------------------------------------------------------------------------
    async def accept_message(
        self,
        message: models.Message,
        event: models.StatusEvent,
        inputs: events.RenderInputs,
        *,
        charge: Decimal = Decimal(0),
        dedup_since: dt.datetime | None = None,
        channel_due_at: dt.datetime | None = None,
    ) -> events.IngestResult:
        """Store a new message with its `accepted` event and callbacks, and debit `charge`, atomically.

        With `channel_due_at`, the message is queued for the channel worker (Zalo) from that time on.

        Raises errors.DuplicateRequest when the message's RequestId was used after `dedup_since`, and
        errors.InsufficientBalance when the balance is below `charge`. Nothing is written then.
        """
        (result,) = await self.accept_messages(
            [accepts.Accept(message, event, inputs, charge, dedup_since, channel_due_at)]
        )
        if isinstance(result, errors.DlrhubError):
            raise result
        return result

    @abc.abstractmethod
    async def accept_messages(
        self, batch: list[accepts.Accept]
    ) -> list[events.IngestResult | errors.DlrhubError]:
        """`accept_message` for each of `batch`, in one transaction (group commit), in order.

        Each accept is all or nothing on its own: one refused (errors.DuplicateRequest,
        errors.InsufficientBalance) writes nothing and its error takes its place in the result.
        """

    @abc.abstractmethod
    async def apply_event(
        self,
        event: models.StatusEvent,
        inputs: events.RenderInputs,
        *,
        new_message: models.Message | None = None,
    ) -> events.IngestResult:
        """Store an event, the message's (and journey's) new state and its callbacks in one transaction.

        Both backends settle it with `planning.events.decide`. An event id already stored changes nothing
        (`duplicate=True`, with the stored event, message and journey). `new_message` is created when the event's
        message does not exist yet (an external engine's first event). Raises errors.UnknownMessage when the
        message does not exist and no `new_message` is given.
        """

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

    # -- callbacks ----------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def claim_due_callbacks(
        self, owner: str, now: dt.datetime, limit: int, lease_s: float
    ) -> list[models.Callback]:
        """Lease up to `limit` due pending callbacks whose earlier callbacks (same order key) are all done."""

    @abc.abstractmethod
    async def record_attempts(self, results: list[AttemptResult], now: dt.datetime) -> None:
        """Store attempts and move their callbacks, in one transaction, releasing the leases."""

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

    # -- dispatch: endpoint health, deferral, replay, wake-up ----------------------------------------------
    @abc.abstractmethod
    async def release_callbacks(
        self, owner: str, due: list[tuple[str, dt.datetime]], now: dt.datetime
    ) -> None:
        """Give back leased callbacks unsent, each due again at its time (a paused or busy destination)."""

    @abc.abstractmethod
    async def defer_endpoint_callbacks(self, endpoint: str, until: dt.datetime, now: dt.datetime) -> int:
        """Push every unleased pending callback to `endpoint` due before `until` to `until` (it was paused)."""

    @abc.abstractmethod
    async def cancel_callbacks(self, ids: list[str], now: dt.datetime) -> int:
        """Cancel these callbacks if still pending; return how many were."""

    @abc.abstractmethod
    async def cancel_endpoint_callbacks(self, endpoint: str, now: dt.datetime) -> int:
        """Cancel every pending callback to `endpoint` (it was disabled); return how many."""

    @abc.abstractmethod
    async def find_callbacks(self, where: CallbackFilter) -> list[models.Callback]:
        """Callbacks matching `where`, oldest first, at most `where.limit`."""

    @abc.abstractmethod
    async def requeue_callbacks(self, changes: list[tuple[str, str, str]], now: dt.datetime) -> int:
        """Replay: make each `(callback id, url, endpoint)` pending and due now, to that URL, with a fresh retry
        schedule (same id, attempts keep counting). Returns how many callbacks were requeued."""

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

    @abc.abstractmethod
    async def wait_for_callbacks(self, within_s: float) -> None:
        """Return when new callbacks may be due (written by this process, or NOTIFY on PostgreSQL), or after
        `within_s` seconds."""

    # -- journeys -----------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def put_journey(self, journey: models.Journey) -> None:
        """Insert or replace a journey."""

    @abc.abstractmethod
    async def get_journey(self, journey_id: str) -> models.Journey | None:
        """The journey with this id."""

    @abc.abstractmethod
    async def get_journey_by_token(self, token: str) -> models.Journey | None:
        """The journey holding this token."""

    # -- the Zalo channel worker (dlrhub.workers.zalo_channel) ----------------------------------------------
    @abc.abstractmethod
    async def claim_channel_messages(
        self, now: dt.datetime, limit: int, lease_s: float, day: str, next_day: dt.datetime
    ) -> list[models.Message]:
        """Mark up to `limit` queued, due, non-sandbox messages `sending` and return them, oldest due first.

        The mark is committed before any send, with a lease of `lease_s` seconds and `channel_due_at = now` (the
        time sending began). Each claim spends one unit of its OA's `daily_quota` for `day`; a message whose OA has
        none left is not claimed but deferred to `next_day`.
        """

    @abc.abstractmethod
    async def finish_channel_message(self, message_id: str, now: dt.datetime) -> None:
        """The send's outcome is recorded: the message leaves the channel queue for good (`done`)."""

    @abc.abstractmethod
    async def claim_stale_channel_messages(
        self, now: dt.datetime, limit: int, recheck_s: float
    ) -> list[tuple[models.Message, dt.datetime]]:
        """Messages left `sending` past their lease (a worker died mid-send), with the time sending began.

        Their lease is pushed `recheck_s` seconds on, so one worker looks at each at a time. They are never resent.
        """

    @abc.abstractmethod
    async def put_orphan_receipt(
        self, msg_id: str, tracking_id: str | None, payload: dict[str, object], received_at: dt.datetime
    ) -> bool:
        """Keep a Zalo receipt no message can take yet; False (nothing changed) when `msg_id` is already kept."""

    @abc.abstractmethod
    async def take_orphan_receipt(
        self, msg_id: str | None, tracking_id: str | None, since: dt.datetime
    ) -> dict[str, object] | None:
        """The payload of an unmatched receipt kept after `since`, by `msg_id` or else `tracking_id`; marks it
        matched, so only one caller gets it."""

    @abc.abstractmethod
    async def count_orphan_receipts(self) -> int:
        """Receipts kept and not yet matched."""

    @abc.abstractmethod
    def oa_token_lock(self, oa_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the OA's token-refresh lock: one holder at a time, across every process sharing the store
        (PostgreSQL: an advisory lock held in a transaction; SQLite: within this process, its one writer).

        A refresher reads the stored tokens, refreshes and stores the new ones while holding it, so a second
        refresher finds the new tokens instead of spending the single-use refresh token again.
        """

    @abc.abstractmethod
    async def list_orphan_receipts(self, *, matched: bool | None, limit: int) -> list[OrphanReceipt]:
        """Kept receipts, newest first: only unmatched ones (`matched=False`), only matched ones (True), or all
        (None); at most `limit`."""


def from_url(url: str) -> Store:
    """Open the store a `DLRHUB_DATABASE_URL` names, loading only that backend's driver."""
    if url.startswith("sqlite:///"):
        from dlrhub.store import sqlite

        return sqlite.SqliteStore(url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from dlrhub.store import postgres

        return postgres.PostgresStore(url)
    from dlrhub.core import errors

    raise errors.ConfigError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}")
