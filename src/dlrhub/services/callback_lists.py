"""The dashboard's callback lists: the failed (given up or cancelled) and the pending, filtered, a page at a time,
and the bulk replay of a list's selection (a dry run first, then at most the count it showed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum

from dlrhub import store
from dlrhub.core import errors, models, urls
from dlrhub.services import hub as hub_
from dlrhub.services import replay

#: Rows on one page by default, and at most.
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class Listing(enum.StrEnum):
    """Which callbacks a list shows."""

    #: Given up after their retries, or cancelled (a disabled destination): replay sends them again.
    FAILED = "failed"
    #: Waiting for an attempt (due now or later).
    PENDING = "pending"


STATES: dict[Listing, tuple[models.CallbackState, ...]] = {
    Listing.FAILED: (models.CallbackState.FAILED, models.CallbackState.CANCELLED),
    Listing.PENDING: (models.CallbackState.PENDING,),
}


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """A list's filter: all given must match. `endpoint` is any URL on the destination."""

    listing: Listing = Listing.FAILED
    account_id: str | None = None
    endpoint: str | None = None
    dialect: models.Dialect | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """One page of a list, newest first, and the keyset of the next page (None on the last)."""

    callbacks: list[models.Callback]
    next: tuple[dt.datetime, str] | None


def _filter(q: Query) -> store.CallbackFilter:
    if q.since is not None and q.until is not None and q.until <= q.since:
        raise errors.InvalidInput("until", "must be after since")
    return store.CallbackFilter(
        account_id=q.account_id,
        created_from=q.since,
        created_to=q.until,
        states=STATES[q.listing],
        endpoint=urls.endpoint_key(q.endpoint) if q.endpoint else None,
        dialect=q.dialect,
    )


async def page(
    hub: hub_.Hub, q: Query, before: tuple[dt.datetime, str] | None = None, size: int = PAGE_SIZE
) -> Page:
    """The page of `q`'s list after the keyset `before` (the previous page's `next`). Raises errors.InvalidInput
    on bounds the wrong way round; `size` is held to 1..MAX_PAGE_SIZE."""
    size = max(1, min(size, MAX_PAGE_SIZE))
    where = dataclasses.replace(_filter(q), newest_first=True, before=before, limit=size + 1)
    db: store.Callbacks = hub.store
    found = await db.find_callbacks(where)
    shown = found[:size]
    more = len(found) > size
    return Page(shown, (shown[-1].created_at, shown[-1].id) if more and shown else None)


def _request(q: Query, limit: int, dry_run: bool) -> replay.ReplayRequest:
    return replay.ReplayRequest(
        account_id=q.account_id,
        since=q.since,
        until=q.until,
        states=STATES[q.listing],
        endpoint=q.endpoint,
        dialect=q.dialect,
        limit=limit,
        dry_run=dry_run,
    )


async def dry_run(hub: hub_.Hub, q: Query) -> int:
    """How many of `q`'s callbacks a bulk replay would requeue (at most replay.MAX_REPLAY).

    Raises errors.InvalidInput without a `since` (a bulk replay names its time range) or on bad bounds."""
    _filter(q)
    result = await replay.replay(hub, _request(q, replay.MAX_REPLAY, dry_run=True))
    return len(result.selected)


async def replay_all(hub: hub_.Hub, q: Query, count: int, actor: str) -> int:
    """Requeue at most `count` (the dry run's, as confirmed) of `q`'s callbacks, oldest first, in the audit log
    under `actor`; returns how many were requeued. Raises errors.InvalidInput as `dry_run` does, and on a count
    outside 1..replay.MAX_REPLAY."""
    if not 1 <= count <= replay.MAX_REPLAY:
        raise errors.InvalidInput("count", f"must be 1 to {replay.MAX_REPLAY}: run the dry run first")
    _filter(q)
    result = await replay.replay(hub, _request(q, count, dry_run=False), actor)
    return result.requeued


async def replay_one(hub: hub_.Hub, callback_id: str, actor: str) -> models.Callback:
    """Requeue one callback now (same id, fresh retry schedule), in the audit log under `actor`.
    Raises errors.UnknownCallback."""
    result = await replay.replay(hub, replay.ReplayRequest(callback_ids=(callback_id,)), actor)
    return result.selected[0]
