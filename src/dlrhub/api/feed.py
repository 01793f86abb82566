"""Reconciliation routes of the native API: an account's status-event feed and its callbacks not delivered.

A customer token reads its own account (naming another answers 403); an admin or read token names the account
with `account_id`. Both pages carry a cursor to go on from (docs/howto/reconciliation.md).
"""

from __future__ import annotations

from typing import Annotated, Any

import fastapi

from dlrhub import store
from dlrhub.api import deps, native
from dlrhub.services import feed

router = fastapi.APIRouter(prefix="/v1", tags=["reconciliation"])

Cursor = Annotated[
    str | None,
    fastapi.Query(max_length=feed.MAX_CURSOR_CHARS, description="The `next_cursor` of the previous page."),
]
Limit = Annotated[int, fastapi.Query(ge=1, le=feed.MAX_LIMIT, description="Page size.")]
AccountId = Annotated[
    native.Id | None,
    fastapi.Query(description="The account (admin and read tokens; a customer token may name only its own)."),
]


def event_json(found: store.FeedEvent) -> dict[str, Any]:
    """One event of the feed as the API shows it."""
    event = found.event
    return {
        "event_id": event.id,
        "message_id": event.message_id,
        "journey_id": event.journey_id,
        "seq": event.seq,
        "status": event.kind.value,
        "code": event.code,
        "text": event.text,
        "occurred_at": event.occurred_at.isoformat(),
        "recorded_at": found.recorded_at.isoformat(),
    }


def undelivered_json(found: store.Undelivered) -> dict[str, Any]:
    """One undelivered callback as the API shows it."""
    cb = found.callback
    return {
        "callback_id": cb.id,
        "message_id": cb.message_id,
        "event_id": cb.event_id,
        "seq": cb.seq,
        "url": cb.request.url,
        "endpoint": cb.endpoint,
        "state": cb.state.value,
        "attempts": cb.attempts,
        "last_outcome": cb.last_outcome.value if cb.last_outcome else None,
        "last_status": cb.last_status,
        "last_error": found.last_error,
        "due_at": cb.due_at.isoformat(),
        "created_at": cb.created_at.isoformat(),
    }


@router.get("/feed/events")
async def feed_events(
    hub: deps.HubDep,
    who: deps.Puller,
    cursor: Cursor = None,
    limit: Limit = feed.DEFAULT_LIMIT,
    account_id: AccountId = None,
) -> fastapi.Response:
    """The account's applied status events in feed order, each with its message's `seq` (the one its callbacks
    carry). Go on from `next_cursor`, always given: a page shorter than `limit` means caught up for now."""
    account = await feed.account_of(hub, who, account_id)
    page = await feed.events(hub, account, cursor, limit)
    return deps.json_response(
        {
            "account_id": account,
            "events": [event_json(e) for e in page.events],
            "next_cursor": page.next_cursor,
        }
    )


@router.get("/callbacks/undelivered")
async def undelivered_callbacks(
    hub: deps.HubDep,
    who: deps.Puller,
    older_than_s: Annotated[
        int,
        fastapi.Query(ge=0, le=feed.MAX_OLDER_THAN_S, description="A pending callback this old counts."),
    ] = feed.DEFAULT_OLDER_THAN_S,
    cursor: Cursor = None,
    limit: Limit = feed.DEFAULT_LIMIT,
    account_id: AccountId = None,
) -> fastapi.Response:
    """The account's callbacks not delivered: failed or cancelled, or pending for `older_than_s` seconds,
    oldest first. `next_cursor` is null after the last page. Replay them with `POST /v1/callbacks/replay`."""
    account = await feed.account_of(hub, who, account_id)
    page = await feed.undelivered(hub, account, cursor, older_than_s=older_than_s, limit=limit)
    return deps.json_response(
        {
            "account_id": account,
            "callbacks": [undelivered_json(c) for c in page.callbacks],
            "next_cursor": page.next_cursor,
        }
    )
