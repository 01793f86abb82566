"""`dlrhub endpoints limit`, `limits` and `unlimit` on a SQLite file, each change in the audit log."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dlrhub import cli


def test_limit_list_and_unlimit(tmp_path) -> None:
    env = {"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3", "COLUMNS": "250"}
    runner = CliRunner()
    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0

    def run(*args: str):
        done = runner.invoke(cli.app, list(args), env=env)
        return done.exit_code, done.stdout

    code, out = run(
        "endpoints", "limit", "--endpoint", "https://GW.example/dr", "--rate", "5", "--burst", "2", "--json"
    )
    assert code == 0, out
    made = json.loads(out)
    assert (made["endpoint"], made["rate_per_s"], made["burst"], made["set_by"]) == (
        "https://gw.example:443",
        5.0,
        2,
        "operator",
    )
    code, out = run("endpoints", "limit", "--endpoint", "https://gw.example", "--rate", "0")
    assert code != 0
    code, out = run("endpoints", "limits", "--json")
    assert [x["endpoint"] for x in json.loads(out)["limits"]] == ["https://gw.example:443"]
    code, table = run("endpoints", "limits")
    assert code == 0 and "https://gw.example:443" in table and "operator" in table
    code, out = run("endpoints", "unlimit", "--endpoint", "https://gw.example:443")
    assert code == 0 and "unlimited" in out
    code, out = run("endpoints", "unlimit", "--endpoint", "https://gw.example:443")
    assert code == 1
    code, out = run("audit", "list", "--json")
    actions = [e["action"] for e in json.loads(out)["entries"]]
    assert actions.count("endpoint_limit.set") == 1 and actions.count("endpoint_limit.remove") == 1
