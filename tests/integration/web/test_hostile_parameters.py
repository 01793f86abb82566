"""The dashboard's queries and forms, on both backends: NUL in a parameter, a time out of range once in UTC (in a
field or inside a search cursor), a page past a BIGINT row id and an amount past the ledger's range are each an
error page (422) and write nothing. Before, each answered a bare 500 (the first two on PostgreSQL only)."""

from __future__ import annotations

import base64

import pytest

from dlrhub.services import accounts
from tests.integration.api.test_hostile_input import row_count
from tests.integration.web.conftest import BOOT, Web


def cursor(stamp: str) -> str:
    """A search cursor as `services.search.encode_cursor` writes one, around `stamp`."""
    return base64.urlsafe_b64encode(f"{stamp}|m-1".encode()).decode().rstrip("=")


@pytest.mark.parametrize("htmx", [False, True])
async def test_hostile_parameters_get_an_error_page(web: Web, htmx: bool) -> None:
    new = await accounts.create(web.api.hub, "shop")
    browser = await web.login(BOOT)
    headers = {"hx-request": "true"} if htmx else {}
    a = new.account.id
    far = "9999-12-31T23:59:59-14:00"
    early = "0001-01-01T00:00:00+14:00"
    pages = [
        ("/ui/accounts", {"name": "a\x00b"}),
        ("/ui/accounts", {"after": "\x00"}),
        ("/ui/callbacks", {"account": "a\x00b"}),
        ("/ui/callbacks", {"endpoint": "\x00"}),
        ("/ui/endpoints", {"account": "a\x00b"}),
        ("/ui/callbacks", {"since": early}),
        ("/ui/callbacks", {"until": far}),
        ("/ui/callbacks/replay", {"since": early}),
        ("/ui/messages", {"from": early}),
        ("/ui/messages", {"to": far}),
        ("/ui/messages", {"cursor": cursor(early)}),
        (f"/ui/accounts/{a}", {"before": str(2**63)}),
    ]
    for path, params in pages:
        answer = await browser.get(path, params=params, headers=headers)
        assert answer.status_code == 422, (path, params, answer.text[:300])
        assert answer.headers["content-type"].startswith("text/html"), (path, params)


async def test_hostile_forms_get_an_error_page_and_write_nothing(web: Web, db_url: str) -> None:
    new = await accounts.create(web.api.hub, "shop")
    browser = await web.login(BOOT)
    a = new.account.id
    before = await row_count(db_url)
    for amount in ("1e309", "-1e309", "1e28"):
        answer = await browser.post(f"/ui/accounts/{a}/ledger", {"amount": amount, "reason": "r"})
        assert answer.status_code == 422, (amount, answer.text[:300])
    replay = {"count": "1", "since": "0001-01-01T00:00:00+14:00"}
    assert (await browser.post("/ui/callbacks/replay", replay)).status_code == 422
    synced = await browser.post(f"/ui/accounts/{a}/oas/a%00b/templates/sync")
    assert synced.status_code == 422, synced.text[:300]
    assert await row_count(db_url) == before
