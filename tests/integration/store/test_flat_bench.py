"""bench/flat.py runs end to end, tiny, on both backends (its figures come from the full run: docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg

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


def test_the_postgres_history_goes_into_the_partitions_of_its_days(tmp_path: Path) -> None:
    """The full store's events and attempts are spread over their days' partitions (migrations 0025, 0029), not
    all in the `_legacy` partition a new store's migrations make for every time up to their day."""
    pg.require()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    prefix = f"flat_p{os.getpid()}_"
    bench = [
        sys.executable,
        str(ROOT / "bench" / "flat.py"),
        "--backends",
        "postgres",
        "--data",
        str(tmp_path),
    ]
    bench += ["--prefix", prefix]
    try:
        done = subprocess.run(
            [*bench, "--phase", "prepare", "--rows", "3000", "--working-set", "200"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]

        async def layout() -> dict[str, Any]:
            conn = await asyncpg.connect(pg.admin_dsn(f"{prefix}full"))
            try:
                found: dict[str, Any] = {}
                for table in ("events", "attempts"):
                    found[f"{table}_legacy"] = await conn.fetchval(
                        "SELECT to_regclass($1)", f"{table}_legacy"
                    )
                    found[table] = await conn.fetch(
                        f"SELECT tableoid::regclass::text AS part, count(*) AS n FROM {table} GROUP BY 1"
                    )
                return found
            finally:
                await conn.close()

        found = asyncio.run(layout())
        for table in ("events", "attempts"):
            assert found[f"{table}_legacy"] is None
            parts = {r["part"]: r["n"] for r in found[table]}
            assert all(re.fullmatch(rf"{table}_p\d{{8}}", p) for p in parts), parts
            assert len(parts) >= 95, parts  # the history's 100 days (and the working set's)
    finally:
        subprocess.run([*bench, "--phase", "clean"], env=env, capture_output=True, timeout=120, check=False)
