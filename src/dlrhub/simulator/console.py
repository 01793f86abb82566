"""The Zalo simulator's developer console: make an OA with its app, re-authorize it, reset its secrets.

Zalo's own console is a web page an operator clicks through; the simulator's is a few JSON routes under
`/console/oas`, so tests and the demo can onboard an OA the way an operator does with a real one: get its app id,
app secret, OA secret and a refresh token, then register them in dlrhub. What the console holds is the Zalo side's
truth: it is searched before any other OA the simulator knows.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dlrhub.dialects.zalo import wire
from dlrhub.simulator import config as simulator_config
from dlrhub.simulator import http

#: Issues a refresh token for an OA (`oauth.TokenDesk.issue_refresh`).
IssueRefresh = Callable[[simulator_config.SimOA], str]
#: At most this many OAs are made through the console.
MAX_OAS = 10_000


def _digits(n: int) -> str:
    return str(secrets.randbelow(9 * 10 ** (n - 1)) + 10 ** (n - 1))


class Console:
    """The OAs made through the console (`oas`, by id) and the routes that make and change them."""

    def __init__(self, issue_refresh: IssueRefresh) -> None:
        self._issue = issue_refresh
        self.oas: dict[str, simulator_config.SimOA] = {}

    def create_oa(
        self, oa_id: str | None = None, app_id: str | None = None
    ) -> tuple[simulator_config.SimOA, str]:
        """A new OA with a new app and secrets, and a refresh token for it (as Zalo's authorization gives)."""
        if len(self.oas) >= MAX_OAS:
            raise ValueError("too many OAs")
        oa = simulator_config.SimOA(
            oa_id=oa_id or _digits(19),
            oa_secret=secrets.token_urlsafe(18),
            app_id=app_id or _digits(19),
            app_secret=secrets.token_urlsafe(18),
        )
        self.oas[oa.oa_id] = oa
        return oa, self._issue(oa)

    def authorize(self, oa_id: str) -> str | None:
        """A new refresh token for a console OA (the operator authorizes the app again); None if unknown."""
        oa = self.oas.get(oa_id)
        return None if oa is None else self._issue(oa)

    def reset_secrets(
        self, oa_id: str, *, app_secret: bool = True, oa_secret: bool = True
    ) -> simulator_config.SimOA | None:
        """New app and/or OA secrets for a console OA (the old ones stop working at once); None if unknown."""
        oa = self.oas.get(oa_id)
        if oa is None:
            return None
        self.oas[oa_id] = dataclasses.replace(
            oa,
            app_secret=secrets.token_urlsafe(18) if app_secret else oa.app_secret,
            oa_secret=secrets.token_urlsafe(18) if oa_secret else oa.oa_secret,
        )
        return self.oas[oa_id]

    def routes(self) -> list[Route]:
        """`POST /console/oas`, `POST /console/oas/{oa_id}/refresh-token`, `…/reset-secrets`."""
        return [
            Route("/console/oas", self._create, methods=["POST"]),
            Route("/console/oas/{oa_id}/refresh-token", self._authorize, methods=["POST"]),
            Route("/console/oas/{oa_id}/reset-secrets", self._reset, methods=["POST"]),
        ]

    async def _options(self, request: Request) -> dict[str, object]:
        raw = await http.read_body(request)
        try:
            body = wire.loads(raw) if raw else {}
        except Exception:
            body = None
        return body if isinstance(body, dict) else {}

    async def _create(self, request: Request) -> Response:
        body = await self._options(request)
        oa_id, app_id = body.get("oa_id"), body.get("app_id")
        for value in (oa_id, app_id):
            if value is not None and not (isinstance(value, str) and value.isdigit() and len(value) <= 32):
                return http.json_response({"error": "bad_request", "message": "ids are digits"}, 400)
        if isinstance(oa_id, str) and oa_id in self.oas:
            return http.json_response({"error": "conflict", "message": "this OA exists"}, 409)
        try:
            oa, refresh = self.create_oa(
                oa_id if isinstance(oa_id, str) else None, app_id if isinstance(app_id, str) else None
            )
        except ValueError as exc:
            return http.json_response({"error": "conflict", "message": str(exc)}, 409)
        made = {
            "oa_id": oa.oa_id,
            "app_id": oa.app_id,
            "app_secret": oa.app_secret,
            "oa_secret": oa.oa_secret,
        }
        return http.json_response({**made, "refresh_token": refresh}, 201)

    async def _authorize(self, request: Request) -> Response:
        refresh = self.authorize(request.path_params["oa_id"])
        if refresh is None:
            return http.json_response({"error": "not_found", "message": "no such OA"}, 404)
        return http.json_response({"refresh_token": refresh})

    async def _reset(self, request: Request) -> Response:
        body = await self._options(request)
        oa = self.reset_secrets(
            request.path_params["oa_id"],
            app_secret=body.get("app_secret", True) is not False,
            oa_secret=body.get("oa_secret", True) is not False,
        )
        if oa is None:
            return http.json_response({"error": "not_found", "message": "no such OA"}, 404)
        return http.json_response({"oa_id": oa.oa_id, "app_secret": oa.app_secret, "oa_secret": oa.oa_secret})
