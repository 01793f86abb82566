"""Configuration errors end a command with one line and exit status 2, as `docs/reference/cli.md` promises:
run through the real `dlrhub` entry point in a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

import dlrhub as package
from tests import pg
from tests.unit import test_tracing

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
        (
            ("migrate",),
            {"DLRHUB_DATABASE_URL": "mysql://db/dlrhub"},
            "DLRHUB_DATABASE_URL): bad value 'mysql:…'",
        ),
        (("serve",), {"DLRHUB_LOG_LEVEL": "loud"}, "log_level"),
        (("api",), {"DLRHUB_PORT": "70000"}, "setting port (DLRHUB_PORT): bad value 70000 (0 to 65535)"),
        (
            ("worker",),
            {"DLRHUB_DISPATCH_CONCURRENCY": "0"},
            "DLRHUB_DISPATCH_CONCURRENCY): bad value 0 (1 or more)",
        ),
        (("serve",), {"DLRHUB_CALLBACK_TIMEOUT_S": "nan"}, "callback_timeout_s"),
        (("serve",), {"DLRHUB_ZALO_MODE": "real"}, "one of auto, simulator, zalo"),
        (("serve",), {"DLRHUB_CALLBACK_ALLOW": "10.0.0.0/8,bad host!"}, "cannot read 'bad host!'"),
        (("migrate",), {"DLRHUB_STANDARD_RETRY_SCHEDULE": "5,-1"}, "standard_retry_schedule"),
        (("migrate",), {"DLRHUB_ZALO_API_URL": "business.openapi.zalo.me"}, "http:// or https://"),
        (("accounts", "list"), {"DLRHUB_CONFIG": "missing.toml"}, "cannot read config file missing.toml"),
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


def test_a_bad_value_in_the_config_file_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "dlrhub.toml").write_text(
        'dispatch_lease_s = -5\nzalo_concurrency = "many"\n', encoding="utf-8"
    )
    done = dlrhub(tmp_path, "migrate", DLRHUB_CONFIG="dlrhub.toml")
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    # A value of the wrong type is found before a value out of range: still one line, naming the setting.
    assert (
        output == "configuration error: setting zalo_concurrency (DLRHUB_ZALO_CONCURRENCY): bad value 'many'"
    )
    (tmp_path / "dlrhub.toml").write_text("dispatch_lease_s = -5\n", encoding="utf-8")
    done = dlrhub(tmp_path, "migrate", DLRHUB_CONFIG="dlrhub.toml")
    assert (done.returncode, done.stdout.strip()) == (
        2,
        "configuration error: setting dispatch_lease_s (DLRHUB_DISPATCH_LEASE_S): bad value -5.0 (a finite number, 0 or more)",
    )


def test_an_unknown_variable_is_warned_about_on_stderr_and_the_command_runs(tmp_path: Path) -> None:
    done = dlrhub(tmp_path, "migrate", DLRHUB_PROT="9000", DLRHUB_SHINY="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "warning: unknown environment variable DLRHUB_PROT is ignored (did you mean DLRHUB_PORT?)",
        "warning: unknown environment variable DLRHUB_SHINY is ignored",
    ]
    assert "warning" not in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("accounts", "list"),
        ("accounts", "create", "--name", "x"),
        ("api",),
        ("worker",),
        ("replay", "show", "m-1"),
    ],
)
def test_in_an_empty_directory_a_command_creates_no_store(tmp_path: Path, args: tuple[str, ...]) -> None:
    # The default URL is a file in the working directory: a command that needs a store must not leave an empty
    # one behind wherever it happens to run.
    done = dlrhub(tmp_path, *args, DLRHUB_DATABASE_URL="sqlite:///dlrhub.sqlite3")
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert output == (
        "configuration error: no SQLite database at dlrhub.sqlite3: run `dlrhub migrate` to create it, or point"
        " DLRHUB_DATABASE_URL at the existing one"
    ), output
    assert list(tmp_path.iterdir()) == []
    made = dlrhub(tmp_path, "migrate", DLRHUB_DATABASE_URL="sqlite:///dlrhub.sqlite3")
    assert made.returncode == 0, made.stdout + made.stderr
    assert (tmp_path / "dlrhub.sqlite3").is_file()


def _migrations_applied(path: Path, names: list[str]) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at real NOT NULL)")
        conn.executemany("INSERT INTO schema_migrations VALUES (?, 0)", [(n,) for n in names])
        conn.commit()


@pytest.mark.parametrize("command", ["api", "worker", "accounts"])
@pytest.mark.parametrize(
    ("state", "says"),
    [
        ("empty", "the database schema is not migrated"),
        ("partly", "the database schema is not migrated"),
        ("newer", "the database schema is newer than this dlrhub (unknown migrations: 9999_from_the_future)"),
    ],
)
def test_api_worker_and_one_shot_commands_refuse_a_schema_that_is_not_the_codes(
    tmp_path: Path, command: str, state: str, says: str
) -> None:
    path = tmp_path / "db.sqlite3"
    if state == "empty":
        sqlite3.connect(path).close()
    elif state == "partly":
        _migrations_applied(path, ["0001_initial"])
    else:
        assert dlrhub(tmp_path, "migrate").returncode == 0
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute("INSERT INTO schema_migrations VALUES ('9999_from_the_future', 0)")
            conn.commit()
    args = ("accounts", "list") if command == "accounts" else (command,)
    done = dlrhub(tmp_path, *args)
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert len(output.splitlines()) == 1, output
    assert output.startswith(f"configuration error: {says}"), output
    if state != "newer":
        assert output.endswith("run `dlrhub migrate`"), output


@pytest.mark.postgres
def test_api_refuses_an_unmigrated_postgres_database(tmp_path: Path, pg_template) -> None:
    name = asyncio.run(pg.create_empty())
    try:
        done = dlrhub(tmp_path, "api", DLRHUB_DATABASE_URL=pg.admin_dsn(name))
    finally:
        asyncio.run(pg.Template.drop(name))
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert output.startswith("configuration error: the database schema is not migrated"), output


async def _role_without_create(database: str) -> str:
    """A login role that may connect to `database` but not create in its schema (PostgreSQL 15's default for a
    role that does not own the database); returns its name."""
    role = f"{database}_r"
    conn = await asyncpg.connect(pg.admin_dsn())
    try:
        await conn.execute(f'CREATE ROLE "{role}" LOGIN')
    finally:
        await conn.close()
    conn = await asyncpg.connect(pg.admin_dsn(database))
    try:
        await conn.execute(f'REVOKE CREATE ON SCHEMA public FROM PUBLIC, "{role}"')
    finally:
        await conn.close()
    return role


@pytest.mark.postgres
def test_migrate_as_a_role_that_may_not_create_tables_says_what_to_grant(tmp_path: Path, pg_template) -> None:
    name = asyncio.run(pg.create_empty())
    role = asyncio.run(_role_without_create(name))
    url = f"postgresql://{role}@{pg.admin_dsn(name).split('@', 1)[1]}"
    try:
        done = dlrhub(tmp_path, "migrate", DLRHUB_DATABASE_URL=url)
    finally:
        asyncio.run(pg.Template.drop(name))
        asyncio.run(_drop_role(role))
    output = (done.stdout + done.stderr).strip()
    assert done.returncode == 2, output
    assert len(output.splitlines()) == 1, output
    assert output.startswith("configuration error: cannot migrate: permission denied for schema public"), (
        output
    )
    assert f"ALTER DATABASE {name} OWNER TO {role}" in output


async def _drop_role(role: str) -> None:
    conn = await asyncpg.connect(pg.admin_dsn())
    try:
        await conn.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await conn.close()


def test_tracing_on_without_opentelemetry_is_one_line_and_exit_2(tmp_path):
    blocked = test_tracing.without_opentelemetry(tmp_path / "blocked")
    src = str(Path(package.__file__).parent.parent)
    done = dlrhub(tmp_path, "api", DLRHUB_TRACING="console", PYTHONPATH=f"{blocked}{os.pathsep}{src}")
    assert done.returncode == 2, done.stderr
    assert "setting tracing (DLRHUB_TRACING): 'console' needs opentelemetry.sdk" in done.stdout + done.stderr
