"""`dlrhub endpoints`: list, pause, resume and reset one account's endpoint on a SQLite file, each in the audit
log."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from dlrhub import cli


def test_pause_resume_reset_and_list(tmp_path) -> None:
    env = {"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3", "COLUMNS": "250"}
    runner = CliRunner()
    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0

    def run(*args: str):
        done = runner.invoke(cli.app, list(args), env=env)
        return done.exit_code, done.stdout

    made = [json.loads(run("accounts", "create", "--name", name, "--json")[1])["id"] for name in ("a", "b")]
    key = f"{made[0]}:https://hooks.example:443/x"
    code, out = run(
        "endpoints", "pause", "https://Hooks.example/x", "--minutes", "30", "--reason", "deploy", "--json"
    )
    assert code == 1  # never judged: its account is needed
    code, out = run(
        "endpoints",
        *("pause", "https://Hooks.example/x?q=1", "--account", made[0]),
        *("--minutes", "30", "--reason", "deploy", "--json"),
    )
    assert code == 0, out
    paused = json.loads(out)
    assert (paused["endpoint"], paused["account_id"], paused["state"]) == (key, made[0], "paused")
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    code, out = run("endpoints", "pause", key, "--until", later, "--reason", "longer", "--json")
    assert code == 0 and dt.datetime.fromisoformat(
        json.loads(out)["paused_until"]
    ) == dt.datetime.fromisoformat(later)
    code, out = run("endpoints", "list", "--state", "paused", "--json")
    assert [e["endpoint"] for e in json.loads(out)["endpoints"]] == [key]
    code, out = run("endpoints", "list", "--account", made[1], "--json")
    assert json.loads(out)["endpoints"] == []
    code, table = run("endpoints", "list")
    assert code == 0 and made[0] in table and "https://hooks.example:443/x" in table
    code, out = run("endpoints", "resume", "https://hooks.example/x", "--reason", "done")
    assert code == 0 and "resumed" in out
    code, out = run(
        "endpoints", "reset", "https://hooks.example/x", "--account", made[0], "--reason", "fine", "--json"
    )
    assert code == 0 and json.loads(out)["state"] == "healthy"
    code, out = run("audit", "list", "--target", key, "--json")
    actions = sorted(e["action"] for e in json.loads(out)["entries"])
    assert actions == ["endpoint.pause", "endpoint.pause", "endpoint.reset", "endpoint.resume"]


def test_what_the_verbs_refuse(tmp_path) -> None:
    env = {"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    runner = CliRunner()
    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0
    for args in (
        ["endpoints", "pause", "https://a.example", "--reason", "x"],  # neither --until nor --minutes
        [
            "endpoints",
            "pause",
            "https://a.example",
            "--reason",
            "x",
            "--minutes",
            "5",
            "--until",
            "2030-01-01T00:00:00+00:00",
        ],
        ["endpoints", "pause", "https://a.example", "--reason", "x", "--until", "2030-01-01T00:00:00"],
        ["endpoints", "pause", "https://a.example", "--reason", " ", "--minutes", "5"],
        ["endpoints", "resume", "https://a.example", "--reason", "x"],
    ):
        done = runner.invoke(cli.app, args, env=env)
        assert done.exit_code == 1, (args, done.stdout)
