"""Background WAL checkpoints for the SQLite store, so a write never stalls on one and the WAL stays bounded."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable

#: Seconds between checkpoints.
INTERVAL_S = 0.05
#: WAL size past which the checkpointer holds writes back for one pass, so that the WAL can start over.
WAL_LIMIT_BYTES = 64 * 1024 * 1024

#: Holds new write transactions back while its body runs; yields False when it could not.
HoldWrites = Callable[[], contextlib.AbstractContextManager[bool]]


class Checkpointer:
    """A thread with its own connection that copies the WAL back into the database file every INTERVAL_S.

    With SQLite's automatic checkpoint, about one commit in 25 paid for a checkpoint (18 ms instead of 0.2 ms)
    and every send queued behind it waited too (bench/ingest.py). A PASSIVE checkpoint from another connection
    runs beside the writer instead; durability is unchanged (commits are in the WAL either way).

    SQLite starts the WAL over only when a write begins with every frame already copied back, which never
    happens while writes keep arriving: under a steady load the WAL grew by about 60 MB a second. So once it
    passes `wal_limit_bytes`, a pass runs under `hold_writes`: the writes of that moment wait (on the event
    loop, which stays free) while the pass copies the few frames since the last one, and the next write then
    starts the WAL over (`journal_size_limit` trims the file back).
    """

    def __init__(
        self,
        path: str,
        hold_writes: HoldWrites,
        interval_s: float = INTERVAL_S,
        wal_limit_bytes: int | None = None,
    ) -> None:
        self._path = path
        self._hold_writes = hold_writes
        self._interval_s = interval_s
        self._wal_limit_bytes = WAL_LIMIT_BYTES if wal_limit_bytes is None else wal_limit_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dlrhub-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            page_bytes: int = conn.execute("PRAGMA page_size").fetchone()[0]
            previous = 0
            while not self._stop.wait(self._interval_s):
                # `frames` is the WAL as this pass found it (writes made meanwhile are past it). When it has not
                # grown since the last pass, nothing was written: the next write starts the WAL over by itself.
                frames = self._pass(conn)
                grew, previous = frames != previous, frames
                if frames * page_bytes > self._wal_limit_bytes and grew and not self._stop.is_set():
                    with self._hold_writes() as held:
                        if held:
                            previous = self._pass(conn)
        finally:
            conn.close()

    @staticmethod
    def _pass(conn: sqlite3.Connection) -> int:
        """One PASSIVE checkpoint; returns the frames in the WAL (0 when the database was busy)."""
        try:
            _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError:  # busy or locked: the next round catches up
            return 0
        return int(frames)

    def close(self) -> None:
        """Stop the thread and close its connection (blocks until it has)."""
        self._stop.set()
        self._thread.join()
