"""The NXCloud front door: `POST /v1/zalo/mt`, `/initJourneyToken` and `/checkJourneyToken`, signed requests.

Every answer is HTTP 200 with NXCloud's `{"code", "message"[, "data"]}` body (HTTP 503 and 9001 while the
database does not answer: `api.outage`). Bodies are read raw (the signature
covers their exact bytes) and bounded; anything refused gets a code from `dialects.nxcloud.codes`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import fastapi

from dlrhub.adapters.zalo import client as zalo_client
from dlrhub.api import deps
from dlrhub.core import errors
from dlrhub.dialects.nxcloud import codes, requests, responses, signing
from dlrhub.services import hub as hub_
from dlrhub.services import nxcloud, zalo_wiring

log = logging.getLogger(__name__)

router = fastapi.APIRouter(prefix="/v1/zalo", tags=["nxcloud"])

_JSON = "application/json"
_OPENAPI_BODY = {
    "requestBody": {"required": True, "content": {_JSON: {"schema": {"type": "object"}}}},
    "parameters": [
        {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
        for name in ("accessKey", "ts", "bizType", "action", "sign")
    ]
    + [{"name": "algorithm", "in": "header", "required": False, "schema": {"enum": ["md5", "sha256"]}}],
}

Handler = Callable[[hub_.Hub, fastapi.Request, nxcloud.Signed, bytes], Awaitable[bytes]]


def _answer(body: bytes) -> fastapi.Response:
    return fastapi.Response(body, media_type=_JSON)


async def _signed(
    request: fastapi.Request, api: str, handle: Handler, *, take_first: bool = True
) -> fastapi.Response:
    """Read, authenticate and hand a signed request to `handle`; every refusal becomes a coded answer. Its
    signature is taken first unless `take_first` is False: then `handle` takes it (`nxcloud.send_mt`)."""
    # The hub is read here rather than through `deps.HubDep`: a sync dependency costs a thread-pool hop on
    # this hot path (measured by bench/ingest.py).
    hub: hub_.Hub = request.app.state.hub
    limit = min(hub.settings.max_body_bytes, requests.MAX_BODY_BYTES)
    raw = await deps.read_body(request, limit)
    try:
        if raw is None:
            raise codes.error(codes.Code.PARAMETER_ERROR)
        # A plain dict of the ASGI headers is cheaper to search than `request.headers`; it refuses repeats.
        headers = signing.collect_headers(request.scope["headers"])
        signed = await nxcloud.verify(hub, headers, raw, api=api)
        if take_first:
            await nxcloud.take(hub, signed.signature)
        return _answer(await handle(hub, request, signed, raw))
    except errors.DialectError as err:
        return _answer(responses.from_error(err))
    except errors.StoreUnavailable:
        raise  # answered by `outage`, without a traceback per request
    except errors.DlrhubError:
        log.exception("nxcloud %s failed", api)
        return _answer(responses.refused(codes.Code.UNKNOWN))


@contextlib.asynccontextmanager
async def _zalo(request: fastapi.Request, hub: hub_.Hub) -> AsyncIterator[zalo_client.ZaloClient]:
    """The app's shared Zalo client (`app.state.zalo_client`, set by `zalo.wiring`), else one for this call."""
    shared = getattr(request.app.state, "zalo_client", None)
    if isinstance(shared, zalo_client.ZaloClient):
        yield shared
        return
    async with zalo_wiring.make_client(hub.settings) as client:
        yield client


async def _mt(hub: hub_.Hub, request: fastapi.Request, signed: nxcloud.Signed, raw: bytes) -> bytes:
    message = await nxcloud.send_mt(hub, signed.account, raw, signed.signature)
    return responses.accepted(message.id)


async def _init(hub: hub_.Hub, request: fastapi.Request, signed: nxcloud.Signed, raw: bytes) -> bytes:
    async with _zalo(request, hub) as zalo:
        journey = await nxcloud.init_journey_token(hub, zalo, signed.account, raw)
    return responses.journey_token(journey.journey_id, journey.token)


async def _check(hub: hub_.Hub, request: fastapi.Request, signed: nxcloud.Signed, raw: bytes) -> bytes:
    async with _zalo(request, hub) as zalo:
        info = await nxcloud.check_journey_token(hub, zalo, signed.account, raw)
    return responses.journey_check(
        int(info.created_at.timestamp() * 1000),
        int(info.expired_at.timestamp() * 1000),
        info.app_id,
        info.token_type,
        info.oa_id,
    )


@router.post("/mt", openapi_extra=_OPENAPI_BODY)
async def mt(request: fastapi.Request) -> fastapi.Response:
    """Send one ZNS template message. Answers `{"code":0,"message":"Success","data":{"requestId":…}}`."""
    return await _signed(request, "mt", _mt, take_first=False)


@router.post("/initJourneyToken", openapi_extra=_OPENAPI_BODY)
async def init_journey_token(request: fastapi.Request) -> fastapi.Response:
    """Get a Zalo journey token for a phone: `data` is `{journeyId, token}`."""
    return await _signed(request, "initJourneyToken", _init)


@router.post("/checkJourneyToken", openapi_extra=_OPENAPI_BODY)
async def check_journey_token(request: fastapi.Request) -> fastapi.Response:
    """Show a journey token: `data` is `{createdAt, expiredAt, appId, tokenType, oaId}` (ms strings)."""
    return await _signed(request, "checkJourneyToken", _check)
