"""`GET /v1/admin/orphans`: the Zalo receipts no message could take yet, behind the admin token."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import fastapi

from dlrhub import store
from dlrhub.api import deps
from dlrhub.services import zalo_inbound as inbound

router = fastapi.APIRouter(
    prefix="/v1/admin", tags=["admin"], dependencies=[fastapi.Depends(deps.require_admin)]
)

#: At most this many orphans in one answer.
MAX_LIMIT = 500


class Which(enum.StrEnum):
    """Which orphans to list."""

    #: Not matched yet (including those past the matching window, shown as `expired`).
    UNMATCHED = "unmatched"
    #: Matched to their message later.
    MATCHED = "matched"
    #: Both.
    ALL = "all"


_MATCHED: dict[Which, bool | None] = {Which.UNMATCHED: False, Which.MATCHED: True, Which.ALL: None}


def orphan_json(orphan: store.OrphanReceipt, state: str) -> dict[str, Any]:
    """An orphan receipt as the admin API shows it; `oa_id` is the OA that signed it (None if unknown)."""
    return {
        "msg_id": orphan.msg_id,
        "tracking_id": orphan.tracking_id,
        "oa_id": orphan.oa_id or None,
        "state": state,
        "received_at": orphan.received_at.isoformat(),
        "matched_at": None if orphan.matched_at is None else orphan.matched_at.isoformat(),
        "payload": orphan.payload,
    }


@router.get("/orphans")
async def list_orphans(
    hub: deps.HubDep,
    state: Which = Which.UNMATCHED,
    limit: Annotated[int, fastapi.Query(ge=1, le=MAX_LIMIT)] = 100,
) -> fastapi.Response:
    """Orphan receipts, newest first, each `waiting`, `expired` (past the 24 h matching window) or `matched`;
    `unmatched` counts every unmatched one kept (the list stops at `limit`)."""
    queue: store.ChannelQueue = hub.store
    found = await queue.list_orphan_receipts(matched=_MATCHED[state], limit=limit)
    oldest_matchable = hub.clock() - inbound.ORPHAN_WINDOW

    def state_of(orphan: store.OrphanReceipt) -> str:
        if orphan.matched_at is not None:
            return "matched"
        return "waiting" if orphan.received_at >= oldest_matchable else "expired"

    return deps.json_response(
        {
            "orphans": [orphan_json(o, state_of(o)) for o in found],
            "unmatched": await queue.count_orphan_receipts(),
        }
    )
