"""`dlrhub replay` as a real process against a SQLite file: select, requeue and show."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

from dlrhub import store
from dlrhub.core import models
from tests.acceptance.engine import harness
from tests.conftest import make_account


async def cli(env: dict[str, str], *args: str) -> Any:
    proc = await asyncio.create_subprocess_exec(
        harness.DLRHUB, "replay", *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


async def test_replay_cli_selects_requeues_and_shows(sqlite_url):
    db = store.from_url(sqlite_url)
    await db.migrate()
    account = make_account()
    await db.create_account(account, [])
    await harness.queue(db, account, "http://127.0.0.1:9/hook", 3, "c")
    [cb] = await db.list_callbacks("c1")
    await db.cancel_callbacks([cb.id], cb.created_at)
    env = harness.worker_env(sqlite_url)
    try:
        dry = await cli(env, "run", "--message", "c1", "--dry-run", "--json")
        assert dry == {"selected": 1, "requeued": 0, "dry_run": True, "callbacks": [cb.id]}
        cancelled = await cli(env, "run", "--since", "1h", "--state", "cancelled", "--json")
        assert cancelled["requeued"] == 1
        assert (await db.get_callback(cb.id)).state is models.CallbackState.PENDING
        moved = await cli(env, "run", "--id", cb.id, "--url", "http://127.0.0.1:9/elsewhere", "--json")
        assert moved["requeued"] == 1
        assert (await db.get_callback(cb.id)).request.url == "http://127.0.0.1:9/elsewhere"
        shown = await cli(env, "show", "c1", "--json")
        assert shown == [
            {"id": cb.id, "state": "pending", "url": "http://127.0.0.1:9/elsewhere", "attempts": []}
        ]
    finally:
        await db.close()
