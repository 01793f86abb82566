"""`dlrhub tokens` and `dlrhub audit list`: the real CLI on a SQLite file, --json throughout."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from dlrhub import cli


def test_create_list_revoke_and_the_audit_trail(tmp_path) -> None:
    env = {"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3", "COLUMNS": "250"}
    runner = CliRunner()
    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0  # one-shot commands do not migrate

    def run(*args: str):
        done = runner.invoke(cli.app, list(args), env=env)
        return done.exit_code, done.stdout

    code, out = run("accounts", "create", "--name", "shop", "--json")
    assert code == 0, out
    account_id = json.loads(out)["id"]
    code, out = run(
        "tokens", "create", "--name", "shop-pull", "--kind", "customer", "--account", account_id, "--json"
    )
    assert code == 0, out
    made = json.loads(out)
    secret = made["token"]
    assert secret.startswith("dlrh_c_")
    assert made["account_id"] == account_id
    assert made["created_by"].startswith("cli:")

    code, out = run("tokens", "list", "--json")
    assert code == 0
    [listed] = json.loads(out)["tokens"]
    assert listed["prefix"] == secret[:11] + "…"
    assert secret not in out
    code, table = run("tokens", "list")
    assert code == 0 and secret not in table and "shop-pull" in table

    code, out = run("tokens", "revoke", made["id"], "--json")
    assert code == 0
    assert json.loads(out)["revoked_at"] is not None

    code, out = run("audit", "list", "--target", made["id"], "--json")
    assert code == 0
    entries = json.loads(out)["entries"]
    assert [(e["action"], e["target"]) for e in entries] == [
        ("token.revoke", made["id"]),
        ("token.create", made["id"]),
    ]
    assert secret not in out
    code, out = run("audit", "list", "--action", "token.create", "--limit", "1", "--json")
    assert [e["action"] for e in json.loads(out)["entries"]] == ["token.create"]


def test_bad_input_is_one_line_and_exit_1(tmp_path) -> None:
    env = {"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path}/cli.sqlite3"}
    runner = CliRunner()
    assert runner.invoke(cli.app, ["migrate"], env=env).exit_code == 0
    for args in (
        ["tokens", "create", "--name", "shop", "--kind", "customer"],
        ["tokens", "create", "--name", "shop", "--kind", "customer", "--account", "acc_none"],
        ["tokens", "revoke", "tok_none"],
        ["audit", "list", "--since", "yesterday"],
    ):
        done = runner.invoke(cli.app, args, env=env)
        assert done.exit_code == 1, (args, done.output)
        assert len(done.output.strip().splitlines()) == 1, done.output
    runner.invoke(cli.app, ["tokens", "create", "--name", "ops", "--kind", "read"], env=env)
    taken = runner.invoke(cli.app, ["tokens", "create", "--name", "ops", "--kind", "read"], env=env)
    assert taken.exit_code == 1
    assert "exists already" in taken.output
