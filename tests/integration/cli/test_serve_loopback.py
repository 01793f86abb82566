"""`dlrhub serve` opens callbacks to loopback only while its store holds nothing but the demo account it made on
its first start, or as DLRHUB_CALLBACK_ALLOW says; its banner says which applies. Real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dlrhub as package
from dlrhub import cli
from tests.integration.cli.test_config_errors import ENTRY, dlrhub


def banner(tmp_path: Path, **env: str) -> list[str]:
    """The lines `dlrhub serve` prints up to and including its loopback line (its banner's last); then it is
    stopped."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    environ["PYTHONPATH"] = str(Path(package.__file__).parent.parent)
    environ.update(
        DLRHUB_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DLRHUB_PORT="0",
        DLRHUB_ADMIN_TOKEN="t",
        DLRHUB_LOG_LEVEL="error",
        **env,
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "serve"],
        env=environ,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("callbacks to"):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    return lines


def test_loopback_is_open_for_the_demo_store_only(tmp_path: Path) -> None:
    first = banner(tmp_path)
    assert cli.LOOPBACK_DEMO in first, first
    assert "demo account created; its credentials (shown once):" in first
    again = banner(tmp_path)
    assert cli.LOOPBACK_DEMO in again, again  # still nothing but the demo account: still a demo
    assert not any("demo account created" in line for line in again)

    made = dlrhub(tmp_path, "accounts", "create", "--name", "acme", "--json")
    assert made.returncode == 0, made.stdout + made.stderr
    real = banner(tmp_path)
    assert cli.LOOPBACK_CLOSED in real, real  # a real customer now: loopback is closed for good

    by_setting = banner(tmp_path, DLRHUB_CALLBACK_ALLOW="127.0.0.1,10.0.0.0/8")
    assert cli.LOOPBACK_SETTING.format("127.0.0.1, 10.0.0.0/8") in by_setting, by_setting


def test_no_demo_account_means_no_loopback(tmp_path: Path) -> None:
    lines = banner(tmp_path, DLRHUB_DEMO_ACCOUNT="off")
    assert cli.LOOPBACK_CLOSED in lines, lines
