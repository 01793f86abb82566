"""The Zalo channel worker: sends queued ZNS messages at most once each, bounded per OA, under its daily quota.

At-most-once: the store marks a message `sending` (in the claim's transaction) before Zalo is called, and the
send carries `tracking_id` = the message id. A message found still `sending` after its lease (the worker died
mid-send) is never resent: a receipt bearing its `tracking_id` proves Zalo sent it (success, then delivered);
with none after `zalo_recovery_grace_s`, it fails with 17005. `message_status` cannot help there, because it
needs the `msg_id` that only the lost answer carried.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import time
import typing
from typing import Any

from dlrhub import settings
from dlrhub import store as store_
from dlrhub.adapters import tracing
from dlrhub.adapters.zalo import client, tokens
from dlrhub.core import errors, models
from dlrhub.dialects import registry
from dlrhub.dialects.zalo import codes, quota, wire
from dlrhub.services import alerts, events, oa_expiry
from dlrhub.services import hub as hub_
from dlrhub.services import zalo_inbound as inbound
from dlrhub.services import zalo_wiring as wiring

log = logging.getLogger(__name__)

#: Zalo calls one live send may make, each bounded by `zalo_timeout_s`: a token refresh and the send, twice
#: after a -124 (see `lease_s`).
CALLS_PER_SEND = 4
#: A stale message still waiting for its receipt is looked at again this often.
RECHECK_S = 30.0
IDLE_WAIT_S = 0.1
#: Seconds the channel waits for its simulator in silence (a `dlrhub serve` starting), then says it waits.
SIMULATOR_QUIET_S = 5.0
#: 9000 / 9005 from NXCloud's table: dlrhub refused the message itself, so there is no `zaloRes`.
CODE_BAD_REQUEST, TEXT_BAD_REQUEST = 9000, "Request parameter error"
CODE_NO_ROUTE, TEXT_NO_ROUTE = 9005, "Missing customer APP routes"


#: The Vietnam day an OA's quota counts (the overview reads the same day's stored counts).
quota_day = quota.quota_day


def outcome_event(message: models.Message, outcome: wire.SendOutcome, now: dt.datetime) -> models.StatusEvent:
    """The `success`/`failed` event of a send's outcome."""
    return models.StatusEvent(
        id=f"{message.id}:{outcome.kind.value}",
        kind=outcome.kind,
        occurred_at=outcome.sent_at or now,
        message_id=message.id,
        code=outcome.code,
        text=outcome.text,
        zalo_res=outcome.zalo_res,
    )


def refused_event(message: models.Message, code: int, text: str, now: dt.datetime) -> models.StatusEvent:
    """A `failed` event for a message dlrhub did not send (no route, malformed): no `zaloRes`."""
    return models.StatusEvent(
        id=f"{message.id}:{models.EventKind.FAILED.value}",
        kind=models.EventKind.FAILED,
        occurred_at=now,
        message_id=message.id,
        code=code,
        text=text,
    )


class ChannelStore(store_.ChannelQueue, store_.Accounts, store_.Journeys, typing.Protocol):
    """What the worker itself uses of the store: the channel queue, OAs (with their tokens) and journeys."""


def lease_s(config: settings.Settings) -> float:
    """How long a claimed message stays claimed: once past it, it counts as left behind by a dead worker.

    It follows `zalo_recovery_grace_s`, so that a send cut off by a crash gets its report that long after it
    was claimed; but never less than a live send may take (waiting for its OA's turn, then its Zalo calls),
    since recovery would otherwise fail with 17005 a message still being sent.
    """
    turns = math.ceil(config.zalo_concurrency / max(1, config.zalo_oa_concurrency))
    return max(config.zalo_recovery_grace_s, turns * CALLS_PER_SEND * config.zalo_timeout_s)


class ChannelWorker:
    """Claims due messages in batches no larger than its free slots, and sends each in its own task."""

    def __init__(self, hub: hub_.Hub, zalo: client.ZaloClient) -> None:
        self.hub = hub
        #: The worker's own reads and writes go here; the services it calls (events, inbound) take the hub.
        self.store: ChannelStore = hub.store
        self.zalo = zalo
        self.lease_s = lease_s(hub.settings)
        self._free = hub.settings.zalo_concurrency
        self._per_oa: dict[str, asyncio.Semaphore] = {}
        self._keepers: dict[str, tokens.TokenKeeper] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Messages sent, by outcome code (for the demo and tests).
        self.sent: dict[int, int] = {}
        self.quota_alerts = alerts.QuotaWatch(hub)

    async def run_once(self) -> int:
        """Resolve stale sends, then claim and start a batch; the number of messages claimed."""
        await self.recover()
        if self._free <= 0:
            return 0
        now = self.hub.clock()
        day, next_day = quota_day(now)
        claimed = await self.store.claim_channel_messages(now, self._free, self.lease_s, day, next_day)
        for message in claimed:
            self._free -= 1
            task = asyncio.create_task(self._send(message), name=f"zalo-send-{message.id}")
            self._tasks.add(task)
            task.add_done_callback(self._done)
        return len(claimed)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._free += 1

    async def drain(self) -> None:
        """Wait for the sends in flight."""
        while self._tasks:
            await asyncio.wait(list(self._tasks))

    async def _send(self, message: models.Message) -> None:
        per_oa = self._per_oa.setdefault(
            message.oa_id or "", asyncio.Semaphore(self.hub.settings.zalo_oa_concurrency)
        )
        try:
            async with per_oa:
                with tracing.span("zalo send", message.traceparent, "client", message_id=message.id):
                    event = await self._zalo_send(message)
            await self._record(message, event)
        except Exception:
            # The message stays `sending`; recovery resolves it after its lease, never by resending.
            log.exception("zalo send of %s failed inside dlrhub", message.id)

    async def _zalo_send(self, message: models.Message) -> models.StatusEvent:
        now = self.hub.clock()
        oa = await self.store.get_oa(message.oa_id) if message.oa_id else None
        if oa is None or not oa.active:
            return refused_event(message, CODE_NO_ROUTE, TEXT_NO_ROUTE, now)
        journey_token = None
        if message.journey_id:
            journey = await self.store.get_journey(message.journey_id)
            if journey is None or journey.account_id != message.account_id:
                own = registry.of(message.dialect).own_journeys
                journey = await self._own_journey(oa, message) if own else None
            if journey is None:
                return refused_event(message, CODE_BAD_REQUEST, TEXT_BAD_REQUEST, now)
            journey_token = journey.token
        by_hash = message.recipient_kind == "hash_phone"
        by_uid = message.recipient_kind == "zalo_uid"
        try:
            outcome = await tokens.send_with_refresh(
                self._keeper(oa),
                self.zalo,
                wire.TemplateSend(
                    template_id=message.template_id or "",
                    template_data=message.template_data or {},
                    tracking_id=message.id,
                    phone=None if by_hash or by_uid else message.recipient,
                    hash_phone=message.recipient if by_hash else None,
                    user_id=message.recipient if by_uid else None,
                    sending_mode=message.sending_mode,
                    journey_token=journey_token,
                ),
            )
        except errors.InvalidInput as exc:
            log.info("message %s not sent: %s", message.id, exc)
            return refused_event(message, CODE_BAD_REQUEST, TEXT_BAD_REQUEST, now)
        self.sent[outcome.code] = self.sent.get(outcome.code, 0) + 1
        self.hub.metrics.zalo_sends.labels(code=str(outcome.code)).inc()
        if outcome.quota is not None:
            self.hub.metrics.zalo_quota_remaining.labels(oa_id=oa.oa_id).set(outcome.quota.remaining)
        await self.quota_alerts.seen(oa, outcome.quota, quota_day(now)[0], self.hub.clock())
        return outcome_event(message, outcome, self.hub.clock())

    async def _record(self, message: models.Message, event: models.StatusEvent) -> models.Message | None:
        """Apply a send's outcome and take the receipts that came before it; the message as it now stands."""
        account = await self.store.get_account(message.account_id)
        result = await events.apply(self.hub, event, account, message=message)
        await self.store.finish_channel_message(message.id, self.hub.clock())
        if event.kind is models.EventKind.SUCCESS and result.message is not None:
            await inbound.match_orphan(self.hub, result.message)
        return result.message

    async def _own_journey(self, oa: models.OA, message: models.Message) -> models.Journey | None:
        """eSMS journeys name only an `OrderId`: dlrhub asks Zalo for the token itself (PROTOCOLS §1.2, Inf)."""
        answer = await self.zalo.get_journey_token(await self._keeper(oa).access_token(), message.recipient)
        if answer.value is None:
            log.info("no journey token for %s: %s %s", message.id, answer.error, answer.message)
            return None
        now = self.hub.clock()
        journey = models.Journey(
            journey_id=answer.value.journey_id or f"{message.journey_id}",
            account_id=message.account_id,
            appkey=None,
            oa_id=oa.oa_id,
            token=answer.value.token,
            token_type="token_logistics_7",  # noqa: S106 (a token type, not a secret)
            phone=message.recipient,
            state=models.JourneyState.ISSUED,
            created_at=now,
            expires_at=now + dt.timedelta(days=7),
            app_id=oa.app_id,
        )
        await self.store.put_journey(journey)
        return journey

    def _keeper(self, oa: models.OA) -> tokens.TokenKeeper:
        """The OA's token keeper; a new one when its app secret changed (`dlrhub oas update-secrets`)."""
        keeper = self._keepers.get(oa.oa_id)
        if keeper is None or keeper.app_secret != oa.app_secret:
            keeper = self._keepers[oa.oa_id] = keeper_for(self.store, self.zalo, oa, self.hub.clock)
        return keeper

    async def recover(self) -> None:
        """Resolve messages a dead worker left `sending`, without resending them."""
        now = self.hub.clock()
        grace = dt.timedelta(seconds=self.hub.settings.zalo_recovery_grace_s)
        for message, since in await self.store.claim_stale_channel_messages(now, 100, RECHECK_S):
            if message.state is not models.MessageState.ACCEPTED:
                await self.store.finish_channel_message(message.id, now)
                continue
            receipt = None
            if message.oa_id is not None:
                kept_since = now - inbound.ORPHAN_WINDOW
                receipt = await self.store.take_orphan_receipt(
                    message.oa_id, None, message.id, kept_since, now
                )
            if receipt is not None:
                await self._recover_sent(message, receipt)
            elif now - since >= grace:
                log.warning(
                    "message %s was left mid-send and no receipt came: failing it with 17005", message.id
                )
                await self._record(message, outcome_event(message, wire.timeout_outcome(), now))

    async def _recover_sent(self, message: models.Message, receipt: dict[str, Any]) -> None:
        """A receipt proves Zalo sent it: record the success its lost answer would have given, then delivery."""
        body = receipt.get("message")
        msg_id = body.get("msg_id") if isinstance(body, dict) else None
        now = self.hub.clock()
        outcome = wire.SendOutcome(
            models.EventKind.SUCCESS,
            codes.CODE_SENT,
            codes.TEXT_SENT,
            {"error": 0, "message": "Success", "data": {"msg_id": msg_id}},
            0,
            msg_id=msg_id if isinstance(msg_id, str) else None,
        )
        stored = await self._record(message, outcome_event(message, outcome, now))
        await inbound.deliver(self.hub, stored or message, receipt)


def keeper_for(
    store: ChannelStore,
    zalo: tokens.Refresher,
    oa: models.OA,
    clock: typing.Callable[[], dt.datetime],
    *,
    on_grant: tokens.OnGrant | None = None,
) -> tokens.TokenKeeper:
    """A token keeper for `oa` whose grants are committed to `store` at once, over the refresh token they spent
    (compare-and-set), under the OA's shared refresh lock."""

    async def reload() -> tokens.TokenState:
        current = await store.get_oa(oa.oa_id) or oa
        return tokens.TokenState(
            current.access_token, current.refresh_token, current.token_expires_at, current.refresh_expires_at
        )

    async def persist(state: tokens.TokenState) -> bool:
        changes = store_.OAChanges(
            access_token=state.access_token,
            refresh_token=state.refresh_token,
            token_expires_at=state.expires_at,
            refresh_expires_at=state.refresh_expires_at,
        )
        return await store.change_oa(oa.oa_id, changes, expect_refresh_token=state.replaces or None)

    return tokens.TokenKeeper(
        zalo,
        app_id=oa.app_id,
        app_secret=oa.app_secret,
        state=tokens.TokenState(
            oa.access_token, oa.refresh_token, oa.token_expires_at, oa.refresh_expires_at
        ),
        clock=clock,
        persist=persist,
        reload=reload,
        lock=lambda: store.oa_token_lock(oa.oa_id),
        on_grant=on_grant,
    )


async def _wait_for_simulator(hub: hub_.Hub, zalo: client.ZaloClient, stop: asyncio.Event) -> None:
    """In `dlrhub serve` the simulator is served by this very process, whose workers start before its server
    listens: wait, without a line per miss, until it answers. One line says so once the wait outlasts a start
    (SIMULATOR_QUIET_S): a `dlrhub worker` whose API is not running would otherwise send nothing, silently."""
    if not wiring.uses_simulator(hub.settings):
        return
    since, said = time.monotonic(), False
    while not stop.is_set():
        if await zalo.answers():
            return
        if not said and time.monotonic() - since >= SIMULATOR_QUIET_S:
            said = True
            log.warning("zalo channel: no answer from the Zalo simulator at %s yet; waiting", zalo.api_base)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.2)


async def run(hub: hub_.Hub, stop: asyncio.Event) -> None:
    """Send queued Zalo messages until `stop` is set; then let the sends in flight finish."""
    async with wiring.make_client(hub.settings) as zalo:
        await _wait_for_simulator(hub, zalo, stop)
        worker = ChannelWorker(hub, zalo)
        watch = oa_expiry.ExpiryWatch(hub)
        log.info("zalo channel worker sending to %s", zalo.api_base)
        while not stop.is_set():
            try:
                await watch.maybe_check()
                claimed = await worker.run_once()
            except errors.StoreUnavailable:
                claimed = 0  # the store logs the outage once
            except Exception:
                log.exception("zalo channel worker loop failed; retrying")
                claimed = 0
            if not claimed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), IDLE_WAIT_S)
        await worker.drain()
