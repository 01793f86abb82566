"""A real `dlrhub serve` process (Zalo simulator mounted), and customers of both dialects."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests import receivers
from tests.acceptance.engine import harness

DLRHUB = str(Path(sys.executable).parent / "dlrhub")
ADMIN = "acceptance-admin-token-0123456789"


@dataclasses.dataclass
class Served:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def start(tmp: Path, **env_extra: str) -> Served:
    """`dlrhub serve` on a free loopback port with a fresh SQLite file; returns once `/healthz` answers."""
    port = harness.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env.update(
        DLRHUB_DATABASE_URL=f"sqlite:///{tmp / 'dlrhub.sqlite3'}",
        DLRHUB_HOST="127.0.0.1",
        DLRHUB_PORT=str(port),
        DLRHUB_ADMIN_TOKEN=ADMIN,
        DLRHUB_DEMO_ACCOUNT="0",
        DLRHUB_CALLBACK_ALLOW="127.0.0.1",
        DLRHUB_SIMULATOR_RECEIPT_DELAY_S="0.1",
        DLRHUB_ZALO_TIMEOUT_S="1",
        DLRHUB_SIMULATOR_JOURNEY_LIFETIME_S="3",
        DLRHUB_LOG_LEVEL="warning",
    )
    env.update(env_extra)
    log = tmp / "serve.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([DLRHUB, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(f"dlrhub serve exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return Served(proc, url, log)
        except OSError:
            time.sleep(0.05)
    harness.stop_worker(proc)
    raise AssertionError("dlrhub serve did not start")


def error_info(callback: receivers.Hit) -> Any:
    """The decoded `error_info` of an eSMS GET callback (forms A and C; form B is encoded once more)."""
    raw = callback.params.get("error_info") or ""
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = json.loads(urllib.parse.unquote(raw))
    return json.loads(value) if isinstance(value, str) else value
