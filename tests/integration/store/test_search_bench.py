"""bench/search.py runs end to end, tiny, on both backends (its figures come from the full run: docs/benchmarks.md)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests import pg

ROOT = Path(__file__).resolve().parents[3]


def test_the_search_benchmark_runs_tiny_on_both_backends() -> None:
    pg.require()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "search.py"), "--rows", "2000", "--rounds", "4", "--explain"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for backend in ("SQLite", "PostgreSQL"):
        assert f"{backend}: worst store p99" in done.stdout, done.stdout
    assert "phone" in done.stdout and "page 41" in done.stdout
    # SQLite keeps no statistics, so its plans are the same at any size: none reads the whole table.
    assert not re.search(r"SCAN messages( \||$)", done.stdout, re.MULTILINE), done.stdout
