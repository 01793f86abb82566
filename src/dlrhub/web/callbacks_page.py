"""The dashboard's callback lists, `/ui/callbacks`: failed and pending, filtered and paged, with replay of one and
replay in bulk (a dry run's count first, then a confirmation that replays at most that many)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import urllib.parse
from typing import Annotated

import fastapi

from dlrhub.core import clock, errors, models
from dlrhub.services import callback_lists, replay
from dlrhub.web import message_page, pages, session

router = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.operator)])
_ACT = [fastapi.Depends(session.admin), fastapi.Depends(session.check_csrf)]

Short = Annotated[str, fastapi.Query(max_length=128)]
Url = Annotated[str, fastapi.Query(max_length=300)]
When = Annotated[str, fastapi.Query(max_length=40)]


@dataclasses.dataclass(frozen=True, slots=True)
class Form:
    """The filter form as typed (echoed back into the page and into the next page's links)."""

    listing: str = "failed"
    account: str = ""
    endpoint: str = ""
    dialect: str = ""
    since: str = ""
    until: str = ""

    def fields(self) -> dict[str, str]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v}

    def query(self) -> callback_lists.Query:
        """The service's filter; raises errors.InvalidInput on a value it cannot read."""
        try:
            listing = callback_lists.Listing(self.listing)
        except ValueError:
            raise errors.InvalidInput("list", "failed or pending") from None
        try:
            dialect = models.Dialect(self.dialect) if self.dialect else None
        except ValueError:
            raise errors.InvalidInput("dialect", ", ".join(d.value for d in models.Dialect)) from None
        return callback_lists.Query(
            listing=listing,
            account_id=self.account.strip() or None,
            endpoint=self.endpoint.strip() or None,
            dialect=dialect,
            since=_time("since", self.since),
            until=_time("until", self.until),
        )


def _time(field: str, text: str) -> dt.datetime | None:
    """A time typed in the form (ISO 8601; UTC unless it says otherwise)."""
    if not text.strip():
        return None
    try:
        found = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise errors.InvalidInput(field, "write a time as 2026-12-03T13:00 (UTC)") from None
    utc = clock.in_utc(found)
    if utc is None:
        raise errors.InvalidInput(field, "out of range: in UTC it falls outside the years 1 to 9999")
    return utc


def _form(
    listing: Annotated[str, fastapi.Query(alias="list", max_length=128)] = "failed",
    account: Short = "",
    endpoint: Url = "",
    dialect: Short = "",
    since: When = "",
    until: When = "",
) -> Form:
    return Form(listing, account, endpoint, dialect, since, until)


@router.get("/ui/callbacks")
async def listing(
    request: fastapi.Request,
    form: Annotated[Form, fastapi.Depends(_form)],
    before_at: When = "",
    before_id: Short = "",
    size: Annotated[int, fastapi.Query(ge=1, le=callback_lists.MAX_PAGE_SIZE)] = callback_lists.PAGE_SIZE,
) -> fastapi.Response:
    before = None
    if before_at and before_id:
        at = _time("before_at", before_at)
        before = (at, before_id) if at is not None else None
    found = await callback_lists.page(request.app.state.hub, form.query(), before, size)
    more = None
    if found.next is not None:
        cursor = {"before_at": found.next[0].isoformat(), "before_id": found.next[1], "size": str(size)}
        more = "/ui/callbacks?" + urllib.parse.urlencode({**_link(form), **cursor})
    return pages.render(
        request,
        "callbacks.html",
        form=form,
        page=found,
        more=more,
        first="/ui/callbacks?" + urllib.parse.urlencode(_link(form)),
        dialects=[d.value for d in models.Dialect],
        can_replay=message_page.can_replay(request),
        max_replay=replay.MAX_REPLAY,
    )


def _link(form: Form) -> dict[str, str]:
    return {("list" if k == "listing" else k): v for k, v in form.fields().items()}


@router.get("/ui/callbacks/replay", dependencies=[fastapi.Depends(session.admin)])
async def dry_run(
    request: fastapi.Request, form: Annotated[Form, fastapi.Depends(_form)]
) -> fastapi.Response:
    """The dry run of a bulk replay: how many callbacks the filter selects, and the form that confirms it."""
    count = await callback_lists.dry_run(request.app.state.hub, form.query())
    return pages.render(
        request, "callbacks_replay.html", form=form, count=count, requeued=None, max_replay=replay.MAX_REPLAY
    )


@router.post("/ui/callbacks/replay", dependencies=_ACT)
async def confirm(
    request: fastapi.Request,
    count: Annotated[int, fastapi.Form(ge=1, le=replay.MAX_REPLAY)],
    listing: Annotated[str, fastapi.Form(alias="list", max_length=128)] = "failed",
    account: Annotated[str, fastapi.Form(max_length=128)] = "",
    endpoint: Annotated[str, fastapi.Form(max_length=300)] = "",
    dialect: Annotated[str, fastapi.Form(max_length=128)] = "",
    since: Annotated[str, fastapi.Form(max_length=40)] = "",
    until: Annotated[str, fastapi.Form(max_length=40)] = "",
) -> fastapi.Response:
    """Replay what the dry run counted: the same filter, at most the count it showed, oldest first."""
    form = Form(listing, account, endpoint, dialect, since, until)
    requeued = await callback_lists.replay_all(
        request.app.state.hub, form.query(), count, request.state.actor
    )
    return pages.render(
        request,
        "callbacks_replay.html",
        form=form,
        count=count,
        requeued=requeued,
        back="/ui/callbacks?" + urllib.parse.urlencode(_link(form)),
        max_replay=replay.MAX_REPLAY,
    )
