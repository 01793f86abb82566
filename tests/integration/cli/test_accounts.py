"""`dlrhub accounts create`: the account's choices reach the store."""

from __future__ import annotations

import json

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
