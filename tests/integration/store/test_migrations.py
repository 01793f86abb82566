"""Applying every numbered migration to an empty database gives the checked-in schema snapshot, on both backends."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import asyncpg
from scripts import schema

from dlrhub.core import control, models
from dlrhub.store import migrations

SNAPSHOT = Path(__file__).parents[3] / "src" / "dlrhub" / "store" / "schema.txt"

#: Model -> table; every model field must be a column (a Callback's request spreads into four columns).
TABLES = {
    models.Account: "accounts",
    models.App: "apps",
    models.OA: "oas",
    models.Message: "messages",
    models.Journey: "journeys",
    models.StatusEvent: "events",
    models.Callback: "callbacks",
    models.Attempt: "attempts",
    models.Endpoint: "endpoints",
    control.RetiredKey: "retired_keys",
    control.Token: "tokens",
    control.LedgerEntry: "ledger",
}


def test_migrations_are_numbered_in_step() -> None:
    sqlite_names = [n for n, _ in migrations.load("sqlite")]
    assert sqlite_names == [n for n, _ in migrations.load("postgres")]
    assert [n[:4] for n in sqlite_names] == [f"{i:04d}" for i in range(1, len(sqlite_names) + 1)]


async def test_sqlite_migrations_give_the_snapshot(tmp_path) -> None:
    path = str(tmp_path / "s.sqlite3")
    await schema.migrated(path)
    found = schema.snapshot(path).splitlines()
    expected = SNAPSHOT.read_text(encoding="utf-8").splitlines()
    # Compared as lists, so pytest shows the lines a migration added, dropped or changed.
    assert found == expected, "schema changed: run `make schema` and review the diff"


async def test_every_model_field_has_a_column(tmp_path) -> None:
    path = str(tmp_path / "s.sqlite3")
    await schema.migrated(path)
    columns = schema.columns(path)
    for model, table in TABLES.items():
        names = {c.split()[0] for c in columns[table]}
        fields = {f.name for f in dataclasses.fields(model) if f.name != "request"}
        assert fields <= names, f"{table} lacks {fields - names}"


async def test_postgres_migrations_match_sqlite(pg_url: str, tmp_path) -> None:
    """The PostgreSQL migrations (applied to an empty template database) make the same tables, columns and indexes."""
    path = str(tmp_path / "s.sqlite3")
    await schema.migrated(path)
    sqlite_cols = {table: {c.split()[0] for c in cols} for table, cols in schema.columns(path).items()}
    created = [line.split() for line in schema.snapshot(path).splitlines() if line.startswith("CREATE ")]
    sqlite_indexes = {w[3] if w[1] == "UNIQUE" else w[2] for w in created if w[1] != "TRIGGER"}
    sqlite_triggers = {w[2] for w in created if w[1] == "TRIGGER"}
    conn = await asyncpg.connect(pg_url)
    try:
        # A partitioned table's partitions (and their indexes) are PostgreSQL's own: the parent is compared.
        partitions = "(SELECT relname FROM pg_class WHERE relispartition)"
        found = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            f" AND table_name NOT IN {partitions}"
        )
        indexes = await conn.fetch(
            # Indexes that back a primary key or UNIQUE constraint are compared as columns, not by name.
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
            f" AND indexname NOT IN (SELECT conname FROM pg_constraint) AND tablename NOT IN {partitions}"
        )
        triggers = await conn.fetch("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
    finally:
        await conn.close()
    pg_cols: dict[str, set[str]] = {}
    for r in found:
        pg_cols.setdefault(r["table_name"], set()).add(r["column_name"])
    assert pg_cols == sqlite_cols
    assert {r["indexname"] for r in indexes} == sqlite_indexes
    assert {r["tgname"] for r in triggers} == sqlite_triggers
