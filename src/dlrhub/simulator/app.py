"""The Zalo simulator: an ASGI app that answers like Zalo (ZNS, journeys, templates, OAuth v4) and posts signed receipts.

Failure modes are chosen by the recipient's last digits (`simulator.modes.MODES`, documented in
`docs/reference/simulator.md`). State lives in memory and is bounded; background posts are cancelled on
shutdown. Mounted inside another app, call `start()`/`aclose()` from that app's lifespan (a mounted app's own
lifespan does not run); it also starts lazily on the first request.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dlrhub.dialects.zalo import codes, webhook, wire
from dlrhub.dialects.zalo import templates as zalo_templates
from dlrhub.simulator import config as simulator_config
from dlrhub.simulator import console as simulator_console
from dlrhub.simulator import http, modes
from dlrhub.simulator import oauth as simulator_oauth
from dlrhub.simulator import outbox as simulator_outbox
from dlrhub.simulator import templates as simulator_templates

#: Lists the OAs the simulator should know (dlrhub's own, in `dlrhub serve`); reloaded on unknown credentials.
Directory = Callable[[], Awaitable[Sequence[simulator_config.SimOA]]]


@dataclasses.dataclass(slots=True)
class _Sent:
    #: As Zalo reports it in the receipt's `recipient.id`: `84…`, the hash phone, or the user id.
    recipient: str
    tracking_id: str
    oa: simulator_config.SimOA
    delivered_ms: str | None = None


@dataclasses.dataclass(slots=True)
class _Journey:
    token: str
    journey_id: str
    oa: simulator_config.SimOA
    phone: str
    created_ms: int
    expires_ms: int
    acknowledged: bool = False


class Simulator:
    """Zalo's ZNS, journey and OAuth endpoints, in memory. `app` is the ASGI application."""

    def __init__(
        self,
        config: simulator_config.SimulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        directory: Directory | None = None,
    ) -> None:
        self.config = config or simulator_config.SimulatorConfig()
        self._directory = directory
        self._known: tuple[simulator_config.SimOA, ...] = self.config.oas
        self._reload_lock = asyncio.Lock()
        self._reloads = 0
        self.webhook_url = self.config.webhook_url
        self._clock = clock
        limit = self.config.max_tracked
        self._outbox = simulator_outbox.Outbox(
            max_pending=limit,
            max_concurrent=self.config.max_concurrent_posts,
            timeout=self.config.post_timeout,
            retries=self.config.receipt_retries,
            retry_delay=self.config.retry_delay,
        )
        #: OAuth v4: the tokens it issued, and whose they are.
        self.tokens = simulator_oauth.TokenDesk(self.config, self._now_ms, self._find_oa)
        templates = simulator_templates.TemplateDesk(self.config, self.tokens)
        #: The developer console: OAs made as an operator makes one on Zalo's (searched first).
        self.console = simulator_console.Console(self.tokens.issue_refresh)
        # Tracking ids that already got their one -124 (mode `error_-124`).
        self._refused_124: http.Bounded = http.Bounded(limit)
        self._sent: http.Bounded = http.Bounded(limit)  # msg_id -> _Sent
        self._journeys: http.Bounded = http.Bounded(limit)  # journey token -> _Journey
        self._used: dict[tuple[str, str], int] = {}  # (oa_id, day) -> sends
        self.app = Starlette(
            routes=[
                Route(wire.PATH_TEMPLATE, self._send, methods=["POST"]),
                Route(wire.PATH_TEMPLATE_HASHPHONE, self._send, methods=["POST"]),
                Route(wire.PATH_JOURNEY_GET_TOKEN, self._get_journey_token, methods=["POST"]),
                Route(wire.PATH_JOURNEY_CHECK_TOKEN, self._check_journey_token, methods=["GET"]),
                Route(wire.PATH_MESSAGE_STATUS, self._message_status, methods=["GET"]),
                Route(wire.PATH_QUOTA, self._quota, methods=["GET"]),
                Route(wire.PATH_OAUTH_TOKEN, self.tokens.handle, methods=["POST"]),
                Route(zalo_templates.PATH_TEMPLATE_ALL, templates.list_all, methods=["GET"]),
                Route(zalo_templates.PATH_TEMPLATE_INFO, templates.info, methods=["GET"]),
                *self.console.routes(),
            ],
            lifespan=self._lifespan,
        )

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.aclose()

    @property
    def outbox(self) -> simulator_outbox.Outbox:
        """The posts in flight and their counters."""
        return self._outbox

    async def aclose(self) -> None:
        """Cancel pending receipts and journey timers; close the HTTP session."""
        await self._outbox.aclose()

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    async def _find_oa(
        self, match: Callable[[simulator_config.SimOA], bool]
    ) -> simulator_config.SimOA | None:
        """The known OA `match` picks; on a miss the directory is reloaded (one reload at a time, shared).

        Console OAs come first. Without a directory, an unknown credential belongs to the first configured OA.
        """
        found = next((oa for oa in (*self.console.oas.values(), *self._known) if match(oa)), None)
        if found is not None or self._directory is None:
            return found or (self.config.oas[0] if self.config.oas else None)
        seen = self._reloads
        async with self._reload_lock:
            if self._reloads == seen:
                self._known = (*self.config.oas, *await self._directory())
                self._reloads += 1
            return next((oa for oa in (*self.console.oas.values(), *self._known) if match(oa)), None)

    def _quota_left(self, oa: simulator_config.SimOA) -> int:
        day = time.strftime("%Y-%m-%d", time.gmtime(self._clock() + 7 * 3600))
        return self.config.daily_quota - self._used.get((oa.oa_id, day), 0)

    def _take_quota(self, oa: simulator_config.SimOA) -> None:
        day = time.strftime("%Y-%m-%d", time.gmtime(self._clock() + 7 * 3600))
        if len(self._used) > 10_000:
            self._used.clear()
        self._used[(oa.oa_id, day)] = self._used.get((oa.oa_id, day), 0) + 1

    def _quota_json(self, oa: simulator_config.SimOA) -> dict[str, str]:
        return {
            "dailyQuota": str(self.config.daily_quota),
            "remainingQuota": str(max(self._quota_left(oa), 0)),
        }

    async def _hang(self, request: Request) -> None:
        """Wait until the client hangs up, or `hang_seconds`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.config.hang_seconds):
                while (await request.receive())["type"] != "http.disconnect":
                    pass

    async def _send(self, request: Request) -> Response:
        oa = await self.tokens.oa_for_token(request.headers.get("access_token", ""))
        if oa is None:
            return http.error(codes.ERROR_TOKEN_INVALID)
        raw = await http.read_body(request)
        if not raw:
            return http.error(-121)
        try:
            body = wire.loads(raw)
        except Exception:
            return http.error(-122)
        if not isinstance(body, dict):
            return http.error(-122)
        found = _recipient(body, by_hash=request.url.path.endswith("/hashphone"))
        if isinstance(found, Response):
            return found
        recipient, mode = found
        tracking_id = body.get("tracking_id")
        if not isinstance(tracking_id, str) or not 0 < len(tracking_id) <= 48:
            return http.error(-132)
        if not isinstance(body.get("template_id"), str) or not body["template_id"]:
            return http.error(-109)
        if not isinstance(body.get("template_data"), dict) or not body["template_data"]:
            return http.error(-111)
        sending_mode = body.get("sending_mode", "1")
        if sending_mode not in ("1", "2", "3"):
            return http.error(-161)
        journey: _Journey | None = None
        if "journey_token" in request.headers:
            journey = self._journeys.get(request.headers["journey_token"])
            if journey is None:
                return http.error(-148)
            if self._now_ms() >= journey.expires_ms:
                return http.error(-150)
            if journey.oa.oa_id != oa.oa_id:
                return http.error(-149)
        fixed = {
            modes.Mode.ERROR_118: -118,
            modes.Mode.ERROR_114: -114,
            modes.Mode.ERROR_108: -108,
        }
        if mode in fixed:
            return http.error(fixed[mode])
        if mode is modes.Mode.ERROR_124 and tracking_id not in self._refused_124:
            # The token itself stays valid: killing it would fail unrelated sends racing with the refresh.
            self._refused_124[tracking_id] = True
            return http.error(codes.ERROR_TOKEN_INVALID)
        if mode in (modes.Mode.OUT_OF_QUOTA, modes.Mode.DAILY_LIMIT):
            code = -115 if mode is modes.Mode.OUT_OF_QUOTA else -144
            return http.error(
                code, data={"quota": {"dailyQuota": str(self.config.daily_quota), "remainingQuota": "0"}}
            )
        if mode is modes.Mode.NO_ANSWER:
            await self._hang(request)
            return http.error(-100)
        if self._quota_left(oa) <= 0:
            return http.error(-144, data={"quota": self._quota_json(oa)})
        self._take_quota(oa)
        msg_id = secrets.token_hex(10)
        sent = _Sent(recipient, tracking_id, oa)
        self._sent[msg_id] = sent
        if mode is modes.Mode.RECEIPT_FIRST:
            await self._deliver(msg_id, sent, journey)
        elif mode is not modes.Mode.NO_RECEIPT:
            copies = 2 if mode is modes.Mode.RECEIPT_TWICE else 1
            self._outbox.schedule(
                self.config.receipt_delay, lambda: self._deliver(msg_id, sent, journey, copies)
            )
        data = {
            "msg_id": msg_id,
            "sent_time": str(self._now_ms()),
            "sending_mode": sending_mode,
            "quota": self._quota_json(oa),
        }
        return http.json_response({"error": 0, "message": "Success", "data": data})

    async def _post_event(self, oa: simulator_config.SimOA, body: dict[str, Any], *, zns: bool) -> bool:
        url = self.webhook_url
        if url is None:
            return False
        raw = webhook.encode(body)
        headers = {
            "Content-Type": "application/json",
            webhook.SIGNATURE_HEADER: webhook.signature(oa.app_id, raw, body["timestamp"], oa.oa_secret),
        }
        if zns:
            headers[webhook.SERVER_HEADER] = webhook.SERVER_ZNS
        return await self._outbox.post(url, raw, headers)

    async def _deliver(self, msg_id: str, sent: _Sent, journey: _Journey | None, copies: int = 1) -> None:
        """Post the receipt (`copies` times, identical), then the journey's first acknowledgement."""
        now = self._now_ms()
        sent.delivered_ms = str(now)
        body = {
            "sender": {"id": sent.oa.oa_id},
            "recipient": {"id": sent.recipient},
            "event_name": webhook.USER_RECEIVED_MESSAGE,
            "message": {"delivery_time": str(now), "msg_id": msg_id, "tracking_id": sent.tracking_id},
            "app_id": sent.oa.app_id,
            "timestamp": str(now),
        }
        for _ in range(copies):
            await self._post_event(sent.oa, body, zns=True)
        if journey is not None and not journey.acknowledged:
            journey.acknowledged = True
            ack = {
                "app_id": journey.oa.app_id,
                "oa_id": journey.oa.oa_id,
                "event_name": webhook.JOURNEY_ACKNOWLEDGED,
                "journey_id": journey.journey_id,
                "msg_id": msg_id,
                "tracking_id": sent.tracking_id,
                "timestamp": str(self._now_ms()),
            }
            await self._post_event(journey.oa, ack, zns=False)

    async def _time_out(self, journey: _Journey) -> None:
        if journey.acknowledged:
            return
        body = {
            "app_id": journey.oa.app_id,
            "oa_id": journey.oa.oa_id,
            "event_name": webhook.JOURNEY_TIME_OUT,
            "journey_id": journey.journey_id,
            "timestamp": str(self._now_ms()),
        }
        await self._post_event(journey.oa, body, zns=False)

    async def _get_journey_token(self, request: Request) -> Response:
        oa = await self.tokens.oa_for_token(request.headers.get("access_token", ""))
        if oa is None:
            return http.error(codes.ERROR_TOKEN_INVALID)
        raw = await http.read_body(request)
        try:
            body = wire.loads(raw or b"")
        except Exception:
            return http.error(-122)
        phone = body.get("phone") if isinstance(body, dict) else None
        if not isinstance(phone, str) or not phone.lstrip("+").isdigit() or not 8 <= len(phone) <= 16:
            return http.error(-108)
        now = self._now_ms()
        journey = _Journey(
            token=secrets.token_urlsafe(24),
            journey_id=str(10**18 + secrets.randbelow(9 * 10**18)),
            oa=oa,
            phone=phone,
            created_ms=now,
            expires_ms=now + int(self.config.journey_lifetime * 1000),
        )
        self._journeys[journey.token] = journey
        self._outbox.schedule(self.config.journey_lifetime, lambda: self._time_out(journey))
        return http.json_response(
            {"error": 0, "message": "Success", "token": journey.token, "journey_id": journey.journey_id}
        )

    async def _check_journey_token(self, request: Request) -> Response:
        oa = await self.tokens.oa_for_token(request.headers.get("access_token", ""))
        if oa is None:
            return http.error(codes.ERROR_TOKEN_INVALID)
        journey = self._journeys.get(request.headers.get("journey_token", ""))
        if journey is None:
            return http.error(-148)
        data = {
            "appId": journey.oa.app_id,
            "oaId": journey.oa.oa_id,
            "createdAt": str(journey.created_ms),
            "expiredAt": str(journey.expires_ms),
        }
        return http.json_response({"error": 0, "message": "Success", "data": data})

    async def _message_status(self, request: Request) -> Response:
        if await self.tokens.oa_for_token(request.headers.get("access_token", "")) is None:
            return http.error(codes.ERROR_TOKEN_INVALID)
        sent = self._sent.get(request.query_params.get("message_id", ""))
        if sent is None:
            return http.error(-107)
        if sent.delivered_ms is None:
            data = {"delivery_time": None, "message": "The message was sent to Zalo's server", "status": 0}
        else:
            data = {
                "delivery_time": sent.delivered_ms,
                "message": "The message was delivered to the user's phone",
                "status": 1,
            }
        return http.json_response({"error": 0, "message": "Success", "data": data})

    async def _quota(self, request: Request) -> Response:
        oa = await self.tokens.oa_for_token(request.headers.get("access_token", ""))
        if oa is None:
            return http.error(codes.ERROR_TOKEN_INVALID)
        return http.json_response({"error": 0, "message": "Success", "data": self._quota_json(oa)})


def _recipient(body: dict[str, Any], *, by_hash: bool) -> tuple[str, modes.Mode] | Response:
    """Who a send goes to (as the receipt will name them) and its mode; or Zalo's error answer.

    `/message/template` takes `phone` or (dlrhub's choice, Inf) `user_id`, never both; a user id gets its mode
    from its last digits like a phone. `/message/template/hashphone` takes a 64-character hash in `phone`.
    """
    phone, user_id = body.get("phone"), body.get("user_id")
    if by_hash:
        if not isinstance(phone, str) or len(phone) != 64:
            return http.error(-108)
        return phone, modes.Mode.OK
    if user_id is not None:
        if phone is not None or not isinstance(user_id, str) or not wire.USER_ID.fullmatch(user_id):
            return http.error(-132)
        return user_id, modes.mode_for(user_id)
    if not isinstance(phone, str) or not phone.lstrip("+").isdigit() or not 8 <= len(phone) <= 16:
        return http.error(-108)
    return http.normal_phone(phone), modes.mode_for(phone)


def create_app(config: simulator_config.SimulatorConfig | None = None) -> Starlette:
    """A simulator's ASGI app (for `uvicorn dlrhub.simulator.app:create_app --factory`)."""
    return Simulator(config).app
