"""SQLite's two connections: writes inline on the caller's thread, reads on the reader thread, large changes in
chunks of `core.CHUNK_ROWS` transactions."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import sqlite3
import threading
from pathlib import Path

import pytest

from dlrhub import store
from dlrhub.core import ids, models, urls
from dlrhub.store import migrations
from dlrhub.store.sqlite import checkpoint, core
from tests.conftest import make_account
from tests.integration.engine.test_dispatcher import ingest


@pytest.fixture
async def lite(sqlite_url: str):
    s = store.from_url(sqlite_url)
    assert isinstance(s, core.SqliteCore)
    yield s
    await s.close()


async def test_writes_run_on_the_loop_and_reads_see_them_at_once(lite):
    """Pins the design of docs/adr/0002: a write never hops to another thread; a read does, on its own
    connection, and sees every write committed before it started."""
    threads: dict[str, int] = {}

    def write(conn: sqlite3.Connection) -> None:
        threads["write"] = threading.get_ident()
        conn.execute("INSERT INTO oa_quota (oa_id, day, used) VALUES ('oa', '2026-12-01', 7)")

    def read(conn: sqlite3.Connection) -> int:
        threads["read"] = threading.get_ident()
        used: int = conn.execute("SELECT used FROM oa_quota WHERE oa_id = 'oa'").fetchone()[0]
        return used

    await lite._tx(write)
    assert await lite._read(read) == 7
    assert threads["write"] == threading.get_ident()
    assert threads["read"] != threading.get_ident()


async def test_the_reader_connection_cannot_write(lite):
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        await lite._read(lambda conn: conn.execute("DELETE FROM accounts"))


async def test_a_failed_write_leaves_nothing_behind(lite):
    def write_then_fail(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO oa_quota (oa_id, day, used) VALUES ('oa', '2026-12-01', 1)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await lite._tx(write_then_fail)
    assert await lite._read(lambda conn: conn.execute("SELECT count(*) FROM oa_quota").fetchone()[0]) == 0


async def test_in_memory_store_reads_its_own_writes():
    mem = store.from_url("sqlite:///:memory:")
    try:
        await mem.migrate()
        account = make_account()
        await mem.create_account(account, [])
        assert await mem.get_account(account.id) == account
    finally:
        await mem.close()


async def test_endpoint_wide_changes_and_replay_go_a_chunk_to_a_transaction(lite, monkeypatch):
    monkeypatch.setattr(core, "CHUNK_ROWS", 3)
    transactions = 0
    tx = lite._tx

    async def counted(fn):
        nonlocal transactions
        transactions += 1
        return await tx(fn)

    account = make_account()
    await lite.create_account(account, [])
    for n in range(8):
        await ingest(lite, account, f"m{n}", models.EventKind.SUCCESS, f"http://a.example/x?n={n}")
    callback_ids = [(await lite.list_callbacks(f"m{n}"))[0].id for n in range(8)]
    monkeypatch.setattr(lite, "_tx", counted)
    now = dt.datetime.now(dt.UTC)
    later = now + dt.timedelta(minutes=5)
    changes = [(i, "http://b.example/x", "http://b.example:80", "b") for i in callback_ids]
    key = urls.health_key(account.id, "http://a.example/x")
    steps = [
        (lite.defer_endpoint_callbacks(key, later, now), 8),
        (lite.cancel_endpoint_callbacks(key, now), 8),
        (lite.cancel_endpoint_callbacks(key, now), 0),
        (lite.requeue_callbacks(changes, now), 8),
        (lite.cancel_callbacks(callback_ids, now), 8),
    ]
    for step, changed in steps:
        transactions = 0
        assert await step == changed
        assert transactions == changed // 3 + 1  # chunks of 3, the last one short
    assert {(await lite.get_callback(i)).state for i in callback_ids} == {models.CallbackState.CANCELLED}


async def test_a_failed_checkpointer_hands_checkpoints_back_to_sqlite(sqlite_url, monkeypatch):
    def broken(self, conn):
        raise sqlite3.DatabaseError("disk I/O error")

    monkeypatch.setattr(checkpoint.Checkpointer, "_pass", broken)
    lite = store.from_url(sqlite_url)
    assert isinstance(lite, core.SqliteCore)
    try:
        await lite._tx(lambda conn: conn.execute("SELECT 1"))
        assert lite._checkpointer is not None
        await asyncio.get_running_loop().run_in_executor(None, lite._checkpointer._thread.join, 10)
        assert not lite._checkpointer._thread.is_alive()
        assert await lite._tx(lambda conn: conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]) == 1000
    finally:
        await lite.close()


async def test_the_wal_stays_bounded_under_writes_that_never_pause(sqlite_url, monkeypatch):
    """SQLite starts the WAL over only when a write finds it all copied back; the checkpointer holds writes
    back for one pass once it is past its limit, or a steady load would grow it without end."""
    limit = 256 * 1024
    # A write every half millisecond or so: never a pause long enough for a checkpoint and its fsyncs.
    monkeypatch.setattr(checkpoint, "WAL_LIMIT_BYTES", limit)
    # About twenty rounds over the second these writes take, as many holds as the WAL needs to start over; no copy
    # by the clock: the WAL's size alone brings each pass on.
    monkeypatch.setattr(checkpoint, "INTERVAL_S", 0.05)
    monkeypatch.setattr(checkpoint, "COPY_EVERY_S", 3600.0)
    lite = store.from_url(sqlite_url)
    assert isinstance(lite, core.SqliteCore)
    blob = b"x" * 4096
    written = 0

    def write(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO orphan_receipts (oa_id, msg_id, payload, received_at) VALUES ('oa', ?, ?, 0)",
            (ids.token(), blob),
        )

    sizes: list[int] = []
    try:
        while written < 20 * limit:
            await lite._tx(write)
            written += len(blob)
            sizes.append(Path(lite.path + "-wal").stat().st_size)
            await asyncio.sleep(0.0005)
    finally:
        await lite.close()
    # Without the hold the WAL never starts over and keeps every frame written (each write is more than its blob:
    # overflow and index pages); with it, the file is trimmed back each time it starts over. How often depends on
    # the machine's load (a hold that did not let it start over backs off), so the test counts that it does.
    restarts = sum(1 for a, b in itertools.pairwise(sizes) if b < a)
    assert restarts >= 2, f"the WAL never started over: {sizes[-1]} bytes for {written} written"
    assert sizes[-1] < written, f"the WAL grew to {sizes[-1]} bytes for {written} written"


async def test_an_idle_store_is_not_held_again_and_again(sqlite_url, monkeypatch):
    """Past the limit with nothing being written, the next write starts the WAL over by itself: the
    checkpointer does not keep holding writes back meanwhile."""
    monkeypatch.setattr(checkpoint, "WAL_LIMIT_BYTES", 64 * 1024)
    monkeypatch.setattr(checkpoint, "INTERVAL_S", 0.05)
    holds = 0
    hold = core.SqliteCore._hold_writes

    def counted(self):
        nonlocal holds
        holds += 1
        return hold(self)

    monkeypatch.setattr(core.SqliteCore, "_hold_writes", counted)
    lite = store.from_url(sqlite_url)
    assert isinstance(lite, core.SqliteCore)
    try:
        blob = b"x" * 4096
        for _ in range(100):  # 400 KB in one go: past the limit before the first pass
            await lite._tx(
                lambda conn: conn.execute(
                    "INSERT INTO orphan_receipts (oa_id, msg_id, payload, received_at) VALUES ('oa', ?, ?, 0)",
                    (ids.token(), blob),
                )
            )
        holds = 0
        await asyncio.sleep(20 * checkpoint.INTERVAL_S)  # idle: about twenty passes
    finally:
        await lite.close()
    assert holds <= 1


async def test_the_writer_keeps_statement_journals_in_memory_and_a_migration_sorts_in_files(
    lite, monkeypatch
):
    """A multi-row UPDATE journals the pages it changes so that the statement alone can be undone; past 64 KB
    SQLite spilled that journal to a temporary file, a write per page. The writer keeps it in memory; a
    migration, which may build an index over a whole table, sorts in temporary files as before."""
    seen: list[int] = []
    statements = core._statements

    def spying(sql: str) -> list[str]:
        assert lite._writer is not None
        seen.append(lite._writer.execute("PRAGMA temp_store").fetchone()[0])
        return statements(sql)

    assert await lite._tx(lambda conn: conn.execute("PRAGMA temp_store").fetchone()[0]) == 2  # MEMORY
    monkeypatch.setattr(core, "_statements", spying)
    monkeypatch.setattr(migrations, "load", lambda backend: [("9999_probe", "SELECT 1")])
    assert await lite.migrate() == ["9999_probe"]
    assert seen == [0]  # DEFAULT: files
    assert await lite._tx(lambda conn: conn.execute("PRAGMA temp_store").fetchone()[0]) == 2


async def test_the_checkpointer_syncs_the_wal_every_round_and_copies_it_back_less_often(
    sqlite_url, monkeypatch
):
    """A busy dispatcher re-dirties the same index pages in every transaction, so each copy of the WAL back into
    the file copies nearly the same pages: the copies run every COPY_EVERY_S, and the rounds between only fsync
    the WAL, as a copy does first (a commit survives an OS crash as soon as it did before)."""
    monkeypatch.setattr(checkpoint, "INTERVAL_S", 0.02)
    monkeypatch.setattr(checkpoint, "COPY_EVERY_S", 0.2)
    events: list[str] = []
    copy, sync = checkpoint.Checkpointer._pass, checkpoint.Checkpointer._sync_wal

    def copying(self, conn):
        events.append("copy")
        return copy(self, conn)

    def syncing(self):
        events.append("sync")
        sync(self)

    monkeypatch.setattr(checkpoint.Checkpointer, "_pass", copying)
    monkeypatch.setattr(checkpoint.Checkpointer, "_sync_wal", syncing)
    lite = store.from_url(sqlite_url)
    assert isinstance(lite, core.SqliteCore)
    try:
        while events.count("copy") < 3:
            await lite._tx(
                lambda conn: conn.execute(
                    "INSERT INTO oa_quota (oa_id, day, used) VALUES (?, 'd', 1)", (ids.token(),)
                )
            )
            await asyncio.sleep(0.01)
    finally:
        await lite.close()
    assert events.count("sync") >= 2 * events.count("copy"), events
    assert not Path(lite.path + "-wal").exists()  # closed: copied back and removed as before
