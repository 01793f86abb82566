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


@dataclasses.dataclass(frozen=True, slots=True)
class TokenState:
    """An OA's current tokens. The refresh token is single-use."""

    access_token: str
    refresh_token: str
    expires_at: dt.datetime


def needs_refresh(state: TokenState, now: dt.datetime, margin: dt.timedelta = DEFAULT_MARGIN) -> bool:
    """Whether the access token is within `margin` of expiry (or past it)."""
    return now >= state.expires_at - margin


def after_grant(grant: wire.TokenGrant, now: dt.datetime) -> TokenState:
    """The state a successful grant leads to (`expires_in` seconds from `now`)."""
    return TokenState(grant.access_token, grant.refresh_token, now + dt.timedelta(seconds=grant.expires_in))


class Refresher(Protocol):
    """The one client call the keeper needs (`ZaloClient.refresh_token`)."""

    async def refresh_token(
        self, app_id: str, app_secret: str, refresh_token: str
    ) -> wire.Answer[wire.TokenGrant]: ...


class Sender(Protocol):
    """The one client call `send_with_refresh` needs (`ZaloClient.send_template`)."""

    async def send_template(self, oa_token: str, send: wire.TemplateSend) -> wire.SendOutcome: ...


Persist = Callable[[TokenState], Awaitable[None]]
Reload = Callable[[], Awaitable[TokenState]]
#: A lock shared by every process refreshing this OA (`Store.oa_token_lock`), held around reload, grant, persist.
SharedLock = Callable[[], contextlib.AbstractAsyncContextManager[None]]


class TokenKeeper:
    """Keeps one OA's access token fresh. Refreshes are single-flight, so concurrent callers share one grant.

    `persist` is awaited with the new state before the new access token is handed out: the old refresh token
    is dead once Zalo answers, so the new one must be stored first. If `persist` raises, the error propagates
    (the new state is still kept in memory, so this process can go on). `reload`, when given, reads the stored
    tokens before each refresh, so processes sharing an OA adopt each other's grants. `lock`, when given, is
    held around reload, grant and persist, so two processes never spend the same refresh token at once.
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
    ) -> None:
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
        answer = await self._refresher.refresh_token(
            self._app_id, self._app_secret, self._state.refresh_token
        )
        if answer.value is None:
            log.warning(
                "OA token refresh for app %s failed: error=%s timed_out=%s",
                self._app_id,
                answer.error,
                answer.timed_out,
            )
            return False
        self._state = after_grant(answer.value, self._clock())
        self.refreshes += 1
        await self._persist(self._state)
        return True


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
