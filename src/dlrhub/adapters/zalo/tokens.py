"""OA access-token upkeep: OAuth v4 refresh before expiry, and once more after -124 (DECISIONS)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from dlrhub.dialects.zalo import wire

log = logging.getLogger(__name__)

#: Refresh this long before the access token expires.
DEFAULT_MARGIN = dt.timedelta(minutes=30)
#: How long a refresh token lives after the grant that issued it (Zalo: about 3 months; its answer does not say).
REFRESH_LIFETIME = dt.timedelta(days=90)
#: Zalo's answers meaning the refresh token itself is dead (unknown or expired, or already spent: protocols.md
#: §3.6): only a new token from Zalo's console brings the OA back.
DEAD_REFRESH_TOKEN = frozenset({-14014, -14020})
#: After Zalo says the token is dead, the store is read again this many times, this far apart, for the pair of a
#: process that won a race (on SQLite, processes do not share the refresh lock).
SPENT_RELOADS = 20
SPENT_RELOAD_WAIT_S = 0.05


@dataclasses.dataclass(frozen=True, slots=True)
class TokenState:
    """An OA's current tokens. The refresh token is single-use.

    `refresh_expires_at` and `replaces` (the refresh token the grant giving this state spent, '' when unknown)
    describe the state without being part of its identity.
    """

    access_token: str
    refresh_token: str
    expires_at: dt.datetime
    refresh_expires_at: dt.datetime | None = dataclasses.field(default=None, compare=False)
    replaces: str = dataclasses.field(default="", compare=False)


def needs_refresh(state: TokenState, now: dt.datetime, margin: dt.timedelta = DEFAULT_MARGIN) -> bool:
    """Whether the access token is within `margin` of expiry (or past it)."""
    return now >= state.expires_at - margin


def after_grant(grant: wire.TokenGrant, now: dt.datetime, spent: str = "") -> TokenState:
    """The state a successful grant leads to (`expires_in` seconds from `now`), which spent refresh token `spent`."""
    return TokenState(
        grant.access_token,
        grant.refresh_token,
        now + dt.timedelta(seconds=grant.expires_in),
        refresh_expires_at=now + REFRESH_LIFETIME,
        replaces=spent,
    )


class Refresher(Protocol):
    """The one client call the keeper needs (`ZaloClient.refresh_token`)."""

    async def refresh_token(
        self, app_id: str, app_secret: str, refresh_token: str
    ) -> wire.Answer[wire.TokenGrant]: ...


class Sender(Protocol):
    """The one client call `send_with_refresh` needs (`ZaloClient.send_template`)."""

    async def send_template(self, oa_token: str, send: wire.TemplateSend) -> wire.SendOutcome: ...


#: Stores a new state (over `state.replaces`, compare-and-set); False when the store holds another pair by now.
Persist = Callable[[TokenState], Awaitable[bool | None]]
Reload = Callable[[], Awaitable[TokenState]]
#: Called with each new state once it is stored, before its access token is used (tests inject crashes here).
OnGrant = Callable[[TokenState], Awaitable[None]]
#: A lock shared by every process refreshing this OA (`Store.oa_token_lock`), held around reload, grant, persist.
SharedLock = Callable[[], contextlib.AbstractAsyncContextManager[None]]


class TokenKeeper:
    """Keeps one OA's access token fresh. Refreshes are single-flight, so concurrent callers share one grant.

    `persist` is awaited with the new state as soon as Zalo answers, before anything else (the new access token
    included) is used: the old refresh token is dead by then, so the new pair must be committed first. If
    `persist` raises, the error propagates (the new state is still kept in memory, so this process can go on);
    if it says the store holds another pair by now, that pair is adopted. `reload`, when given, reads the
    stored tokens before each refresh, so processes sharing an OA adopt each other's grants, and again after a
    refused refresh: when another process spent the token first, its stored pair is adopted. `lock`, when
    given, is held around reload, grant and persist, so two processes never spend the same refresh token at
    once. `on_grant` runs after each persist, before the new token is handed out.
    """

    def __init__(
        self,
        refresher: Refresher,
        *,
        app_id: str,
        app_secret: str,
        state: TokenState,
        clock: Callable[[], dt.datetime],
        persist: Persist,
        margin: dt.timedelta = DEFAULT_MARGIN,
        reload: Reload | None = None,
        lock: SharedLock | None = None,
        on_grant: OnGrant | None = None,
    ) -> None:
        self._on_grant = on_grant
        self._refresher = refresher
        self._reload = reload
        self._shared_lock = lock
        self._app_id = app_id
        self._app_secret = app_secret
        self._state = state
        self._clock = clock
        self._persist = persist
        self._margin = margin
        self._lock = asyncio.Lock()
        #: Successful grants so far (for tests and metrics).
        self.refreshes = 0

    @property
    def app_secret(self) -> str:
        """The app secret the keeper refreshes with (a keeper is remade when the stored one changes)."""
        return self._app_secret

    @property
    def state(self) -> TokenState:
        """The current tokens."""
        return self._state

    async def access_token(self) -> str:
        """A token to send with: refreshed first when within the margin of expiry.

        If the refresh fails, the current token is returned anyway (Zalo will say -124 if it is dead).
        """
        if not needs_refresh(self._state, self._clock(), self._margin):
            return self._state.access_token
        async with self._lock:
            if needs_refresh(self._state, self._clock(), self._margin):
                await self._refresh()
            return self._state.access_token

    async def refresh_after_invalid(self, bad_token: str) -> str | None:
        """After Zalo said -124 for `bad_token`: a fresh token, or None when the refresh failed.

        If another caller already replaced `bad_token`, the replacement is returned without a new grant.
        """
        async with self._lock:
            if self._state.access_token != bad_token:
                return self._state.access_token
            if await self._refresh():
                return self._state.access_token
            return None

    async def _refresh(self) -> bool:
        if self._shared_lock is None:
            return await self._refresh_now()
        async with self._shared_lock():
            return await self._refresh_now()

    async def _refresh_now(self) -> bool:
        if self._reload is not None:
            # Another process may have refreshed already (and so spent our refresh token): adopt its tokens.
            stored = await self._reload()
            if stored.access_token != self._state.access_token and not needs_refresh(
                stored, self._clock(), self._margin
            ):
                self._state = stored
                return True
            self._state = dataclasses.replace(self._state, refresh_token=stored.refresh_token)
        spent = self._state.refresh_token
        answer = await self._refresher.refresh_token(self._app_id, self._app_secret, spent)
        if answer.value is None:
            return await self._after_refusal(answer, spent)
        self._state = after_grant(answer.value, self._clock(), spent)
        self.refreshes += 1
        if await self._persist(self._state) is False and self._reload is not None:
            # The store holds another pair by now (an operator registered a new refresh token): it wins.
            log.warning("OA token refresh for app %s: the store holds newer tokens; using them", self._app_id)
            self._state = await self._reload()
        if self._on_grant is not None:
            await self._on_grant(self._state)
        return True

    async def _after_refusal(self, answer: wire.Answer[wire.TokenGrant], spent: str) -> bool:
        """A refresh Zalo refused or did not answer: adopt a pair another process stored meanwhile, else False."""
        if self._reload is not None and not answer.timed_out:
            # A spent token: another process won the race and is committing its pair; wait for it a moment.
            tries = SPENT_RELOADS if answer.error in DEAD_REFRESH_TOKEN else 1
            for attempt in range(tries):
                if attempt:
                    await asyncio.sleep(SPENT_RELOAD_WAIT_S)
                stored = await self._reload()
                if stored.refresh_token != spent:
                    self._state = stored
                    return True
        level = logging.ERROR if answer.error in DEAD_REFRESH_TOKEN else logging.WARNING
        log.log(
            level,
            "OA token refresh for app %s failed: error=%s timed_out=%s%s",
            self._app_id,
            answer.error,
            answer.timed_out,
            " (the refresh token is dead: give a new one with `dlrhub oas update-secrets`)"
            if answer.error in DEAD_REFRESH_TOKEN
            else "",
        )
        return False


async def send_with_refresh(keeper: TokenKeeper, sender: Sender, send: wire.TemplateSend) -> wire.SendOutcome:
    """Send with the keeper's token; after -124 refresh once and retry once (Zalo refused: nothing was sent).

    Returns the final outcome; a -124 that survives the refresh is a FAILED 17004 like any Zalo error.
    """
    token = await keeper.access_token()
    outcome = await sender.send_template(token, send)
    if not outcome.token_invalid:
        return outcome
    fresh = await keeper.refresh_after_invalid(token)
    if fresh is None:
        return outcome
    return await sender.send_template(fresh, send)
