"""`ZaloClient`: Zalo's business API and OAuth v4 on one aiohttp session; Zalo errors are values."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import aiohttp
import orjson

from dlrhub.dialects.zalo import templates, wire

log = logging.getLogger(__name__)

#: The engine timeout: no answer within it is a 17005 (DECISIONS › NXCloud › 17005).
DEFAULT_TIMEOUT = 10.0


class _NoAnswer(Exception):
    """Zalo did not answer in time, the connection failed, or the answer was too large to read."""


class ZaloClient:
    """Zalo's API on one `aiohttp.ClientSession` (passed in, or owned and closed by `aclose`/`async with`).

    Every call is bounded by `timeout` seconds. A call Zalo does not answer in time (or cannot be connected)
    returns the 17005 outcome (`wire.timeout_outcome`) or a timed-out `wire.Answer`. Zalo's own errors come
    back as values. Secrets and tokens are never logged.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession | None = None,
        *,
        api_base: str = wire.DEFAULT_API_BASE,
        oauth_base: str = wire.DEFAULT_OAUTH_BASE,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._session = session
        self._owned = session is None
        self.api_base = api_base.rstrip("/")
        self.oauth_base = oauth_base.rstrip("/")
        self.timeout = timeout

    async def __aenter__(self) -> ZaloClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the session if this client owns it."""
        if self._owned and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            # Shared by every OA: no cookie from Zalo's answers rides on another OA's call.
            self._session = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def _call(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        data: bytes | Mapping[str, str] | None = None,
        quiet: bool = False,
    ) -> bytes:
        """The answer's body (any HTTP status: Zalo puts its errors in the body); raises _NoAnswer (logged
        unless `quiet`)."""
        try:
            async with self._http().request(
                method,
                url,
                headers=dict(headers),
                params=dict(params) if params else None,
                data=data,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                # A redirect would carry the app secret, a refresh token or an access token (headers, and a
                # 307's body) to a host nobody configured: its answer is parsed as Zalo's, an error.
                allow_redirects=False,
            ) as resp:
                body = bytearray()
                async for chunk in resp.content.iter_chunked(16 * 1024):
                    body += chunk
                    if len(body) > wire.MAX_ANSWER_BYTES:
                        log.warning("zalo answer from %s exceeds %d bytes", url, wire.MAX_ANSWER_BYTES)
                        return b""
                return bytes(body)
        except (TimeoutError, aiohttp.ClientError) as exc:
            if not quiet:
                log.info("no answer from %s %s: %s", method, url, type(exc).__name__)
            raise _NoAnswer from exc

    def _json_headers(self, oa_token: str, **extra: str) -> dict[str, str]:
        return {"access_token": oa_token, "Content-Type": "application/json", **extra}

    async def send_template(self, oa_token: str, send: wire.TemplateSend) -> wire.SendOutcome:
        """Send a ZNS template by phone, hash phone or Zalo user id (a journey's token goes in the
        `journey_token` header).

        Returns SUCCESS/0, FAILED/17004 (Zalo's error in `zalo_res`) or FAILED/17005 (no answer).
        Raises InvalidInput when the request itself is malformed (nothing was sent).
        """
        path, body = wire.template_request(
            phone=send.phone,
            hash_phone=send.hash_phone,
            template_id=send.template_id,
            template_data=send.template_data,
            tracking_id=send.tracking_id,
            sending_mode=send.sending_mode,
            user_id=send.user_id,
        )
        headers = self._json_headers(oa_token)
        if send.journey_token is not None:
            headers["journey_token"] = send.journey_token
        try:
            raw = await self._call("POST", self.api_base + path, headers=headers, data=orjson.dumps(body))
        except _NoAnswer:
            return wire.timeout_outcome()
        return wire.send_outcome(raw)

    async def get_journey_token(
        self, oa_token: str, phone: str, token_type: str | None = None
    ) -> wire.Answer[wire.JourneyToken]:
        """Ask Zalo for a journey token for `phone` (`token_type`, when given, is passed as `token_type`)."""
        body: dict[str, Any] = {"phone": phone}
        if token_type is not None:
            body["token_type"] = token_type
        try:
            raw = await self._call(
                "POST",
                self.api_base + wire.PATH_JOURNEY_GET_TOKEN,
                headers=self._json_headers(oa_token),
                data=orjson.dumps(body),
            )
        except _NoAnswer:
            return wire.timeout_answer()
        return wire.journey_token_answer(raw)

    async def check_journey_token(
        self, oa_token: str, journey_token: str
    ) -> wire.Answer[wire.JourneyTokenInfo]:
        """Ask Zalo about a journey token (`GET /journey/check-token`)."""
        headers = {"access_token": oa_token, "journey_token": journey_token}
        try:
            raw = await self._call("GET", self.api_base + wire.PATH_JOURNEY_CHECK_TOKEN, headers=headers)
        except _NoAnswer:
            return wire.timeout_answer()
        return wire.journey_info_answer(raw)

    async def message_status(
        self, oa_token: str, message_id: str, phone: str | None = None
    ) -> wire.Answer[wire.MessageStatus]:
        """Ask Zalo where a sent message stands (`GET /message/status?message_id=…&phone=…`)."""
        params = {"message_id": message_id}
        if phone is not None:
            params["phone"] = phone
        try:
            raw = await self._call(
                "GET",
                self.api_base + wire.PATH_MESSAGE_STATUS,
                headers={"access_token": oa_token},
                params=params,
            )
        except _NoAnswer:
            return wire.timeout_answer()
        return wire.message_status_answer(raw)

    async def quota(self, oa_token: str) -> wire.Answer[wire.Quota]:
        """Ask Zalo for the OA's quota today (`GET /message/quota`, a Sec/Inf path)."""
        try:
            raw = await self._call("GET", self.api_base + wire.PATH_QUOTA, headers={"access_token": oa_token})
        except _NoAnswer:
            return wire.timeout_answer()
        return wire.quota_answer(raw)

    async def answers(self) -> bool:
        """Whether anything answers at the API base (any HTTP answer counts). A miss is not logged: a process
        that serves its own simulator asks this while its server is still starting, which is no outage."""
        try:
            await self._call("GET", self.api_base + wire.PATH_QUOTA, headers={}, quiet=True)
        except _NoAnswer:
            return False
        return True

    async def list_templates(
        self, oa_token: str, offset: int = 0, limit: int = templates.PAGE_LIMIT, status: str | None = None
    ) -> wire.Answer[templates.Page]:
        """One page of the OA's templates (`GET /template/all`; `status` filters: 1 enabled … 4 disabled)."""
        params = {"offset": str(offset), "limit": str(limit)}
        if status is not None:
            params["status"] = status
        try:
            raw = await self._call(
                "GET",
                self.api_base + templates.PATH_TEMPLATE_ALL,
                headers={"access_token": oa_token},
                params=params,
            )
        except _NoAnswer:
            return wire.timeout_answer()
        return templates.page_answer(raw)

    async def template_info(self, oa_token: str, template_id: str) -> wire.Answer[templates.Detail]:
        """One template's detail: status, parameters, price (`GET /template/info/v2`)."""
        try:
            raw = await self._call(
                "GET",
                self.api_base + templates.PATH_TEMPLATE_INFO,
                headers={"access_token": oa_token},
                params={"template_id": template_id},
            )
        except _NoAnswer:
            return wire.timeout_answer()
        return templates.detail_answer(raw)

    async def refresh_token(
        self, app_id: str, app_secret: str, refresh_token: str
    ) -> wire.Answer[wire.TokenGrant]:
        """OAuth v4 refresh grant (form-encoded, header `secret_key`); the old refresh token then dies."""
        form = {"refresh_token": refresh_token, "app_id": app_id, "grant_type": "refresh_token"}
        headers = {"secret_key": app_secret, "Content-Type": "application/x-www-form-urlencoded"}
        try:
            raw = await self._call(
                "POST", self.oauth_base + wire.PATH_OAUTH_TOKEN, headers=headers, data=form
            )
        except _NoAnswer:
            return wire.timeout_answer()
        return wire.token_grant_answer(raw)
