"""The store's work-queue interfaces: the callback outbox (the dispatcher's) and the Zalo channel queue (its worker's)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import dataclasses
import datetime as dt
import typing
from collections.abc import Collection, Mapping

from dlrhub.core import models


@dataclasses.dataclass(frozen=True, slots=True)
class AttemptResult:
    """One finished attempt and what the retry policy made of its callback."""

    attempt: models.Attempt
    #: The callback's state after this attempt.
    state: models.CallbackState
    #: When to try again (for `pending`).
    due_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OrphanReceipt:
    """A Zalo receipt kept because no message could take it when it came (DECISIONS › Zalo upstream)."""

    #: The OA whose secret signed it: only that OA's messages may take it.
    oa_id: str
    msg_id: str
    tracking_id: str | None
    #: The receipt as received.
    payload: dict[str, object]
    received_at: dt.datetime
    #: When a message took it; None while it waits.
    matched_at: dt.datetime | None


class Outbox(typing.Protocol):
    """The callbacks waiting to be sent, as the dispatcher works them: claim under a lease, record, give back."""

    @abc.abstractmethod
    async def claim_due_callbacks(
        self,
        owner: str,
        now: dt.datetime,
        limit: int,
        lease_s: float,
        *,
        quota: int | None = None,
        exclude: Collection[str] = (),
    ) -> list[models.Callback]:
        """Lease up to `limit` due pending callbacks whose earlier callbacks (same order key) are all done, to
        destinations not in `exclude`, at most `quota` per destination (no cap when None), taking turns over the
        accounts: every account's first, then every account's second, ... (`store/claims.py`), so one account's
        backlog never keeps another's out of a claim. Each destination's callbacks come in due order; what is not
        leased stays as if never looked at. It never walks a skipped destination's backlog.
        """

    @abc.abstractmethod
    async def claim_endpoint_callbacks(
        self, owner: str, now: dt.datetime, limits: Mapping[str, int], lease_s: float
    ) -> list[models.Callback]:
        """Lease, of each destination in `limits`, up to its limit of due pending callbacks whose earlier callbacks
        (same order key) are all done, due first: a refill of destinations known to have a backlog, which reads
        only their own callbacks."""

    @abc.abstractmethod
    async def record_attempts(self, results: list[AttemptResult], now: dt.datetime) -> None:
        """Store attempts and move their callbacks, in one transaction, releasing the leases.

        Raises errors.Unstorable, having written none of them, when the database refuses a value of one (the
        recorder then finds it: `workers/recorder.py`), errors.StoreUnavailable in an outage.
        """

    @abc.abstractmethod
    async def release_callbacks(
        self, owner: str, due: list[tuple[str, dt.datetime]], now: dt.datetime
    ) -> None:
        """Give back leased callbacks unsent, each due again at its time (a paused or busy destination)."""

    @abc.abstractmethod
    async def defer_endpoint_callbacks(self, health_key: str, until: dt.datetime, now: dt.datetime) -> int:
        """Push every unleased pending callback of `health_key` (`urls.health_key`: one account's endpoint) due
        before `until` to `until` (it was paused); other accounts' callbacks to the same URL are left alone."""

    @abc.abstractmethod
    async def advance_endpoint_callbacks(self, health_key: str, until: dt.datetime, now: dt.datetime) -> int:
        """Make every unleased pending callback of `health_key` (one account's endpoint) due after `now`, at or
        before `until`, due now (its pause, which ended at `until`, was lifted early); other accounts' callbacks
        to the same URL are left alone. Wakes the dispatchers. Returns how many moved."""

    @abc.abstractmethod
    async def cancel_callbacks(self, ids: list[str], now: dt.datetime) -> int:
        """Cancel these callbacks if still pending; return how many were."""

    @abc.abstractmethod
    async def cancel_endpoint_callbacks(self, health_key: str, now: dt.datetime) -> int:
        """Cancel every pending callback of `health_key` (one account's endpoint: it was disabled); return how
        many. Other accounts' callbacks to the same URL are left alone."""

    @abc.abstractmethod
    async def wait_for_callbacks(self, within_s: float) -> None:
        """Return when new callbacks may be due (written by this process, or NOTIFY on PostgreSQL), or after
        `within_s` seconds."""

    @abc.abstractmethod
    def wake_with(self, event: asyncio.Event) -> None:
        """Also set `event` (on this loop) whenever `wait_for_callbacks` would return early, for as long as it
        lives: its waiter wakes in one step of the loop, without a task of its own. On PostgreSQL the NOTIFYs
        arrive only while `wait_for_callbacks` has subscribed (its first call does)."""


class ChannelQueue(typing.Protocol):
    """The Zalo channel worker's queue: claiming sends, stale sends, orphan receipts, the OA token lock."""

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
    async def sent_by_channel(self, message_id: str) -> bool:
        """Whether message `message_id` is stored and was queued for dlrhub's Zalo channel (queued, being sent or
        done): its `success`, `failed` and `delivered` events are the channel's own, under ids of its own."""

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
        self,
        oa_id: str,
        msg_id: str,
        tracking_id: str | None,
        payload: dict[str, object],
        received_at: dt.datetime,
    ) -> bool:
        """Keep a Zalo receipt signed by OA `oa_id` that no message can take yet; False (nothing changed) when the
        OA's `msg_id` is already kept."""

    @abc.abstractmethod
    async def take_orphan_receipt(
        self, oa_id: str, msg_id: str | None, tracking_id: str | None, since: dt.datetime, now: dt.datetime
    ) -> dict[str, object] | None:
        """The payload of an unmatched receipt signed by OA `oa_id` and kept after `since`, by `msg_id` or else
        `tracking_id`; marks it matched (at `now`), so only one caller gets it. Another OA's receipt is never
        taken, whatever ids it names."""

    @abc.abstractmethod
    async def count_orphan_receipts(self) -> int:
        """Receipts kept and not yet matched."""

    @abc.abstractmethod
    async def list_orphan_receipts(self, *, matched: bool | None, limit: int) -> list[OrphanReceipt]:
        """Kept receipts, newest first: only unmatched ones (`matched=False`), only matched ones (True), or all
        (None); at most `limit`."""

    @abc.abstractmethod
    def oa_token_lock(self, oa_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        """Hold the OA's token-refresh lock: one holder at a time, across every process sharing the store
        (PostgreSQL: an advisory lock held in a transaction; SQLite: within this process, its one writer).

        A refresher reads the stored tokens, refreshes and stores the new ones while holding it, so a second
        refresher finds the new tokens instead of spending the single-use refresh token again.
        """
