"""Background WAL checkpoints for the SQLite store, so a write never stalls on one and the WAL stays bounded."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Callable

#: Seconds between checkpoints. A page written again before the next pass is copied back once: at 0.25 s the
#: thread took 2-3 µs of CPU a dispatched callback, at 0.05 s 7 µs (docs/benchmarks.md "dispatch").
INTERVAL_S = 0.25
#: WAL size past which the checkpointer holds writes back for one pass, so that the WAL can start over.
WAL_LIMIT_BYTES = 64 * 1024 * 1024

#: The most passes the checkpointer lets go by without holding writes when holding did not let the WAL start over.
MAX_BACKOFF_PASSES = 64

log = logging.getLogger(__name__)

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
    starts the WAL over (`journal_size_limit` trims the file back). Should the thread fail, `fallback` is called
    (the store turns SQLite's automatic checkpoints back on), so the WAL never grows unchecked.
    """

    def __init__(
        self,
        path: str,
        hold_writes: HoldWrites,
        fallback: Callable[[], None],
        interval_s: float | None = None,
        wal_limit_bytes: int | None = None,
    ) -> None:
        self._path = path
        self._hold_writes = hold_writes
        self._interval_s = INTERVAL_S if interval_s is None else interval_s
        self._wal_limit_bytes = WAL_LIMIT_BYTES if wal_limit_bytes is None else wal_limit_bytes
        self._fallback = fallback
        self._warned = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="dlrhub-sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            page_bytes: int = conn.execute("PRAGMA page_size").fetchone()[0]
            limit_frames = self._wal_limit_bytes // page_bytes
            previous, held_at, skip, backoff = 0, 0, 0, 0
            while not self._stop.wait(self._interval_s):
                frames = self._pass(conn)
                if frames is None:
                    continue
                if held_at:
                    # Did the WAL start over after the last hold? A reader elsewhere (a backup, say) can stop it;
                    # then hold less and less often rather than at every pass.
                    backoff = 0 if frames < held_at else min(2 * backoff or 1, MAX_BACKOFF_PASSES)
                    skip, held_at = backoff, 0
                # `frames` is the WAL as this pass found it (writes made meanwhile are past it). When it has not
                # grown since the last pass, nothing was written: the next write starts the WAL over by itself.
                grew, previous = frames != previous, frames
                if frames <= limit_frames or not grew or self._stop.is_set():
                    continue
                if skip:
                    skip -= 1
                    continue
                with self._hold_writes() as held:
                    if held:
                        previous = held_at = self._pass(conn) or frames
        except sqlite3.Error:
            log.exception("the SQLite checkpointer stopped; SQLite's own checkpoints take over")
            self._fallback()
        finally:
            conn.close()

    def _pass(self, conn: sqlite3.Connection) -> int | None:
        """One PASSIVE checkpoint; returns the frames in the WAL, or None when the database was busy."""
        try:
            _busy, frames, _copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.OperationalError as exc:  # busy or locked: the next round catches up
            if not self._warned:
                log.warning("SQLite checkpoint skipped: %s", exc)
                self._warned = True
            return None
        self._warned = False
        return int(frames)

    def close(self) -> None:
        """Stop the thread and close its connection (blocks until it has)."""
        self._stop.set()
        self._thread.join()
