"""Applying every numbered migration to an empty database gives the current schema, on both backends."""

from __future__ import annotations

import dataclasses

import asyncpg

from dlrhub.core import models
from dlrhub.store import migrations, schema_dump
from tests import pg

SNAPSHOT = "src/dlrhub/store/schema.txt"

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
}


def test_migrations_are_numbered_in_step() -> None:
    sqlite_names = [n for n, _ in migrations.load("sqlite")]
    assert sqlite_names == [n for n, _ in migrations.load("postgres")]
    assert [n[:4] for n in sqlite_names] == [f"{i:04d}" for i in range(1, len(sqlite_names) + 1)]


async def test_sqlite_migrations_give_the_snapshot(tmp_path) -> None:
    snapshot = await schema_dump.snapshot(str(tmp_path / "s.sqlite3"))
    with open(SNAPSHOT, encoding="utf-8") as f:
        assert snapshot == f.read(), "schema changed: run `make schema` and review the diff"


async def test_every_model_field_has_a_column(tmp_path) -> None:
    columns = await schema_dump.sqlite_columns(str(tmp_path / "s.sqlite3"))
    for model, table in TABLES.items():
        names = {c.split()[0] for c in columns[table]}
        fields = {f.name for f in dataclasses.fields(model) if f.name != "request"}
        assert fields <= names, f"{table} lacks {fields - names}"


async def test_postgres_migrations_match_sqlite(pg_url: str, tmp_path) -> None:
    sqlite_cols = await schema_dump.sqlite_columns(str(tmp_path / "s.sqlite3"))
    conn = await asyncpg.connect(pg_url)
    try:
        found = await conn.fetch(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
        )
    finally:
        await conn.close()
    pg_cols: dict[str, set[str]] = {}
    for r in found:
        pg_cols.setdefault(r["table_name"], set()).add(r["column_name"])
    assert set(pg_cols) == set(sqlite_cols)
    for table, cols in sqlite_cols.items():
        assert pg_cols[table] == {c.split()[0] for c in cols}, table
    assert pg.admin_dsn() in pg.admin_dsn()  # the PG* variables drive the connection
