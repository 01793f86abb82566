"""`GET /v1/admin/audit`: the audit log of admin actions, newest first, filtered and paged by cursor."""

from __future__ import annotations

from typing import Annotated, Any

import fastapi

from dlrhub import store
from dlrhub.api import deps, native
from dlrhub.core import control, errors
from dlrhub.services import audit

router = fastapi.APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[fastapi.Depends(deps.require_admin)]
)

#: At most this many entries in one answer.
MAX_LIMIT = 500
Short = Annotated[str | None, fastapi.Query(min_length=1, max_length=200)]


def entry_json(entry: control.AuditEntry) -> dict[str, Any]:
    """An audit entry as the API and the CLI show it."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "details": entry.details,
    }


@router.get(
    "/audit",
    responses={
        200: {"description": "Entries, newest first; `next_cursor` fetches the page after (null: no more)."},
        422: {"description": "A bad filter (e.g. `until` not after `since`)."},
    },
)
async def list_audit(
    hub: deps.HubDep,
    actor: Short = None,
    action: Short = None,
    target: Short = None,
    since: Annotated[native.AwareTime | None, fastapi.Query(description="At or after this time.")] = None,
    until: Annotated[native.AwareTime | None, fastapi.Query(description="Before this time.")] = None,
    cursor: Annotated[str | None, fastapi.Query(max_length=64, description="A `next_cursor`.")] = None,
    limit: Annotated[int, fastapi.Query(ge=1, le=MAX_LIMIT)] = 100,
) -> fastapi.Response:
    """Admin actions (who, what, on which id, when), newest first, each filter narrowing them."""
    if since is not None and until is not None and until <= since:
        raise errors.InvalidInput("until", "must be after since")
    where = store.AuditFilter(
        actor=actor, action=action, target=target, since=since, until=until, before_id=cursor, limit=limit
    )
    found = await audit.entries(hub, where)
    next_cursor = found[-1].id if len(found) == limit else None
    return deps.json_response({"entries": [entry_json(e) for e in found], "next_cursor": next_cursor})
