"""`dlrhub keys` and `dlrhub apps`: each verb through the real CLI, with --json, on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from dlrhub import cli
from dlrhub.services import keys


@pytest.fixture
def run(db_url: str):
    env = {"DLRHUB_DATABASE_URL": db_url}
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Any:
        done = runner.invoke(cli.app, list(args), env=env)
        assert done.exit_code == code, done.output
        return json.loads(done.stdout) if code == 0 and "--json" in args else done.output

    return invoke


def test_rotating_every_customer_key_and_signing_secret(run):
    made = run("accounts", "create", "--name", "shop", "--signed", "--json")
    account = made["id"]
    esms = run("keys", "rotate-esms", account, "--overlap", "2h", "--json")
    assert esms["ApiKey"] != made["esms"]["ApiKey"]
    assert esms["old"]["revoked"] is False
    [listed] = run("accounts", "list", "--json")
    assert listed["esms_api_key"] == esms["ApiKey"]
    nx = run("keys", "rotate-nxcloud", account, "--old-valid-until", "2099-01-01T00:00:00+07:00", code=1)
    assert "at most 90 days" in nx
    nx = run("keys", "rotate-nxcloud", account, "--overlap", "0", "--json")
    assert nx["old"] == {
        "key_hint": "…" + made["nxcloud"]["accessKey"][-4:],
        "valid_until": None,
        "revoked": True,
    }
    status = run("keys", "status", account, "--json")
    assert [r["kind"] for r in status["retired"]] == ["esms"]
    assert esms["SecretKey"] not in json.dumps(status)
    [first] = made["signing_secrets"]
    added = run("keys", "signing-add", account, "--json")
    assert added["key_ids"] == [keys.key_id(first), added["key_id"]]
    assert run("keys", "signing-list", account, "--json")["key_ids"] == added["key_ids"]
    run("keys", "signing-retire", account, keys.key_id(first), "--json")
    refused = run("keys", "signing-retire", account, added["key_id"], code=1)
    assert "last signing secret" in refused
    done = run("keys", "signing-retire", account, added["key_id"], "--allow-unsigned", "--json")
    assert done["signed"] is False
    assert "error" in run("keys", "rotate-esms", "acc_nope", code=1)
    assert "--overlap" in run("keys", "rotate-esms", account, "--overlap", "soon", code=2)


def test_apps_from_the_cli(run):
    made = run("accounts", "create", "--name", "shop", "--json")
    account = made["id"]
    app = run("apps", "create", "--account", account, "--name", "second", "--quotation", "300", "--json")
    assert app["quotation"] == "300.0000"
    assert app["oa_id"] is None
    appkey = app["appkey"]
    oa_id = made["esms"]["OAID"]
    changed = run("apps", "update", appkey, "--oa-id", oa_id, "--quotation", "none", "--unrouted", "--json")
    assert (changed["oa_id"], changed["quotation"], changed["routed"]) == (oa_id, None, False)
    assert run("apps", "show", appkey, "--json") == changed
    listed = run("apps", "list", "--account", account, "--json")
    assert {a["appkey"] for a in listed} == {appkey, made["nxcloud"]["appkey"]}
    assert "dr_url: destination address is loopback" in run(
        "apps", "update", appkey, "--dr-url", "http://127.0.0.1/dr", code=1
    )
    assert "oa_id" in run("apps", "create", "--account", account, "--name", "x", "--oa-id", "nope", code=1)
    assert run("apps", "show", appkey, "--json") == changed
