"""A Zalo that does not answer (a worker started before its API) writes one `no answer` line per 10 s, not one
per call."""

from __future__ import annotations

import socket

from dlrhub.adapters.zalo import client
from tests import log_lines


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_a_zalo_that_does_not_answer_is_logged_once_per_window() -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    with log_lines.captured("info") as lines:
        async with client.ZaloClient(api_base=base, oauth_base=base, timeout=2.0) as zalo:
            answers = [await zalo.quota("oa-access-token-not-logged") for _ in range(20)]
    assert all(a.timed_out for a in answers)
    no_answer = [line for line in lines.json() if line["message"].startswith("no answer from")]
    assert len(no_answer) == 1, lines.text
    assert "oa-access-token-not-logged" not in lines.text
