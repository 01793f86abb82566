"""Reconciliation: an account's status-event feed behind an opaque cursor, and its callbacks not delivered.

Both answer for one account: a customer token's own (naming another is refused), or the one an admin or read
token names. Cursors are opaque to the caller, checked on the way in (a malformed one is errors.InvalidInput),
and always handed back, so a consumer can keep polling from the last one it saved.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import re

from dlrhub import store
from dlrhub.core import control, errors, models, scopes
from dlrhub.services import hub as hub_

#: The most events or callbacks one page may hold, and the default page size.
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
#: A pending callback counts as undelivered once it is this old (seconds), unless the caller says otherwise.
DEFAULT_OLDER_THAN_S = 300
#: The longest age a caller may ask for (30 days).
MAX_OLDER_THAN_S = 30 * 86_400
#: The longest cursor accepted (a well-formed one is far shorter).
MAX_CURSOR_CHARS = 200

_FEED = re.compile(r"^f1\.(\d{1,20})\.(\d{1,20})$")
_UNDELIVERED = re.compile(r"^u1\.(\d{1,17})\.([A-Za-z0-9_:.\-]{1,100})$")
_BIGGEST = 2**63 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class FeedPage:
    """A page of the feed, and the cursor to go on from (the last event's, or the one given on an empty page)."""

    events: list[store.FeedEvent]
    next_cursor: str


@dataclasses.dataclass(frozen=True, slots=True)
class UndeliveredPage:
    """A page of undelivered callbacks, oldest first; `next_cursor` is None after the last page."""

    callbacks: list[store.Undelivered]
    next_cursor: str | None


def _encode(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str, field: str) -> str:
    if len(cursor) > MAX_CURSOR_CHARS:
        raise errors.InvalidInput(field, "is not a cursor this API gave")
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.InvalidInput(field, "is not a cursor this API gave") from None


def feed_cursor(position: store.FeedPosition) -> str:
    """The opaque cursor of a feed position."""
    return _encode(f"f1.{position.xact}.{position.pos}")


def read_feed_cursor(cursor: str | None) -> store.FeedPosition:
    """The position of a cursor `feed_cursor` made (the start for None or ""). Raises errors.InvalidInput."""
    if not cursor:
        return store.FEED_START
    found = _FEED.match(_decode(cursor, "cursor"))
    if found is None or max(int(found.group(1)), int(found.group(2))) > _BIGGEST:
        raise errors.InvalidInput("cursor", "is not a cursor this API gave")
    return store.FeedPosition(int(found.group(1)), int(found.group(2)))


def undelivered_cursor(at: dt.datetime, callback_id: str) -> str:
    """The opaque cursor after the callback created at `at` with id `callback_id`."""
    micros = round(at.timestamp() * 1_000_000)
    return _encode(f"u1.{micros}.{callback_id}")


def read_undelivered_cursor(cursor: str | None) -> tuple[dt.datetime, str] | None:
    """What `undelivered_cursor` encoded (None for no cursor). Raises errors.InvalidInput."""
    if not cursor:
        return None
    found = _UNDELIVERED.match(_decode(cursor, "cursor"))
    if found is None:
        raise errors.InvalidInput("cursor", "is not a cursor this API gave")
    try:
        at = dt.datetime.fromtimestamp(int(found.group(1)) / 1_000_000, dt.UTC)
    except (OverflowError, ValueError, OSError):
        raise errors.InvalidInput("cursor", "is not a cursor this API gave") from None
    return at, found.group(2)


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise errors.InvalidInput("limit", f"must be 1 to {MAX_LIMIT}")
    return limit


async def account_of(hub: hub_.Hub, who: scopes.Principal, account_id: str | None) -> str:
    """The one account `who` reconciles: a customer token's own, or the one an admin or read token names.

    Raises errors.Forbidden when a customer token names another account, errors.InvalidInput when an operator's
    names none, and errors.UnknownAccount when it names one that does not exist.
    """
    if who.kind is control.TokenKind.CUSTOMER:
        if who.account_id is None or account_id not in (None, who.account_id):
            raise errors.Forbidden("a customer token reads its own account only")
        return who.account_id
    if not account_id:
        raise errors.InvalidInput("account_id", "name the account (admin and read tokens)")
    accounts: store.Accounts = hub.store
    return (await accounts.get_account(account_id)).id


async def events(hub: hub_.Hub, account_id: str, cursor: str | None, limit: int = DEFAULT_LIMIT) -> FeedPage:
    """The applied status events of `account_id` after `cursor`, in feed order, each with its message's `seq`.

    An event is in the feed once no transaction that could still write one before it is running (ADR 0006), so
    a consumer that goes on from `next_cursor` never misses or repeats one. Raises errors.InvalidInput.
    """
    after = read_feed_cursor(cursor)
    db: store.Feed = hub.store
    found = await db.feed_events(account_id, after, _limit(limit))
    last = found[-1].position if found else after
    return FeedPage(found, feed_cursor(last))


async def undelivered(
    hub: hub_.Hub,
    account_id: str,
    cursor: str | None = None,
    *,
    older_than_s: int = DEFAULT_OLDER_THAN_S,
    limit: int = DEFAULT_LIMIT,
) -> UndeliveredPage:
    """The callbacks of `account_id` that failed or were cancelled, or are pending and older than
    `older_than_s`, oldest first, after `cursor`. Raises errors.InvalidInput."""
    if not 0 <= older_than_s <= MAX_OLDER_THAN_S:
        raise errors.InvalidInput("older_than_s", f"must be 0 to {MAX_OLDER_THAN_S}")
    after = read_undelivered_cursor(cursor)
    db: store.Feed = hub.store
    before = hub.clock() - dt.timedelta(seconds=older_than_s)
    found = await db.undelivered_callbacks(account_id, before, after, _limit(limit))
    more = len(found) == limit
    last = found[-1].callback if found else None
    return UndeliveredPage(found, undelivered_cursor(last.created_at, last.id) if more and last else None)


# -- what the customer portal shows besides -------------------------------------------------------------------
#: The most recent messages the portal lists, and of whose callbacks it shows the destinations.
MAX_RECENT = 100


@dataclasses.dataclass(frozen=True, slots=True)
class Destination:
    """A destination the account's recent callbacks go to, and its health (None: never judged, so healthy)."""

    endpoint: str
    health: models.Endpoint | None

    @property
    def state(self) -> models.EndpointState:
        return self.health.state if self.health is not None else models.EndpointState.HEALTHY


async def recent_messages(hub: hub_.Hub, account_id: str, limit: int = 50) -> list[models.Message]:
    """The last `limit` (at most MAX_RECENT) messages of `account_id`, newest first."""
    db: store.Feed = hub.store
    return await db.recent_messages(account_id, max(1, min(limit, MAX_RECENT)))


async def destinations(hub: hub_.Hub, messages: list[models.Message]) -> list[Destination]:
    """The destinations of the callbacks of `messages` (one account's recent ones), each with its health."""
    db: store.Store = hub.store
    found = await db.message_endpoints([m.id for m in messages[:MAX_RECENT]])
    health = await db.get_endpoints(found)
    return [Destination(e, health.get(e)) for e in found]
