"""bench/flat.py runs end to end, tiny, on both backends (its figures come from the full run: docs/benchmarks.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests import pg

ROOT = Path(__file__).resolve().parents[3]


def test_the_flatness_benchmark_runs_tiny_on_both_backends() -> None:
    pg.require()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    tiny = ["--rows", "3000", "--working-set", "500", "--rounds", "1", "--ingest-seconds", "0.3"]
    tiny += [
        "--callbacks",
        "200",
        "--pulls",
        "10",
        "--size-seconds",
        "8",
        "--window",
        "2",
        "--prune-every",
        "1",
    ]
    tiny += ["--sample-s", "1", "--vacuum-every", "2", "--prefix", f"flat_t{os.getpid()}_"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "flat.py"), *tiny],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for backend in ("SQLite", "PostgreSQL"):
        assert f"{backend}: full store " in done.stdout, done.stdout
        # The pruner worked on the full store while it was measured: the history is mostly past retention.
        deleted = re.search(
            rf"{backend}: the pruner ran beside each store; on the full one it deleted ([\d,]+)", done.stdout
        )
        assert deleted and int(deleted.group(1).replace(",", "")) > 0, done.stdout
        assert f"{backend} size: first half grew" in done.stdout, done.stdout
    for metric in ("ingest", "dispatch", "pull, bare query", "pull GetCallback"):
        assert len(re.findall(rf"^  {re.escape(metric)} \(", done.stdout, re.MULTILINE)) == 2, done.stdout
