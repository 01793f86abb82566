"""Who is looking at a page: the login cookie, the principal it stands for, and the CSRF token of each form.

The cookie holds the API token the user logged in with (HttpOnly, SameSite=Strict, Secure when the request came
over TLS) and is authenticated on every request exactly as a bearer token is, so revoking the token logs the
session out at once and nothing else needs storing. Every POST carries a CSRF token, an HMAC of the session's
token, in the form field `csrf` or the `X-CSRF-Token` header (htmx sends it from `<body hx-headers>`); a POST
without the right one is refused before it reaches a service.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse

import fastapi

from dlrhub.core import chars, control, errors, scopes
from dlrhub.services import tokens

#: The cookie holding the session's token.
COOKIE = "dlrhub-session"
#: The form field and the header carrying a POST's CSRF token.
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
#: Longest token a login form accepts (named tokens are 50 characters; the bootstrap token is the operator's).
MAX_TOKEN_CHARS = 512


class LoginNeeded(Exception):
    """No valid session: the page answers with a redirect to the login form (htmx: an HX-Redirect)."""


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: derived from its token, so it needs no storage and dies with it."""
    return hmac.new(session_token.encode(), b"dlrhub-csrf", hashlib.sha256).hexdigest()[:40]


def secure(request: fastapi.Request) -> bool:
    """Whether the browser reached us over TLS (directly, or through a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(response: fastapi.Response, request: fastapi.Request, token: str) -> None:
    """Log the browser in: a session cookie (no expiry: it ends with the browser, or at logout)."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure(request), path="/")


def clear_cookie(response: fastapi.Response, request: fastapi.Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure(request))


async def viewer(request: fastapi.Request) -> scopes.Principal:
    """The principal of the request's session; raises LoginNeeded without one. Kept as `request.state.principal`
    (and its name as `request.state.actor`, for the audit log), like the API's bearer tokens."""
    token = request.cookies.get(COOKIE, "")
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise LoginNeeded()
    try:
        found = await tokens.authenticate(request.app.state.hub, token)
    except errors.NotAuthorized:
        raise LoginNeeded() from None
    request.state.principal = found
    request.state.actor = found.actor
    request.state.csrf = csrf_token(token)
    fault = chars.params_fault([*request.path_params.items(), *request.query_params.multi_items()])
    if fault is not None:  # a NUL failed a page's store read on PostgreSQL with a bare 500
        raise errors.InvalidInput(*fault)
    return found


async def operator(request: fastapi.Request) -> scopes.Principal:
    """An admin or read session (the dashboard); a customer session is sent to its portal."""
    found = await viewer(request)
    if found.kind is control.TokenKind.CUSTOMER:
        raise errors.Forbidden("a customer token opens the portal, not the dashboard")
    return found


async def admin(request: fastapi.Request) -> scopes.Principal:
    """An admin session (the dashboard's actions); read sessions may look but not act."""
    found = await operator(request)
    if not found.allows(scopes.Scope.ADMIN):
        raise errors.Forbidden("a read token may look, not act: log in with an admin token")
    return found


async def customer(request: fastapi.Request) -> scopes.Principal:
    """A customer session (the portal): its account is `principal.account_id`, never a request parameter."""
    found = await viewer(request)
    if found.kind is not control.TokenKind.CUSTOMER or found.account_id is None:
        raise errors.Forbidden("the portal is for customer tokens: operators use the dashboard")
    return found


async def check_csrf(request: fastapi.Request) -> None:
    """Refuse a POST whose CSRF token is missing or wrong (403), before its handler runs."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = getattr(request.state, "csrf", None)
    presented = request.headers.get(CSRF_HEADER, "")
    if not presented:
        form = await request.form()
        value = form.get(CSRF_FIELD, "")
        presented = value if isinstance(value, str) else ""
    if expected is None or not hmac.compare_digest(presented.encode(), expected.encode()):
        raise errors.Forbidden("the form's CSRF token is missing or stale: reload the page")


def login_url(request: fastapi.Request) -> str:
    """The login form, coming back to this page after (only a local path is ever followed)."""
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/ui/login?" + urllib.parse.urlencode({"next": back})


def safe_next(target: str, default: str) -> str:
    """`target` when it is a path on this site (never another host: no open redirect), else `default`."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
