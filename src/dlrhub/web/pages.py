"""Rendering a page: the Jinja2 environment (autoescaped), what every page is given, and the HTML error page."""

from __future__ import annotations

import datetime as dt
import pathlib
from typing import Any

import fastapi
import fastapi.templating

from dlrhub import __version__

HERE = pathlib.Path(__file__).parent
#: Every template escapes what it prints (Starlette's default for `.html`), so data never becomes markup.
templates = fastapi.templating.Jinja2Templates(directory=HERE / "templates")
#: The path prefixes served as HTML pages (their errors are pages too, not JSON).
PREFIXES = ("/ui", "/portal")


def stamp(value: dt.datetime | None) -> str:
    """A time as the dashboard shows it: UTC to the millisecond, never truncated (`2026-12-03 13:22:31.123Z`)."""
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def masked(secret: str | None) -> str:
    """A secret as a page may show it: its first 4 characters when it is long enough to spare them, never more."""
    if not secret:
        return "—"
    return secret[:4] + "…" if len(secret) > 12 else "…"


templates.env.filters["stamp"] = stamp
templates.env.filters["masked"] = masked
templates.env.globals["version"] = __version__


def render(
    request: fastapi.Request, name: str, status_code: int = 200, **context: Any
) -> fastapi.responses.HTMLResponse:
    """Template `name` with `context`, plus what every page uses: the principal and the CSRF token."""
    context.setdefault("principal", getattr(request.state, "principal", None))
    context.setdefault("csrf", getattr(request.state, "csrf", ""))
    response: fastapi.responses.HTMLResponse = templates.TemplateResponse(
        request, name, context, status_code=status_code
    )
    response.headers["cache-control"] = "no-store"
    return response


def is_page(request: fastapi.Request) -> bool:
    """Whether the request is for an HTML page (its errors are answered as a page)."""
    path = request.url.path
    return any(path == p or path.startswith(p + "/") for p in PREFIXES)


def error(request: fastapi.Request, status_code: int, message: str) -> fastapi.responses.HTMLResponse:
    """An error as a page (or, for an htmx request, as the fragment that replaces the target)."""
    name = "error_fragment.html" if request.headers.get("hx-request") else "error.html"
    return render(request, name, status_code=status_code, status=status_code, message=message)
