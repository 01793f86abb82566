"""The dashboard's message search, `/ui/messages`: a GET form (so a search is a shareable URL) and a page of
results, newest first, with a cursor to the next page."""

from __future__ import annotations

import urllib.parse
from typing import Annotated

import fastapi

from dlrhub.core import errors, models
from dlrhub.services import search
from dlrhub.web import pages, session

router = fastapi.APIRouter(include_in_schema=False, dependencies=[fastapi.Depends(session.operator)])

_Text = Annotated[str, fastapi.Query(max_length=search.MAX_ID_CHARS)]


@router.get("/ui/messages")
async def messages(
    request: fastapi.Request,
    id: _Text = "",  # the form's field names are the URL's
    phone: _Text = "",
    account: _Text = "",
    state: Annotated[str, fastapi.Query(max_length=20)] = "",
    dialect: Annotated[str, fastapi.Query(max_length=20)] = "",
    since: Annotated[str, fastapi.Query(alias="from", max_length=search.MAX_TIME_CHARS)] = "",
    until: Annotated[str, fastapi.Query(alias="to", max_length=search.MAX_TIME_CHARS)] = "",
    cursor: Annotated[str, fastapi.Query(max_length=search.MAX_CURSOR_CHARS)] = "",
    limit: Annotated[int, fastapi.Query(ge=1, le=search.MAX_LIMIT)] = search.DEFAULT_LIMIT,
) -> fastapi.Response:
    form = {"id": id, "phone": phone, "account": account, "state": state, "dialect": dialect}
    form |= {"from": since, "to": until, "limit": "" if limit == search.DEFAULT_LIMIT else str(limit)}
    asked = search.Search(
        public_id=id,
        phone=phone,
        account_id=account,
        state=state,
        dialect=dialect,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    name = "messages_results.html" if request.headers.get("hx-request") else "messages.html"

    def show(status: int, page: search.Page | None, problem: str | None) -> fastapi.Response:
        next_url = _url(form, page.next_cursor) if page is not None and page.next_cursor else None
        return pages.render(
            request,
            name,
            status_code=status,
            form=form,
            states=[s.value for s in models.MessageState],
            dialects=[d.value for d in models.Dialect],
            deeper=bool(cursor),
            first_url=_url(form, ""),
            page=page,
            next_url=next_url,
            problem=problem,
        )

    try:
        page = await search.search(request.app.state.hub, asked, request.state.principal)
    except errors.InvalidInput as exc:  # a bad field or cursor is said on the page, beside the form
        return show(422, None, str(exc))
    return show(200, page, None)


def _url(form: dict[str, str], cursor: str) -> str:
    """This search's URL (only the fields given), at the page after `cursor`."""
    given = {k: v for k, v in form.items() if v}
    if cursor:
        given["cursor"] = cursor
    return "/ui/messages" + ("?" + urllib.parse.urlencode(given) if given else "")
