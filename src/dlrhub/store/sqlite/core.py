"""The SQLite connections: one file in WAL mode, written on the event loop, read on a reader thread.

Writes run inline on the calling event loop, each `_tx` one short transaction on the one writer connection.
With WAL and `synchronous=NORMAL` a commit is a write into the WAL (no fsync; the checkpointer's thread does
those), so a batch of accepts takes a fraction of a millisecond. A writer thread was tried first: handing
every transaction to it, and its sharing of the GIL with the loop, cost more than the SQLite work itself
(bench/ingest.py; docs/adr/0002-sqlite-writes-on-the-event-loop.md). Every write must therefore be kept short by
its caller (a batch, a `LIMIT` on an indexed query, `CHUNK_ROWS` with `_executemany` and `_update_all`). Reads
run on their own connection in a thread, so a large read never holds the loop; WAL lets them run beside it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from dlrhub.core import errors
from dlrhub.store import migrations, rows
from dlrhub.store.sqlite import checkpoint

T = TypeVar("T")
BACKEND: rows.Backend = "sqlite"
MEMORY = ":memory:"

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # NORMAL in WAL mode survives a process crash; only an OS crash may lose the last commits.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    # Only another process (a CLI command on the same file) can hold the write lock; its transactions are short.
    "PRAGMA busy_timeout=10000",
    "PRAGMA cache_size=-65536",
)
#: The writer's statement journals (the pages a statement changed, kept to undo just that statement) in memory: a
#: record of 300 delivered callbacks changes about 800 pages, and past 64 KB SQLite spilled them to a temporary
#: file, a write per page (about 8 µs a recorded row, 13 % of the record: docs/benchmarks.md "fleet"). Writes are
#: short by design (above), so this memory is too; a migration, which may sort a whole table, puts it back.
TEMP_IN_MEMORY = "PRAGMA temp_store=MEMORY"
TEMP_IN_FILES = "PRAGMA temp_store=DEFAULT"
#: The most rows one write transaction changes when a caller's set may be large: a few milliseconds of the
#: loop's time per transaction, the loop free between them.
CHUNK_ROWS = 1_000
#: Fills `migrations.CREATE_MAP`'s table from a migration's prelude.
FILL_MAP = "INSERT INTO migration_map (old, new) VALUES (?, ?)"
#: A migration's applied-at time (Unix seconds) is the database's own: migrating takes no clock.
RECORD_MIGRATION = (
    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, (julianday('now') - 2440587.5) * 86400.0)"
)
HAS_MIGRATIONS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
_READER_PRAGMAS = ("PRAGMA busy_timeout=10000", "PRAGMA query_only=ON", "PRAGMA cache_size=-65536")


class SqliteCore:
    """Owns the connections; the concern mixins build on `_tx` and `_read`."""

    def __init__(self, path: str, *, create: bool = True) -> None:
        self.path = path
        # False: the file must exist already (a command that needs a store never leaves an empty one behind).
        self.create = create
        self._writer: sqlite3.Connection | None = None
        # The writer is used on the loop's thread. The lock keeps the other threads that touch it (the
        # checkpointer's, the reader's on its first read) from doing so mid-transaction.
        self._writer_lock = threading.Lock()
        self._closed = False
        self._reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlrhub-sqlite-read")
        self._reader: sqlite3.Connection | None = None
        self._checkpointer: checkpoint.Checkpointer | None = None
        # While the checkpointer holds writes back, `_tx` waits on this (see `_hold_writes`).
        self._writes_held: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _connect(self, pragmas: tuple[str, ...]) -> sqlite3.Connection:
        if self.create or self.path == MEMORY:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        else:
            if not Path(self.path).is_file():
                raise errors.StoreUnavailable(
                    f"no SQLite database at {self.path}: run `dlrhub migrate` to create it,"
                    " or point DLRHUB_DATABASE_URL at the existing one"
                )
            # `mode=rw` opens the file only if it exists, even if it vanished since the check above.
            uri = Path(self.path).absolute().as_uri() + "?mode=rw"
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        for pragma in pragmas:
            conn.execute(pragma)
        return conn

    def _writer_connection(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError("the SQLite store is closed")
        if self._writer is None:
            if self.path != MEMORY and self.create:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect((*_PRAGMAS, TEMP_IN_MEMORY))
            if self.path != MEMORY:
                conn.execute("PRAGMA wal_autocheckpoint=0")  # the Checkpointer's thread does it instead
                conn.execute(f"PRAGMA journal_size_limit={checkpoint.WAL_LIMIT_BYTES}")
                self._checkpointer = checkpoint.Checkpointer(
                    self.path, self._hold_writes, self._auto_checkpoints
                )
            self._writer = conn
        return self._writer

    def _auto_checkpoints(self) -> None:
        """(On the checkpointer's thread, which failed.) Let SQLite checkpoint on commit again."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.execute("PRAGMA wal_autocheckpoint=1000")

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` in one write transaction, inline: it must be short (see the module docstring)."""
        while self._writes_held is not None:
            await self._writes_held.wait()
        self._loop = asyncio.get_running_loop()
        with self._writer_lock:
            conn = self._writer_connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

    async def _executemany(self, sql: str, params: list[Any]) -> int:
        """`sql` for each of `params`, CHUNK_ROWS to a transaction; returns the rows changed in all."""
        changed = 0
        for start in range(0, len(params), CHUNK_ROWS):
            if start:
                await asyncio.sleep(0)
            chunk = params[start : start + CHUNK_ROWS]

            def run(conn: sqlite3.Connection, chunk: list[Any] = chunk) -> int:
                return conn.executemany(sql, chunk).rowcount

            changed += await self._tx(run)
        return changed

    async def _update_all(self, sql: str, params: tuple[Any, ...]) -> int:
        """Repeat `sql` until it changes fewer than CHUNK_ROWS rows; returns the rows changed in all.

        `sql` is an UPDATE of the rows after a rowid, in rowid order, at most a number of them (its last two
        parameters), that returns their rowids: each transaction starts after the last one's last row.
        """
        changed, after = 0, 0
        while True:

            def run(
                conn: sqlite3.Connection, args: tuple[Any, ...] = (*params, after, CHUNK_ROWS)
            ) -> list[Any]:
                return conn.execute(sql, args).fetchall()

            done = await self._tx(run)
            changed += len(done)
            if len(done) < CHUNK_ROWS:
                return changed
            after = max(row[0] for row in done)
            await asyncio.sleep(0)

    @contextlib.contextmanager
    def _hold_writes(self) -> Iterator[bool]:
        """(On the checkpointer's thread.) Hold new write transactions back, without blocking the loop they run
        on, while the body runs; yields False when the loop did not answer."""
        loop = self._loop
        if loop is None:
            yield False
            return
        held, holding = asyncio.Event(), threading.Event()

        def hold() -> None:
            # On the loop, between two writes: none is open now, and none starts until `release`.
            self._writes_held = held
            holding.set()

        def release() -> None:
            self._writes_held = None
            held.set()

        try:
            loop.call_soon_threadsafe(hold)
        except RuntimeError:  # the loop is closed: no write waits on it
            yield False
            return
        try:
            if holding.wait(timeout=1):
                with self._writer_lock:  # and no write from another thread either
                    yield True
            else:
                yield False
        finally:
            try:
                loop.call_soon_threadsafe(release)  # after `hold` on the loop, whenever that runs
            except RuntimeError:  # the loop closed meanwhile: nothing can be waiting on it
                self._writes_held = None

    def _notify_callbacks(self) -> None:
        """Called after a commit that wrote callbacks; the dispatch mixin wakes this process's dispatcher."""

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run `fn` outside any transaction on the reader connection, in its thread.

        An in-memory database has no second connection to read it by, so its reads share the writer's.
        """
        if self.path == MEMORY:
            with self._writer_lock:
                return fn(self._writer_connection())
        return await asyncio.get_running_loop().run_in_executor(self._reads, self._read_now, fn)

    def _read_now(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._reader is None:
            with self._writer_lock:  # the writer creates the file and sets WAL mode first
                self._writer_connection()
            self._reader = self._connect(_READER_PRAGMAS)
        return fn(self._reader)

    async def migrate(self) -> list[str]:
        def run(conn: sqlite3.Connection) -> list[str]:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at real NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
            applied = []
            for name, sql in migrations.load(BACKEND):
                if name in done:
                    continue
                prelude = migrations.PRELUDES.get(name)
                if prelude is not None:
                    pairs = prelude.compute(conn.execute(prelude.query).fetchall())
                    conn.execute(migrations.CREATE_MAP)
                    conn.executemany(FILL_MAP, pairs)
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(RECORD_MIGRATION, (name,))
                applied.append(name)
            return applied

        # An index built over a whole table sorts in temporary files, not in memory (outside a transaction:
        # SQLite changes where temporary storage goes only there).
        self._set_writer(TEMP_IN_FILES)
        try:
            return await self._tx(run)
        finally:
            self._set_writer(TEMP_IN_MEMORY)

    def _set_writer(self, pragma: str) -> None:
        with self._writer_lock:
            self._writer_connection().execute(pragma)

    async def schema_state(self) -> migrations.SchemaState:
        def run(conn: sqlite3.Connection) -> list[str]:
            if conn.execute(HAS_MIGRATIONS_TABLE).fetchone() is None:
                return []
            return [row[0] for row in conn.execute("SELECT name FROM schema_migrations")]

        return migrations.state(BACKEND, await self._read(run))

    async def ping(self) -> None:
        await self._read(lambda conn: conn.execute("SELECT 1").fetchone())

    async def close(self) -> None:
        if self._closed:
            return  # closing twice is harmless (a command closes on its error path and again on leaving)
        self._closed = True

        def close_reader() -> None:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

        await asyncio.get_running_loop().run_in_executor(self._reads, close_reader)
        self._reads.shutdown(wait=True)
        if self._checkpointer is not None:
            # Off the loop: the checkpointer may be waiting for the loop to hold writes back.
            await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.close)
            self._checkpointer = None
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (migrations hold no semicolons inside literals); a trigger's
    `BEGIN … END` stays one statement (`sqlite3.complete_statement` says where it ends)."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    found: list[str] = []
    part = ""
    for piece in "\n".join(lines).split(";"):
        part += piece + ";"
        if sqlite3.complete_statement(part):
            if part.strip(" \n;"):
                found.append(part.strip().removesuffix(";").strip())
            part = ""
    if part.strip(" \n;"):
        found.append(part.strip().removesuffix(";").strip())
    return found
