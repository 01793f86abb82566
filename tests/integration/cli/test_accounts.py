"""`dlrhub accounts create`: the account's choices reach the store."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner

from dlrhub import cli


def test_accounts_create_takes_the_esms_delivered_callback_choice(tmp_path) -> None:
    env = {"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    runner = CliRunner()
    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0  # one-shot commands do not migrate
    made = runner.invoke(cli.app, ["accounts", "create", "--name", "plain", "--json"], env=env)
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["esms_delivered_callback"] is False
    args = ["accounts", "create", "--name", "opted", "--esms-delivered-callback", "--json"]
    opted = runner.invoke(cli.app, args, env=env)
    assert opted.exit_code == 0, opted.output
    assert json.loads(opted.stdout)["esms_delivered_callback"] is True
    listed = runner.invoke(cli.app, ["accounts", "list", "--json"], env=env)
    choices = {a["name"]: a["esms_delivered_callback"] for a in json.loads(listed.stdout)}
    assert choices == {"plain": False, "opted": True}


def test_accounts_verbs_change_and_top_up_an_account_through_the_ledger(tmp_path) -> None:
    env = {"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Any:
        done = runner.invoke(cli.app, ["accounts", *args], env=env)
        assert done.exit_code == code, done.output
        return json.loads(done.stdout) if code == 0 and "--json" in args else done.output

    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0  # one-shot commands do not migrate
    made = run("create", "--name", "Shop", "--balance", "100", "--json")
    account_id = made["id"]
    changed = run(
        "update", account_id, "--price", "tpl:100001=12.5", "--price", "24=",
        "--default-callback-url", "https://customer.example/dr", "--no-esms-delivered-callback",
        "--notify-url", "https://customer.example/alerts", "--json",
    )  # fmt: skip
    assert changed["prices"]["tpl:100001"] == "12.5000" and "24" not in changed["prices"]
    assert changed["default_callback_url"] == "https://customer.example/dr"
    assert changed["notify_url"] == "https://customer.example/alerts"
    assert "notify_url" in str(run("update", account_id, "--notify-url", "http://10.0.0.1/x", code=1))
    assert run("update", account_id, "--notify-url", "", "--json")["notify_url"] is None
    topped = run("top-up", account_id, "--amount", "50", "--reason", "invoice 1", "--json")
    assert topped["balance"] == "150.0000"
    assert topped["entry"]["actor"].startswith("cli:")
    assert run("adjust", account_id, "--amount", "-0.5", "--reason", "fee", "--json")["balance"] == "149.5000"
    assert "below zero" in str(run("adjust", account_id, "--amount", "-1000", "--reason", "x", code=1))
    rows = run("ledger", account_id, "--json")
    assert [(r["kind"], r["amount"]) for r in rows] == [
        ("adjustment", "-0.5000"), ("top_up", "50.0000"), ("opening", "100.0000"),
    ]  # fmt: skip
    assert run("lock", account_id, "--json")["status"] == "locked"
    assert [a["id"] for a in run("list", "--status", "locked", "--json")] == [account_id]
    assert run("unlock", account_id, "--json")["status"] == "active"
    assert run("deactivate", account_id, "--json")["status"] == "deactivated"
    assert "deactivated" in str(run("top-up", account_id, "--amount", "1", "--reason", "x", code=1))
    assert run("show", account_id, "--json")["balance"] == "149.5000"
    assert "no account" in str(run("show", "acc_missing", code=1))
    assert "nothing to change" in str(run("update", account_id, code=1))
    assert run("list", "--name", "SHO", "--json")[0]["id"] == account_id
    assert "Shop" in str(run("list"))


def test_accounts_create_checks_its_values_as_apps_and_update_do(tmp_path) -> None:
    """The currency, the name and the app's DR URL of a new account pass the checks `accounts update` and
    `apps create` apply; a refused one stores nothing."""
    env = {"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    runner = CliRunner()
    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0
    for extra, says in (
        (["--currency", "vnd"], "currency"),
        (["--dr-url", "ftp://customer.example/dr"], "dr_url: only http and https URLs are allowed"),
        (["--dr-url", "http://10.0.0.1/dr"], "dr_url"),
    ):
        done = runner.invoke(cli.app, ["accounts", "create", "--name", "Shop", *extra], env=env)
        assert done.exit_code == 1, (extra, done.output)
        assert says in done.output, (extra, done.output)
    bad_name = runner.invoke(cli.app, ["accounts", "create", "--name", "a\x01b"], env=env)
    assert bad_name.exit_code == 1 and "name" in bad_name.output, bad_name.output
    listed = runner.invoke(cli.app, ["accounts", "list", "--json"], env=env)
    assert json.loads(listed.stdout) == []
    made = runner.invoke(
        cli.app,
        ["accounts", "create", "--name", " Shop ", "--dr-url", "https://customer.example/dr", "--json"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["name"] == "Shop"
