"""Message search: a form's fields validated and bounded into a store query, one page at a time, with the opaque
cursor of the next page. A customer principal only ever searches its own account."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
from typing import TypeVar

from dlrhub import store
from dlrhub.core import chars, clock, errors, models, scopes
from dlrhub.services import hub as hub_

#: Rows a page shows unless asked otherwise, and the most it may show.
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
#: The longest text each field takes (a message id is ~40 characters, a RequestId at most 50, a hashed phone 64).
MAX_ID_CHARS = 100
MAX_PHONE_CHARS = 64
MAX_CURSOR_CHARS = 200
MAX_TIME_CHARS = 40

_Member = TypeVar("_Member", models.MessageState, models.Dialect)


@dataclasses.dataclass(frozen=True, slots=True)
class Search:
    """A search as a form or query string asks it: text fields, empty when not given."""

    #: A message id (eSMS SMSID, NXCloud requestId) or the customer's RequestId.
    public_id: str = ""
    #: A recipient: a phone number (`0901…`, `84901…` and `+84901…` find each other) or another recipient id.
    phone: str = ""
    account_id: str = ""
    state: str = ""
    dialect: str = ""
    #: Created at or after / before these times: ISO 8601 (`2026-12-03`, `2026-12-03T13:00`), UTC unless an
    #: offset is written.
    since: str = ""
    until: str = ""
    #: The `next_cursor` of the page before.
    cursor: str = ""
    limit: int = DEFAULT_LIMIT


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """One page of messages, newest first, and the cursor of the next page (None on the last)."""

    messages: list[models.Message]
    next_cursor: str | None
    #: The query the page answered (the account forced for a customer).
    query: store.MessageQuery


async def search(hub: hub_.Hub, asked: Search, principal: scopes.Principal) -> Page:
    """One page of the messages `asked` names that `principal` may see: a customer principal's own account's
    only, whatever account `asked` names. Raises errors.InvalidInput naming the field at fault."""
    query = to_query(asked, principal)
    # One row more than the page: the next page's link is shown only when there is a next row to show.
    found = await hub.store.search_messages(dataclasses.replace(query, limit=query.limit + 1))
    shown = found[: query.limit]
    more = len(found) > query.limit
    next_cursor = encode_cursor(shown[-1].created_at, shown[-1].id) if more else None
    return Page(messages=shown, next_cursor=next_cursor, query=query)


def to_query(asked: Search, principal: scopes.Principal) -> store.MessageQuery:
    """The store query of `asked`, validated and bounded; the account is the principal's own for a customer."""
    account_id = _text(asked.account_id, "account_id", MAX_ID_CHARS)
    if principal.account_id is not None:
        account_id = principal.account_id
    since, until = _time(asked.since, "since"), _time(asked.until, "until")
    if since is not None and until is not None and until <= since:
        raise errors.InvalidInput("until", "must be later than since")
    if not 1 <= asked.limit <= MAX_LIMIT:
        raise errors.InvalidInput("limit", f"must be 1 to {MAX_LIMIT}")
    return store.MessageQuery(
        account_id=account_id,
        public_id=_text(asked.public_id, "public_id", MAX_ID_CHARS),
        phones=phone_forms(asked.phone),
        state=_member(models.MessageState, asked.state, "state"),
        dialect=_member(models.Dialect, asked.dialect, "dialect"),
        since=since,
        until=until,
        before=decode_cursor(asked.cursor) if asked.cursor else None,
        limit=asked.limit,
    )


def phone_forms(text: str) -> tuple[str, ...]:
    """The stored forms a recipient may have: eSMS keeps a number as written (`0901888484` or `84901888484`),
    NXCloud with its country code and no `+`; other recipients (Zalo UIDs, hashed phones) as they are."""
    value = _text(text.replace(" ", ""), "phone", MAX_PHONE_CHARS)
    if value is None:
        return ()
    digits = value.removeprefix("+")
    if not digits.isascii() or not digits.isdigit():
        return (value,)
    if digits.startswith("84") and len(digits) > 9:
        return (digits, "0" + digits[2:])
    if digits.startswith("0") and len(digits) > 7:
        return (digits, "84" + digits[1:])
    return (digits,)


def encode_cursor(created_at: dt.datetime, message_id: str) -> str:
    """The opaque cursor of the page after the row `(created_at, message_id)`."""
    raw = f"{created_at.astimezone(dt.UTC).isoformat()}|{message_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The `(created_at, message id)` of `encode_cursor`'s text. Raises errors.InvalidInput for anything else."""
    problem = errors.InvalidInput("cursor", "not a cursor of this search: start again from the first page")
    if len(cursor) > MAX_CURSOR_CHARS:
        raise problem
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, _, message_id = raw.partition("|")
        created_at = dt.datetime.fromisoformat(stamp)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise problem from None
    if (
        created_at.tzinfo is None
        or clock.in_utc(created_at) is None
        or not message_id
        or chars.id_fault(message_id)
        or len(message_id) > MAX_ID_CHARS
    ):
        raise problem
    return created_at, message_id


def _text(value: str, field: str, most: int) -> str | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > most:
        raise errors.InvalidInput(field, f"longer than {most} characters")
    problem = chars.id_fault(value)
    if problem is not None:
        raise errors.InvalidInput(field, problem)
    return value


def _member(kind: type[_Member], value: str, field: str) -> _Member | None:
    if not value.strip():
        return None
    try:
        return kind(value.strip())
    except ValueError:
        raise errors.InvalidInput(field, f"one of {', '.join(m.value for m in kind)}") from None


def _time(value: str, field: str) -> dt.datetime | None:
    value = value.strip()
    if not value:
        return None
    if len(value) > MAX_TIME_CHARS:
        raise errors.InvalidInput(field, f"longer than {MAX_TIME_CHARS} characters")
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise errors.InvalidInput(field, "not a time: write 2026-12-03 or 2026-12-03T13:00 (UTC)") from None
    found = clock.in_utc(at)
    if found is None:
        raise errors.InvalidInput(field, "out of range: in UTC it falls outside the years 1 to 9999")
    return found
