"""The customer portal, `/portal`: one account's deliveries, for that account's customer token only.

The account is always the session's (`principal.account_id`), never a request parameter: every id a page takes
(a callback, a key id) is looked up within that account by the same services the API calls, and another
account's answers as an unknown one does (404).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import fastapi

from dlrhub.core import models, scopes
from dlrhub.services import feed, keys, replay
from dlrhub.web import pages, session

router = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.customer)])
#: Every POST: a customer session, then the form's CSRF token.
ACTION = [fastapi.Depends(session.customer), fastapi.Depends(session.check_csrf)]
Customer = Annotated[scopes.Principal, fastapi.Depends(session.customer)]
CallbackId = Annotated[str, fastapi.Path(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
KeyId = Annotated[str, fastapi.Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")]
#: The undelivered list's page size.
PAGE = 50
#: "Replay all failed" takes callbacks this old at most (the retention of callbacks is shorter).
REPLAY_BACK = dt.timedelta(days=365)


def _account(who: scopes.Principal) -> str:
    assert who.account_id is not None  # session.customer refuses a principal without one
    return who.account_id


@router.get("/portal")
async def home(request: fastapi.Request, who: Customer) -> fastapi.Response:
    """The account's recent messages (each linking to its page) and the health of where its callbacks go."""
    hub = request.app.state.hub
    messages = await feed.recent_messages(hub, _account(who))
    found = await feed.destinations(hub, messages)
    return pages.render(request, "portal/home.html", messages=messages, destinations=found)


@router.get("/portal/callbacks")
async def undelivered(
    request: fastapi.Request,
    who: Customer,
    cursor: Annotated[str | None, fastapi.Query(max_length=feed.MAX_CURSOR_CHARS)] = None,
    older_than_s: Annotated[int, fastapi.Query(ge=0, le=feed.MAX_OLDER_THAN_S)] = feed.DEFAULT_OLDER_THAN_S,
) -> fastapi.Response:
    """The account's callbacks not delivered, oldest first, a page at a time, each with a Replay button."""
    page = await feed.undelivered(
        request.app.state.hub, _account(who), cursor, older_than_s=older_than_s, limit=PAGE
    )
    return pages.render(
        request, "portal/callbacks.html", page=page, older_than_s=older_than_s, first=not cursor
    )


@router.post("/portal/callbacks/{callback_id}/replay", dependencies=ACTION)
async def replay_one(request: fastapi.Request, who: Customer, callback_id: CallbackId) -> fastapi.Response:
    """Send one of the account's callbacks again (another account's answers 404, as an unknown id does)."""
    result = await replay.replay(
        request.app.state.hub,
        replay.ReplayRequest(callback_ids=(callback_id,), owner=_account(who)),
        request.state.actor,
    )
    return pages.render(request, "portal/replayed.html", result=result, confirm=False)


@router.post("/portal/callbacks/replay-failed", dependencies=ACTION)
async def replay_failed(
    request: fastapi.Request,
    who: Customer,
    confirm: Annotated[str, fastapi.Form(max_length=10)] = "",
) -> fastapi.Response:
    """Every failed or cancelled callback of the account: first the count (a dry run), then, confirmed, sent."""
    hub = request.app.state.hub
    dry_run = confirm != "yes"
    result = await replay.replay(
        hub,
        replay.ReplayRequest(
            since=hub.clock() - REPLAY_BACK,
            states=(models.CallbackState.FAILED, models.CallbackState.CANCELLED),
            limit=replay.MAX_IDS,
            dry_run=dry_run,
            owner=_account(who),
        ),
        request.state.actor,
    )
    return pages.render(request, "portal/replayed.html", result=result, confirm=dry_run)


@router.get("/portal/keys")
async def signing_keys(request: fastapi.Request, who: Customer) -> fastapi.Response:
    """The key ids of the account's live signing secrets (never the secrets), with add and retire."""
    found = await keys.signing_key_ids(request.app.state.hub, _account(who))
    return pages.render(request, "portal/keys.html", key_ids=found, notice="")


@router.post("/portal/keys", dependencies=ACTION)
async def add_key(request: fastapi.Request, who: Customer) -> fastapi.Response:
    """Add a signing secret; the answer page is the one place it is ever shown."""
    made = await keys.add_signing_secret(request.app.state.hub, _account(who), request.state.actor)
    return pages.render(request, "portal/key_added.html", made=made)


@router.post("/portal/keys/{key_id}/retire", dependencies=ACTION)
async def retire_key(request: fastapi.Request, who: Customer, key_id: KeyId) -> fastapi.Response:
    """Stop signing with one secret (not the last one: callbacks would go unsigned)."""
    hub = request.app.state.hub
    done = await keys.retire_signing_secret(hub, _account(who), key_id, request.state.actor)
    return pages.render(request, "portal/keys.html", key_ids=done["key_ids"], notice=f"Retired {key_id}.")
