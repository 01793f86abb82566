"""Configuration errors end a command with one line and exit status 2, as `docs/reference/cli.md` promises:
run through the real `dlrhub` entry point in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import dlrhub as package

ENTRY = "import sys; from dlrhub.cli import main; sys.argv[0] = 'dlrhub'; main()"
#: Nothing listens on port 1: asyncpg's connect is refused at once.
NOWHERE = "postgresql://postgres@127.0.0.1:1/dlrhub"


def dlrhub(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DLRHUB_")}
    # The package under test, wherever the test run found it (the subprocess runs in another directory).
    environ["PYTHONPATH"] = str(Path(package.__file__).parent.parent)
    environ.update({"DLRHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DLRHUB_PORT": "0", **env})
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *args],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("migrate",), {"DLRHUB_DATABASE_URL": "mysql://db/dlrhub"}, "unsupported scheme 'mysql'"),
        (("serve",), {"DLRHUB_LOG_LEVEL": "loud"}, "log_level"),
        (("migrate",), {"DLRHUB_DATABASE_URL": NOWHERE}, "cannot reach the database: ConnectionRefusedError"),
        (("accounts", "list"), {"DLRHUB_DATABASE_URL": NOWHERE}, "cannot reach the database"),
        (("api",), {"DLRHUB_DATABASE_URL": NOWHERE}, "cannot reach the database"),
        (("serve",), {"DLRHUB_DATABASE_URL": NOWHERE}, "cannot reach the database"),
    ],
)
def test_exit_2_with_one_line(tmp_path: Path, args: tuple[str, ...], env: dict[str, str], says: str) -> None:
    done = dlrhub(tmp_path, *args, **env)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert "Traceback" not in output
    assert len(output.splitlines()) == 1, output
    assert output.startswith("configuration error:") and says in output, output
