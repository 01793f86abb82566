"""The simulator answers hostile requests in Zalo's own shape, never a bare 500 (found by fuzzing its routes)."""

from __future__ import annotations

import httpx

from dlrhub.dialects.zalo import wire
from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config
from dlrhub.simulator import oauth


async def test_an_oauth_form_with_too_many_fields_gets_zalos_refusal() -> None:
    sim = simulator.Simulator(simulator_config.SimulatorConfig())
    transport = httpx.ASGITransport(app=sim.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        form = b"&".join(b"f%d=1" % i for i in range(11))
        answer = await http.post(
            wire.PATH_OAUTH_TOKEN, content=form, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["error"] == oauth.OAUTH_BAD_REFRESH_TOKEN
    await sim.aclose()
