"""Logging in and out of the dashboard and the portal: the cookie, CSRF, scopes, revocation, safe redirects."""

from __future__ import annotations

import re

from dlrhub.web import session
from tests.conftest import make_account
from tests.integration.web.conftest import BOOT, Web


async def test_a_page_without_a_session_sends_the_browser_to_log_in(web: Web):
    answer = await web.api.http.get("/ui")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=%2Fui"
    htmx = await web.api.http.get("/ui", headers={"hx-request": "true"})
    assert htmx.headers["hx-redirect"].startswith("/ui/login")


async def test_login_sets_a_strict_http_only_cookie_and_a_wrong_token_sets_none(web: Web):
    wrong = await web.api.http.post("/ui/login", data={"token": "dlrh_a_not-a-real-token"})
    assert wrong.status_code == 401
    assert "unknown, revoked" in wrong.text
    assert session.COOKIE not in wrong.headers.get("set-cookie", "")
    right = await web.api.http.post("/ui/login", data={"token": BOOT, "next": "/ui?x=1"})
    assert right.status_code == 303
    assert right.headers["location"] == "/ui?x=1"
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    behind_tls = await web.api.http.post(
        "/ui/login", data={"token": BOOT}, headers={"x-forwarded-proto": "https"}
    )
    assert "secure" in behind_tls.headers["set-cookie"].lower()


async def test_login_never_redirects_off_the_site(web: Web):
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        answer = await web.api.http.post("/ui/login", data={"token": BOOT, "next": evil})
        assert answer.headers["location"] == "/ui", evil


async def test_every_post_needs_the_session_s_csrf_token(web: Web):
    browser = await web.login(BOOT)
    refused = await browser.http.post("/ui/logout", data={"csrf": "0" * 40})
    assert refused.status_code == 403
    assert "CSRF" in refused.text
    bare = await browser.http.post("/ui/logout")
    assert bare.status_code == 403
    by_header = await browser.http.post("/ui/logout", headers={"x-csrf-token": browser.csrf})
    assert by_header.status_code == 303
    assert "max-age=0" in by_header.headers["set-cookie"].lower()
    assert (await browser.get("/ui")).status_code == 303  # logged out


async def test_a_customer_token_opens_its_portal_and_not_the_dashboard(web: Web, db):
    account = make_account()
    await db.create_account(account, [])
    token = await web.api.token("portal", "customer", account.id)
    browser = await web.login(token)
    portal = await browser.get("/portal")
    assert portal.status_code == 200 and account.id in portal.text
    refused = await browser.get("/ui")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    asked = await web.api.http.post("/ui/login", data={"token": token, "next": "/ui/accounts"})
    assert asked.headers["location"] == "/portal"
    operator = await web.login(BOOT)
    assert (await operator.get("/portal")).status_code == 403


async def test_revoking_the_token_ends_its_sessions(web: Web):
    token = await web.api.token("ops", "read")
    browser = await web.login(token)
    listed = await web.api.http.get("/v1/admin/tokens", headers={"authorization": f"Bearer {BOOT}"})
    [made] = [t for t in listed.json()["tokens"] if t["name"] == "ops"]
    revoked = await web.api.http.delete(
        f"/v1/admin/tokens/{made['id']}", headers={"authorization": f"Bearer {BOOT}"}
    )
    assert revoked.status_code in (200, 204), revoked.text
    web.api.clock.advance(3600)  # past the token cache
    assert (await browser.get("/ui")).status_code == 303


async def test_docs_and_pages_load_nothing_from_beyond_the_machine(web: Web):
    for path in ("/docs", "/ui/login"):
        page = await web.api.http.get(path)
        assert page.status_code == 200, path
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources, path
        assert all(s.startswith("/") for s in sources), (path, sources)
        for s in sources:
            if s.startswith("/static/"):
                assert (await web.api.http.get(s)).status_code == 200, s
    docs = (await web.api.http.get("/docs")).text
    assert "fonts.googleapis" not in docs and "cdn" not in docs.lower()


async def test_a_page_error_is_a_page_with_its_message_escaped(web: Web):
    browser = await web.login(BOOT)
    missing = await browser.get("/ui/<script>nope")
    assert missing.status_code == 404
    assert "text/html" in missing.headers["content-type"]
    assert "<script>nope" not in missing.text


async def test_a_nul_in_a_page_s_parameters_is_a_422_page_on_each_backend(web: Web, db):
    """Each of these read the store with the NUL, which PostgreSQL answered with an error: a bare 500."""
    browser = await web.login(BOOT)
    for path in (
        "/ui/accounts?name=a%00b",
        "/ui/accounts?after=a%00b",
        "/ui/callbacks?account=a%00b",
        "/ui/callbacks?endpoint=http://a%00b",
        "/ui/endpoints?account=a%00b",
    ):
        answer = await browser.get(path)
        assert answer.status_code == 422, (path, answer.status_code)
        assert "contains NUL" in answer.text
