"""`dlrhub serve` opens callbacks to loopback only while its store holds nothing but the demo account it made on
its first start, or as DLRHUB_CALLBACK_ALLOW says; its banner says which applies. Real subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import dlrhub as package
from dlrhub import cli
from tests.integration.cli.test_config_errors import ENTRY, dlrhub


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def loopback_event(port: int, account: str) -> httpx.Response:
    """A native event whose callback goes to loopback, once the server answers."""
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/healthz", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    body = {
        "event_id": f"e-{port}", "message_id": f"m-{port}", "account": account, "type_id": 24,
        "status": "success", "dialect": "native", "callback_url": "http://127.0.0.1:9/cb",
    }  # fmt: skip
    return httpx.post(
        f"{base}/v1/events",
        json=body,
        headers={"Authorization": "Bearer test-admin-token-0123456789"},
        timeout=10,
    )


def banner(tmp_path: Path, probe: str | None = None, **env: str) -> tuple[list[str], httpx.Response | None]:
    """The lines `dlrhub serve` prints up to and including its loopback line (its banner's last), and with a
    `probe` account, the answer to a native event with a loopback callback; then serve is stopped."""
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    environ["PYTHONPATH"] = str(Path(package.__file__).parent.parent)
    environ.update(
        {
            "DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "DLRHUB_PORT": str(port),
            "DLRHUB_ADMIN_TOKEN": "test-admin-token-0123456789",
            "DLRHUB_LOG_LEVEL": "error",
            **env,
        }
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
    answer = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("callbacks to"):
                break
        if probe is not None:
            answer = loopback_event(port, probe)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    return lines, answer


def refused(answer: httpx.Response | None) -> bool:
    assert answer is not None
    assert answer.status_code in (202, 422), answer.text
    return answer.status_code == 422 and "callback_url" in answer.text


def test_loopback_is_open_for_the_demo_store_only(tmp_path: Path) -> None:
    first, _ = banner(tmp_path)
    assert cli.LOOPBACK_DEMO in first, first
    heading = first.index("demo account created; its credentials (shown once):")
    demo = json.loads("\n".join(first[heading + 1 : -1]))["id"]
    assert demo.startswith("acc_demo")
    again, answer = banner(tmp_path, probe=demo)
    assert cli.LOOPBACK_DEMO in again, again  # still nothing but the demo account: still a demo
    assert not any("demo account created" in line for line in again)
    assert cli.DEMO_AGAIN.format(demo) in again, again  # where the lost credentials come from
    assert not refused(answer)

    made = dlrhub(tmp_path, "accounts", "create", "--name", "acme", "--json")
    assert made.returncode == 0, made.stdout + made.stderr
    real, answer = banner(tmp_path, probe=demo)
    assert cli.LOOPBACK_CLOSED in real, real  # a real customer now: loopback is closed for good
    assert not any(line.startswith("demo account") for line in real), real
    assert refused(answer)

    by_setting, answer = banner(tmp_path, probe=demo, DLRHUB_CALLBACK_ALLOW="127.0.0.1,10.0.0.0/8")
    assert cli.LOOPBACK_SETTING.format("127.0.0.1, 10.0.0.0/8") in by_setting, by_setting
    assert not refused(answer)


def test_no_demo_account_means_no_loopback(tmp_path: Path) -> None:
    lines, _ = banner(tmp_path, DLRHUB_DEMO_ACCOUNT="off")
    assert cli.LOOPBACK_CLOSED in lines, lines


@pytest.mark.postgres
def test_the_banner_never_prints_the_store_password(tmp_path: Path, pg_url: str) -> None:
    user, _, rest = pg_url.partition("://")[2].partition("@")
    with_password = f"postgresql://{user}:hunter2-never-shown@{rest}"  # trust auth ignores it
    lines, _ = banner(tmp_path, DLRHUB_DATABASE_URL=with_password)
    text = "\n".join(lines)
    assert "hunter2-never-shown" not in text
    assert f"store postgresql://{user}:…@{rest}" in text
