"""`dlrhub receive` prints each callback and answers the status asked for."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from dlrhub.commands import receive


@pytest.mark.parametrize("status", [200, 503])
async def test_prints_get_queries_and_post_bodies(capsys: pytest.CaptureFixture[str], status: int) -> None:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", receive._handler(status))
    async with TestServer(app) as server, aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/cb?SMSID=abc&error_info=%22%7B%7D%22")) as r:
            assert r.status == status
        big = b"x" * (receive.SHOWN_BODY + 10)
        async with http.post(server.make_url("/dr"), data=big, headers={"webhook-id": "cb_1"}) as r:
            assert r.status == status
    out = capsys.readouterr().out
    assert "GET /cb?SMSID=abc&error_info=%22%7B%7D%22" in out
    assert "POST /dr  webhook-id=cb_1" in out
    assert "x" * receive.SHOWN_BODY + " …" in out
