"""`dlrhub serve` shows every metric family on its one port, its dispatcher's attempts included, and opens no
worker port. A real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import dlrhub as package
from dlrhub.adapters import metrics
from tests.integration.cli.test_config_errors import ENTRY
from tests.integration.cli.test_serve_loopback import free_port, loopback_event


def test_serve_exposes_every_family_on_its_one_port(tmp_path: Path) -> None:
    port, worker_port = free_port(), free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    environ["PYTHONPATH"] = str(Path(package.__file__).parent.parent)
    environ.update(
        DLRHUB_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        DLRHUB_PORT=str(port),
        DLRHUB_WORKER_PORT=str(worker_port),  # a worker's setting: serve listens on `port` only
        DLRHUB_ADMIN_TOKEN="test-admin-token-0123456789",
        DLRHUB_LOG_LEVEL="error",
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", ENTRY, "serve"],
        env=environ,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("callbacks to"):
                break
        heading = lines.index("demo account created; its credentials (shown once):")
        demo = json.loads("\n".join(lines[heading + 1 : -1]))["id"]
        assert loopback_event(port, demo).status_code == 202
        text = ""
        for _ in range(300):  # the callback to 127.0.0.1:9 is refused: one `connect` attempt
            text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            if 'dlrhub_callback_attempts_total{outcome="connect"}' in text:
                break
            time.sleep(0.1)
        found = {name.removesuffix("_total") for name in re.findall(r"^# TYPE (\w+) ", text, flags=re.M)}
        assert found >= set(metrics.FAMILIES)
        assert 'dlrhub_callback_attempts_total{outcome="connect"} 1.0' in text
        assert re.search(rf'dlrhub_endpoint_failing\{{account_id="{demo}",', text)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{worker_port}/metrics", timeout=2)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
