"""Background WAL checkpoints for the SQLite store, so a write never stalls on one and the WAL stays bounded."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable

#: Seconds between the thread's rounds: each syncs the WAL to disk (what was committed meanwhile survives an OS
#: crash from then on) and checks its size; a checkpoint (the WAL's pages copied back) runs every COPY_EVERY_S.
INTERVAL_S = 0.25
#: Seconds between checkpoints while the WAL is below its limit. A page written again before the next pass is
#: copied back once, and a busy dispatcher re-dirties the same index pages in every transaction, so each pass
#: copied nearly the same pages: 1 s instead of 0.25 s cut the thread's CPU in a bench/fleet.py run from 0.27 to
#: 0.15 s, syncs included (docs/benchmarks.md "fleet"; 0.05 s to 0.25 s had cut it from 7 to 2-3 µs a callback).
COPY_EVERY_S = 1.0
#: WAL size past which the checkpointer holds writes back for one pass, so that the WAL can start over.
WAL_LIMIT_BYTES = 64 * 1024 * 1024

#: The most passes the checkpointer lets go by without holding writes when holding did not let the WAL start over.
MAX_BACKOFF_PASSES = 64

log = logging.getLogger(__name__)

#: Holds new write transactions back while its body runs; yields False when it could not.
HoldWrites = Callable[[], contextlib.AbstractContextManager[bool]]


class Checkpointer:
    """A thread with its own connection that copies the WAL back into the database file every COPY_EVERY_S,
    and syncs the WAL every INTERVAL_S in between (as often as the copies themselves once did).

    With SQLite's automatic checkpoint, about one commit in 25 paid for a checkpoint (18 ms instead of 0.2 ms)
    and every send queued behind it waited too (bench/ingest.py). A PASSIVE checkpoint from another connection
    runs beside the writer instead; durability is unchanged (commits are in the WAL either way).

    SQLite starts the WAL over only when a write begins with every frame already copied back, which never
    happens while writes keep arriving: under a steady load the WAL grew by about 60 MB a second. So once it
    passes `wal_limit_bytes` (the file's size, checked every INTERVAL_S, tells: it only grows past the limit
    when the WAL does, as `journal_size_limit` trims it back to the limit), a pass runs under `hold_writes`: the
    writes of that moment wait (on the event loop, which stays free) while the pass copies the few frames since
    the last one, and the next write then starts the WAL over (`journal_size_limit` trims the file back). Should
    the thread fail, `fallback` is called (the store turns SQLite's automatic checkpoints back on), so the WAL
    never grows unchecked.
    """

    def __init__(
        self,
        path: str,
        hold_writes: HoldWrites,
        fallback: Callable[[], None],
        interval_s: float | None = None,
        wal_limit_bytes: int | None = None,
        copy_every_s: float | None = None,
    ) -> None:
        self._path = path
        self._wal_path = path + "-wal"
        self._hold_writes = hold_writes
        self._interval_s = INTERVAL_S if interval_s is None else interval_s
        self._copy_every_s = COPY_EVERY_S if copy_every_s is None else copy_every_s
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
            copied_at = time.monotonic()
            while not self._stop.wait(self._interval_s):
                now = time.monotonic()
                if now - copied_at < self._copy_every_s and self._wal_bytes() <= self._wal_limit_bytes:
                    self._sync_wal()
                    continue
                copied_at = now
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
        except (sqlite3.Error, OSError):
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

    def _wal_bytes(self) -> int:
        """The WAL file's size: at least the WAL's own (0 when there is no file)."""
        try:
            return os.stat(self._wal_path).st_size
        except FileNotFoundError:
            return 0

    def _sync_wal(self) -> None:
        """fsync the WAL file, as a checkpoint does before it copies: the commits in it survive an OS crash."""
        try:
            fd = os.open(self._wal_path, os.O_RDONLY)
        except FileNotFoundError:  # nothing written yet, or the last connection closed (and checkpointed)
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Stop the thread and close its connection (blocks until it has)."""
        self._stop.set()
        self._thread.join()
