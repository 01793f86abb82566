"""The Zalo webhook: `POST /zalo/webhook` takes signed receipts and journey events from Zalo (or the simulator)."""

from __future__ import annotations

import fastapi

from dlrhub.api import deps
from dlrhub.core import errors
from dlrhub.dialects.zalo import webhook
from dlrhub.services import zalo_inbound as inbound

router = fastapi.APIRouter(tags=["zalo"])


@router.post("/zalo/webhook")
async def zalo_webhook(request: fastapi.Request, hub: deps.HubDep) -> fastapi.Response:
    """200 once the event is recorded (or kept as an orphan, or ignored); 401 and nothing stored when the
    `X-ZEvent-Signature` does not hold; 400 for a malformed body; 413 over 64 KiB."""
    raw = await deps.read_body(request, webhook.MAX_BODY_BYTES)
    if raw is None:
        return deps.problem(413, "body_too_large", f"the body exceeds {webhook.MAX_BODY_BYTES} bytes")
    try:
        result = await inbound.handle(hub, raw, request.headers)
    except errors.InvalidInput as exc:
        return deps.problem(400, "invalid_request", str(exc), field=exc.field)
    except errors.NotAuthorized as exc:
        return deps.problem(401, "not_authorized", str(exc))
    return deps.json_response({"error": 0, "message": "Success", "result": result.value})
