"""The eSMS-compatible front door: the ZNS send paths, GetCallback and the status APIs, at eSMS's own paths.

Answers follow eSMS: HTTP 200 with the result code in the body (`CodeResult`, `CodeResponse` or `Code`), except
a request over its API's per-account rate limit (GetCallback and each status API count on their own), which gets
HTTP 429 with `Retry-After` and code 160 in that API's shape, and any API while the database does not answer
(HTTP 503: `api.outage`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import fastapi

from dlrhub.adapters import ratelimit
from dlrhub.api import deps
from dlrhub.core import errors, models
from dlrhub.dialects.esms import codes, requests, responses
from dlrhub.services import esms
from dlrhub.services import hub as hub_

#: Send paths live under this prefix, as on `rest.esms.vn`.
PREFIX = "/MainService.svc/json/"
#: The GetCallback path, as on `status-sms.esms.vn`.
GET_CALLBACK = "/ZaloCallback/GetCallback"
#: The rate-limit scope of each API: each counts an account's requests on its own.
GET_CALLBACK_SCOPE = "esms-getcallback"
SEND_STATUS_SCOPE = "esms-getsendstatus"
ZNS_STATUS_SCOPE = "esms-queryznsstatus"
ZALO_STATUS_SCOPE = "esms-getzalomessagestatus"
BALANCE_SCOPE = "esms-getbalance"
_LIMITER = "esms_limiter"
#: The request body in the OpenAPI document: a JSON object (each handler reads and validates it itself).
JSON_BODY: dict[str, object] = {
    "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
}


@contextlib.asynccontextmanager
async def _lifespan(app: fastapi.FastAPI) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await close_limiter(app)


router = fastapi.APIRouter(tags=["esms"], lifespan=_lifespan)


def limiter(app: fastapi.FastAPI, hub: hub_.Hub) -> ratelimit.Limiter:
    """The app's limiter of the eSMS APIs, made on first use (Redis when `redis_url` is set)."""
    found: ratelimit.Limiter | None = getattr(app.state, _LIMITER, None)
    if found is None:
        found = ratelimit.Limiter.from_settings(hub.settings.redis_url)
        setattr(app.state, _LIMITER, found)
    return found


async def close_limiter(app: fastapi.FastAPI) -> None:
    """Close the app's limiter, if one was made."""
    found: ratelimit.Limiter | None = getattr(app.state, _LIMITER, None)
    if found is not None:
        setattr(app.state, _LIMITER, None)
        await found.close()


def _json(body: bytes, status_code: int = 200, headers: dict[str, str] | None = None) -> fastapi.Response:
    return fastapi.Response(body, status_code=status_code, media_type="application/json", headers=headers)


async def _body(request: fastapi.Request, hub: hub_.Hub) -> bytes:
    raw = await deps.read_body(request, hub.settings.max_body_bytes)
    if raw is None:
        raise codes.error(codes.Code.BAD_REQUEST_DATA, "Invalid request: body is too large")
    return raw


def _send_route(variant: requests.Variant) -> Callable[[fastapi.Request], Awaitable[fastapi.Response]]:
    async def send(request: fastapi.Request) -> fastapi.Response:
        # The hub is read here rather than through `deps.HubDep`, so that the door can go on the app's fast lane.
        hub: hub_.Hub = request.app.state.hub
        try:
            sms_id = await esms.send(hub, await _body(request, hub), variant)
        except errors.DialectError as exc:
            return _json(responses.send_error(exc.code, exc.text))
        return _json(responses.send_ok(sms_id))

    send.__name__ = f"esms_{variant.name.lower()}"
    send.__doc__ = f'eSMS `{variant.value}`: send one ZNS; answers `CodeResult` "100" with the SMSID.'
    return send


#: The send doors, one per variant: each takes only the request and answers every refusal itself.
SEND_ENDPOINTS = tuple(_send_route(variant) for variant in requests.Variant)
for _variant, _handler in zip(requests.Variant, SEND_ENDPOINTS, strict=True):
    router.add_api_route(PREFIX + _variant.value, _handler, methods=["POST"])
    router.add_api_route(
        PREFIX + _variant.value.rstrip("/"), _handler, methods=["POST"], include_in_schema=False
    )


#: How an eSMS API words a refusal: its error body for a code and text.
_Refusal = Callable[[int, str | None], bytes]


async def _over_limit(
    request: fastapi.Request,
    hub: hub_.Hub,
    limit: tuple[str, int],
    account: models.Account,
    refusal: _Refusal,
) -> fastapi.Response | None:
    """HTTP 429 with `Retry-After` and code 160 in the API's own `refusal` shape when this request of `account`
    is over its `limit` (the scope, and requests a second); None when it is within."""
    scope, per_second = limit
    wait = await limiter(request.app, hub).hit(scope, account.id, per_second)
    if wait is None:
        return None
    return _json(refusal(int(codes.Code.TPS_EXCEEDED), None), 429, {"Retry-After": str(wait)})


@router.post(GET_CALLBACK, openapi_extra=JSON_BODY)
async def get_callback(request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """eSMS GetCallback: the latest status of up to 200 messages sent with a CallbackUrl."""
    refusal = responses.get_callback_error
    try:
        query, account = await esms.authenticate_get_callback(hub, await _body(request, hub))
        limit = (GET_CALLBACK_SCOPE, hub.settings.esms_getcallback_tps)
        limited = await _over_limit(request, hub, limit, account, refusal)
        if limited is not None:
            return limited
        records = await esms.get_callback(hub, query, account)
    except errors.DialectError as exc:
        return _json(refusal(exc.code, exc.text))
    return _json(responses.get_callback(records))


async def _status(
    request: fastapi.Request,
    hub: hub_.Hub,
    api: esms.StatusApi[Any],
    given: Awaitable[Any],
    limit: tuple[str, int],
    refusal: _Refusal,
) -> fastapi.Response:
    """Answer a status API: authenticate the request's input, count it against the account's `limit`, then
    `api`'s answer; or the refusal in that API's own shape."""
    try:
        query, account = await api.authenticate(hub, await given)
        limited = await _over_limit(request, hub, limit, account, refusal)
        if limited is not None:
            return limited
        body = await api.answer(hub, query, account)
    except errors.DialectError as exc:
        return _json(refusal(exc.code, exc.text))
    return _json(responses.code_result(body))


async def _query(request: fastapi.Request) -> dict[str, Any]:
    return dict(request.query_params)


@router.get(PREFIX + "GetSendStatus")
async def get_send_status(request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """eSMS GetSendStatus (`?RefId=&ApiKey=&SecretKey=`)."""
    limit = (SEND_STATUS_SCOPE, hub.settings.esms_send_status_tps)
    return await _status(
        request, hub, esms.SEND_STATUS, _query(request), limit, responses.code_response_error
    )


@router.post(PREFIX + "QueryZnsStatus/", openapi_extra=JSON_BODY)
@router.post(PREFIX + "QueryZnsStatus", include_in_schema=False)
async def query_zns_status(request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """eSMS QueryZnsStatus: a ZNS message's status by SMSID."""
    limit = (ZNS_STATUS_SCOPE, hub.settings.esms_zns_status_tps)
    return await _status(
        request, hub, esms.ZNS_STATUS, _body(request, hub), limit, responses.code_result_error
    )


@router.post(PREFIX + "GetZaloMessageStatus", openapi_extra=JSON_BODY)
@router.post(PREFIX + "GetZaloMessageStatus/", include_in_schema=False)
async def get_zalo_message_status(request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """eSMS GetZaloMessageStatus: Zalo's delivery status of a message by its Zalo msg id."""
    limit = (ZALO_STATUS_SCOPE, hub.settings.esms_zalo_status_tps)
    return await _status(
        request, hub, esms.ZALO_MESSAGE_STATUS, _body(request, hub), limit, responses.code_result_error
    )


@router.post(PREFIX + "GetBalance_json", openapi_extra=JSON_BODY)
@router.post(PREFIX + "GetBalance_json/", include_in_schema=False)
async def get_balance(request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """eSMS GetBalance: the account's balance."""
    limit = (BALANCE_SCOPE, hub.settings.esms_balance_tps)
    return await _status(request, hub, esms.BALANCE, _body(request, hub), limit, responses.balance_error)
