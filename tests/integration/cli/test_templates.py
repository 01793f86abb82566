"""`dlrhub templates`: sync from a simulator (as Zalo), add by hand, list and show, each with --json."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from typer.testing import CliRunner

from dlrhub import cli
from dlrhub.simulator import app as simulator


@pytest.fixture
def zalo_url() -> Iterator[str]:
    """A simulator serving on loopback from a thread of its own (the CLI runs its own event loop)."""
    config = uvicorn.Config(
        simulator.Simulator().app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the simulator did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


def test_templates_verbs(tmp_path, zalo_url) -> None:
    env = {
        "DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "DLRHUB_ZALO_MODE": "zalo",
        "DLRHUB_ZALO_API_URL": zalo_url,
        "DLRHUB_ZALO_OAUTH_URL": zalo_url,
    }
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> str:
        done = runner.invoke(cli.app, list(args), env=env)
        assert done.exit_code == code, done.output
        return done.stdout

    run("migrate")  # one-shot commands do not migrate
    # The simulator in a thread takes any token, so the made-up demo OA can sync from it.
    oa = json.loads(run("accounts", "create", "--name", "shop", "--demo-oa", "--json"))["esms"]["OAID"]
    synced = json.loads(run("templates", "sync", oa, "--json"))
    assert synced["template_ids"] == ["100001", "100002", "100003"]
    params = '[{"name": "otp", "type": "NUMBER", "maxLength": 6}]'
    added = json.loads(run("templates", "add", oa, "777", "--name", "OTP", "--params", params, "--json"))
    assert added["params"][0]["name"] == "otp" and added["source"] == "manual"
    listed = json.loads(run("templates", "list", oa, "--json"))
    assert [(t["template_id"], t["source"]) for t in listed] == [
        ("100001", "zalo"),
        ("100002", "zalo"),
        ("100003", "zalo"),
        ("777", "manual"),
    ]
    shown = json.loads(run("templates", "show", oa, "100003", "--json"))
    assert [p["type"] for p in shown["params"]] == ["STRING", "NUMBER", "DATE"]
    assert "otp:NUMBER≤6" in run("templates", "list", oa)
    # Bad input: one line, exit 1, nothing stored.
    assert "error" in run("templates", "add", oa, "100001", code=1)
    run("templates", "add", oa, "9", "--params", "[1]", code=1)
    run("templates", "show", oa, "404", code=1)
    run("templates", "add", oa, "9", "--params", "not json", code=2)
    assert len(json.loads(run("templates", "list", oa, "--json"))) == 4


def test_sync_when_zalo_does_not_answer_exits_1(tmp_path) -> None:
    env = {
        "DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3",
        "DLRHUB_ZALO_MODE": "zalo",
        "DLRHUB_ZALO_API_URL": "http://127.0.0.1:9",
        "DLRHUB_ZALO_TIMEOUT_S": "1",
    }
    runner = CliRunner()
    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0
    made = runner.invoke(cli.app, ["accounts", "create", "--name", "shop", "--demo-oa", "--json"], env=env)
    oa = json.loads(made.stdout)["esms"]["OAID"]
    done = runner.invoke(cli.app, ["templates", "sync", oa], env=env)
    assert done.exit_code == 1
    assert "no answer" in done.output
