"""`dlrhub oas`: an operator onboards a real OA from the CLI against a simulator configured as the real Zalo."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dlrhub import cli
from dlrhub.simulator import app as simulator
from dlrhub.simulator import config as simulator_config
from tests import zalo_thread


@pytest.fixture
def zalo_url() -> Iterator[str]:
    """A simulator knowing no OA until its console makes one, served in a thread (the CLI runs its own loop)."""
    with zalo_thread.serving(simulator.Simulator(simulator_config.SimulatorConfig(oas=()))) as url:
        yield url


def _run(env: dict[str, str], *args: str) -> Any:
    return CliRunner().invoke(cli.app, list(args), env=env)


def test_an_operator_registers_updates_and_deactivates_an_oa(tmp_path, zalo_url: str) -> None:
    env = {
        "DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "DLRHUB_ZALO_MODE": "zalo",
        "DLRHUB_ZALO_API_URL": zalo_url,
        "DLRHUB_ZALO_OAUTH_URL": zalo_url,
    }
    assert _run(env, "migrate").exit_code == 0  # one-shot commands do not migrate
    made = _run(env, "accounts", "create", "--name", "shop", "--json")
    assert made.exit_code == 0, made.output
    account = json.loads(made.stdout)
    assert account["esms"]["OAID"] is None  # with the real Zalo, no made-up OA
    console = httpx.post(zalo_url + "/console/oas").json()
    reg = [
        "oas",
        "register",
        "--account",
        account["id"],
        "--oa-id",
        console["oa_id"],
        "--app-id",
        console["app_id"],
    ]
    secrets = ["--oa-secret", console["oa_secret"], "--refresh-token", console["refresh_token"]]
    wrong = _run(env, *reg, "--app-secret", "wrong", *secrets, "--json")
    assert wrong.exit_code == 1
    assert "-14002" in wrong.output and wrong.stdout == ""
    ok = _run(env, *reg, "--app-secret", console["app_secret"], *secrets, "--json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["quota"] == {"daily": 5000, "remaining": 5000}
    assert console["app_secret"] not in ok.stdout
    listed = json.loads(_run(env, "oas", "list", "--account", account["id"], "--json").stdout)["oas"]
    assert [o["oa_id"] for o in listed] == [console["oa_id"]]
    spent = _run(env, "oas", "update-secrets", console["oa_id"], "--refresh-token", console["refresh_token"])
    assert spent.exit_code == 1 and "-14020" in spent.output
    assert spent.output.startswith("error: refresh_token: Zalo refused"), spent.output
    # A wrong app secret alone is blamed on the app secret, the value given, not on the stored refresh token.
    bad_secret = _run(env, "oas", "update-secrets", console["oa_id"], "--app-secret", "wrong")
    assert bad_secret.exit_code == 1 and "-14002" in bad_secret.output
    assert bad_secret.output.startswith("error: app_secret: Zalo refused"), bad_secret.output
    fresh = httpx.post(f"{zalo_url}/console/oas/{console['oa_id']}/refresh-token").json()["refresh_token"]
    updated = _run(env, "oas", "update-secrets", console["oa_id"], "--refresh-token", fresh, "--json")
    assert updated.exit_code == 0, updated.output
    off = _run(env, "oas", "deactivate", console["oa_id"], "--json")
    assert off.exit_code == 0 and json.loads(off.stdout)["active"] is False
    shown = _run(env, "oas", "show", console["oa_id"], "--json")
    assert json.loads(shown.stdout)["active"] is False
    assert _run(env, "oas", "show", "404").exit_code == 1
