"""Replay: redeliver callbacks by id, by message, or by time range and state, optionally to another URL."""

from __future__ import annotations

import dataclasses
import datetime as dt

from dlrhub import store
from dlrhub.core import errors, models, urls
from dlrhub.services import audit
from dlrhub.services import hub as hub_

#: The most callbacks one replay may requeue.
MAX_REPLAY = 10_000
#: The most ids one replay may name.
MAX_IDS = 1_000


@dataclasses.dataclass(frozen=True, slots=True)
class ReplayRequest:
    """What to redeliver. Give ids, a message, or a time range (`since`); states and account narrow it."""

    callback_ids: tuple[str, ...] = ()
    message_id: str | None = None
    account_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    states: tuple[models.CallbackState, ...] = ()
    #: Only callbacks to this destination (any URL on it: read as `urls.endpoint_key` reads it).
    endpoint: str | None = None
    dialect: models.Dialect | None = None
    #: Send to this URL instead (a GET callback keeps its own query string).
    url: str | None = None
    limit: int = 1_000
    #: Only report what would be replayed.
    dry_run: bool = False
    #: The one account whose callbacks the caller may touch (a customer token's): only its callbacks are
    #: selected, and a message or account of another answers as unknown.
    owner: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ReplayResult:
    """The callbacks a replay selected, and how many it requeued (0 on a dry run)."""

    selected: list[models.Callback]
    requeued: int


def redirected(request: models.CallbackRequest, url: str) -> str:
    """The URL a callback is replayed to at `url`: POST goes to `url` as is; GET keeps its query string."""
    if request.method.upper() != "GET":
        return url
    _, sep, query = request.url.partition("?")
    if not sep or not query:
        return url
    base = url.partition("#")[0]
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{query}" if not base.endswith(("?", "&")) else base + query


def _filter(req: ReplayRequest, allow: urls.Allowlist) -> store.CallbackFilter:
    if len(req.callback_ids) > MAX_IDS:
        raise errors.InvalidInput("callback_ids", f"at most {MAX_IDS}")
    if not req.callback_ids and req.message_id is None and req.since is None:
        raise errors.InvalidInput("selector", "give callback ids, a message id, or a time range (since)")
    if req.since is not None and req.until is not None and req.until <= req.since:
        raise errors.InvalidInput("until", "must be after since")
    if not 1 <= req.limit <= MAX_REPLAY:
        raise errors.InvalidInput("limit", f"must be 1 to {MAX_REPLAY}")
    if req.url is not None:
        # An address the guard refuses is refused now, as at the send doors, not at each attempt after.
        urls.check_target(req.url, allow)
    return store.CallbackFilter(
        ids=req.callback_ids,
        message_id=req.message_id,
        account_id=req.account_id,
        created_from=req.since,
        created_to=req.until,
        states=req.states,
        endpoint=urls.endpoint_key(req.endpoint) if req.endpoint else None,
        dialect=req.dialect,
        limit=req.limit,
    )


async def replay(hub: hub_.Hub, req: ReplayRequest, actor: str = "system") -> ReplayResult:
    """Requeue the selected callbacks: pending, due now, same ids, a fresh retry schedule; a replay that requeued
    any is in the audit log under `actor` (a dry run is not).

    Raises errors.InvalidInput on a request without a selector or with bad bounds, errors.BlockedURL when
    `url` breaks the URL rules, and errors.UnknownCallback when named ids match nothing.
    """
    db: store.Callbacks = hub.store
    where = _filter(req, hub.allow(req.owner))
    if req.owner is not None:
        if req.account_id not in (None, req.owner):
            raise errors.UnknownAccount(f"no account {req.account_id!r}")
        if req.message_id is not None:
            await message(hub, req.message_id, req.owner)
        where = dataclasses.replace(where, account_id=req.owner)
    selected = await db.find_callbacks(where)
    if req.callback_ids and not selected:
        raise errors.UnknownCallback(f"no callback among {len(req.callback_ids)} id(s)")
    if req.dry_run or not selected:
        return ReplayResult(selected, 0)
    changes = []
    for cb in selected:
        url = cb.request.url if req.url is None else redirected(cb.request, req.url)
        if len(url) > urls.MAX_URL_LENGTH:
            raise errors.BlockedURL(f"replay URL for {cb.id} is longer than {urls.MAX_URL_LENGTH} characters")
        changes.append((cb.id, url, urls.endpoint_key(url), urls.health_key(cb.account_id, url)))
    count = await db.requeue_callbacks(changes, hub.clock())
    details = {
        "requeued": count,
        "callback_ids": [cb.id for cb in selected[:20]],
        "account_id": where.account_id,
        "message_id": req.message_id,
        "url": req.url,
        "endpoint": where.endpoint,
        "dialect": where.dialect.value if where.dialect else None,
    }
    target = req.message_id or where.account_id or (selected[0].id if len(selected) == 1 else "callbacks")
    await audit.record(hub, actor, action="callbacks.replay", target=target, details=details)
    return ReplayResult(selected, count)


async def message(hub: hub_.Hub, message_id: str, owner: str | None = None) -> models.Message:
    """A message, when it belongs to `owner` (if given). Raises errors.UnknownMessage, alike for a message
    that does not exist and for another account's, so a customer learns nothing of others' ids."""
    messages: store.Messages = hub.store
    found = await messages.get_message(message_id)
    if owner is not None and found.account_id != owner:
        raise errors.UnknownMessage(f"no message {message_id!r}")
    return found


async def callback(
    hub: hub_.Hub, callback_id: str, owner: str | None = None
) -> tuple[models.Callback, list[models.Attempt]]:
    """A callback with its attempts, when it belongs to `owner` (if given). Raises errors.UnknownCallback,
    alike for a callback that does not exist and for another account's."""
    callbacks: store.Callbacks = hub.store
    found = await callbacks.get_callback(callback_id)
    if owner is not None and found.account_id != owner:
        raise errors.UnknownCallback(f"no callback {callback_id!r}")
    return found, await callbacks.list_attempts(found.id)


async def history(
    hub: hub_.Hub, message_id: str, owner: str | None = None
) -> list[tuple[models.Callback, list[models.Attempt]]]:
    """A message's callbacks in order, each with its attempts, when it belongs to `owner` (if given).
    Raises errors.UnknownMessage."""
    callbacks: store.Callbacks = hub.store
    await message(hub, message_id, owner)
    found = await callbacks.list_callbacks(message_id)
    return [(cb, await callbacks.list_attempts(cb.id)) for cb in found]
