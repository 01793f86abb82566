"""Real `dlrhub worker` processes, for the engine's acceptance tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from dlrhub import settings, store
from dlrhub.core import models
from dlrhub.services import events
from dlrhub.services import hub as hub_

DLRHUB = str(Path(sys.executable).parent / "dlrhub")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def worker_env(db_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    env.update(
        DLRHUB_DATABASE_URL=db_url,
        DLRHUB_CALLBACK_ALLOW="127.0.0.1",
        DLRHUB_CALLBACK_TIMEOUT_S="1",
        DLRHUB_DISPATCH_LEASE_S="3",
        DLRHUB_DISPATCH_CONCURRENCY="32",
        DLRHUB_DISPATCH_BATCH_SIZE="50",
        DLRHUB_LOG_LEVEL="warning",
        DLRHUB_ZALO_MODE="simulator",
        # Off unless a test gives a worker its own port: workers of one test would all want the default.
        DLRHUB_WORKER_PORT="0",
    )
    env.update(extra)
    return env


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([DLRHUB, "worker"], env=env, stdout=out, stderr=subprocess.STDOUT)


def stop_worker(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Stop a process and wait for it (blocking: use `stop_worker_async` while a local receiver must answer)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


async def stop_worker_async(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """`stop_worker` off the event loop, so a receiver on this loop keeps answering meanwhile."""
    await asyncio.to_thread(stop_worker, proc, sig)


async def queue(db: store.Store, account: models.Account, url: str, n: int, prefix: str) -> None:
    """Ingest `n` native `success` events, each making one callback to `url`."""
    hub = hub_.Hub(settings=settings.Settings(), store=db)
    for i in range(n):
        await events.ingest_external(
            hub,
            events.ExternalEvent(
                event_id=f"{prefix}{i}:success",
                message_id=f"{prefix}{i}",
                account_id=account.id,
                kind=models.EventKind.SUCCESS,
                type_id=24,
                dialect=models.Dialect.NATIVE,
                occurred_at=dt.datetime.now(dt.UTC),
                callback_url=url,
            ),
        )


async def wait_until(check, within_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    for _ in range(int(within_s / 0.05)):
        if await check():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited with {proc.returncode}")
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")
