"""The Zalo simulator's OAuth v4: it issues access tokens and single-use refresh tokens, and knows whose they are."""

from __future__ import annotations

import secrets
import urllib.parse
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from dlrhub.simulator import config as simulator_config
from dlrhub.simulator import http

#: The simulator's OAuth error codes: -14020 for a spent refresh token is from research of public issues
#: (protocols.md §3.6b); the others are the simulator's own (Zalo's refresh-specific codes were not found, §3.6).
OAUTH_BAD_APP = -14001
OAUTH_BAD_SECRET = -14002
OAUTH_BAD_REFRESH_TOKEN = -14014
OAUTH_SPENT_REFRESH_TOKEN = -14020

#: Finds the known OA a predicate picks (reloading the simulator's directory on a miss).
FindOA = Callable[[Callable[[simulator_config.SimOA], bool]], Awaitable[simulator_config.SimOA | None]]


class TokenDesk:
    """`POST /v4/oa/access_token`, and which OA an access token belongs to.

    A refresh token works once: the grant that spends it returns a new pair, and a second use is refused
    with OAUTH_SPENT_REFRESH_TOKEN, as Zalo does. The OA a token names is looked up again by id, so a secret
    reset in the console applies to tokens issued before it.
    """

    def __init__(
        self, config: simulator_config.SimulatorConfig, clock_ms: Callable[[], int], find_oa: FindOA
    ) -> None:
        self.config = config
        self._now_ms = clock_ms
        self._find_oa = find_oa
        limit = config.max_tracked
        self._tokens = http.Bounded(limit)  # access token -> (SimOA, expires_ms)
        self._refresh = http.Bounded(limit)  # refresh token -> SimOA
        self._used_refresh = http.Bounded(limit)
        #: Successful grants (for tests: two racing refreshers must make one).
        self.grants = 0

    def issue_refresh(self, oa: simulator_config.SimOA) -> str:
        """A new refresh token for `oa` (the console's authorization)."""
        refresh = "simr." + secrets.token_urlsafe(24)
        self._refresh[refresh] = oa
        return refresh

    async def _current(self, oa: simulator_config.SimOA) -> simulator_config.SimOA:
        return await self._find_oa(lambda o: o.oa_id == oa.oa_id) or oa

    async def oa_for_token(self, token: str) -> simulator_config.SimOA | None:
        """The OA a token belongs to, or None when it is empty, unknown or expired (-124)."""
        if not token or len(token) > 512:
            return None
        issued = self._tokens.get(token)
        if issued is not None:
            oa, expires_ms = issued
            return await self._current(oa) if self._now_ms() < expires_ms else None
        return await self._find_oa(lambda oa: oa.access_token == token)

    async def handle(self, request: Request) -> Response:
        """The OAuth v4 token endpoint: `refresh_token` and `authorization_code` grants (form-encoded)."""
        raw = await http.read_body(request) or b""
        try:
            form = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), max_num_fields=10)
        except ValueError:  # more fields than that: refused as Zalo refuses a form it cannot read
            return _refused(OAUTH_BAD_REFRESH_TOKEN, "Invalid grant_type")
        app_id = form.get("app_id", [""])[0]
        grant = form.get("grant_type", [""])[0]
        old = form.get("refresh_token", [""])[0]
        oa: simulator_config.SimOA | None
        if grant == "refresh_token":
            if old in self._used_refresh:
                return _refused(OAUTH_SPENT_REFRESH_TOKEN, "Refresh token has been used")
            if not old or len(old) > 512:
                return _refused(OAUTH_BAD_REFRESH_TOKEN, "Invalid refresh_token")
            issued = self._refresh.get(old)
            oa = (
                await self._current(issued)
                if issued
                else await self._find_oa(lambda o: o.refresh_token == old)
            )
            if oa is None:
                return _refused(OAUTH_BAD_REFRESH_TOKEN, "Invalid refresh_token")
        elif grant == "authorization_code" and form.get("code", [""])[0]:
            oa = await self._find_oa(lambda o: o.app_id == app_id)
        else:
            return _refused(OAUTH_BAD_REFRESH_TOKEN, "Invalid grant_type")
        if oa is None or app_id != oa.app_id:
            return _refused(OAUTH_BAD_APP, "Invalid app_id")
        if request.headers.get("secret_key", "") != oa.app_secret:
            return _refused(OAUTH_BAD_SECRET, "Invalid secret_key")
        if grant == "refresh_token":
            if old in self._used_refresh:  # spent by a racing request while the directory was read
                return _refused(OAUTH_SPENT_REFRESH_TOKEN, "Refresh token has been used")
            self._refresh.pop(old, None)
            self._used_refresh[old] = True
        access = "sim." + secrets.token_urlsafe(24)
        self._tokens[access] = (oa, self._now_ms() + self.config.token_ttl * 1000)
        refresh = self.issue_refresh(oa)
        self.grants += 1
        return http.json_response(
            {"access_token": access, "refresh_token": refresh, "expires_in": str(self.config.token_ttl)}
        )


def _refused(code: int, message: str) -> Response:
    return http.json_response({"error": code, "message": message})
