"""`dlrhub serve` with DLRHUB_LOG_FORMAT=json: every line on stderr, uvicorn's included, is one JSON object; the
workers' start and stop are logged; an answer carries its request id. A real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

import dlrhub as package
from tests.integration.cli.test_config_errors import ENTRY
from tests.integration.cli.test_serve_loopback import free_port


def test_serve_writes_every_line_as_json(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env["PYTHONPATH"] = str(Path(package.__file__).parent.parent)
    env.update(
        DLRHUB_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DLRHUB_PORT=str(port),
        DLRHUB_ADMIN_TOKEN="test-admin-token-0123456789",
        DLRHUB_LOG_FORMAT="json",
    )
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", ENTRY, "serve"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        try:
            answer = None
            for _ in range(300):
                try:
                    answer = httpx.get(
                        f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "probe-1"}
                    )
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            assert answer is not None and answer.status_code == 200
            assert answer.headers["x-request-id"] == "probe-1"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    loggers = {line["logger"] for line in lines}
    assert "uvicorn.error" in loggers, loggers
    started = {line["worker"] for line in lines if line.get("event") == "worker.started"}
    stopped = {line["worker"] for line in lines if line.get("event") == "worker.stopped"}
    assert started == stopped == {"dispatcher", "zalo_channel", "alert_watch", "pruner"}
