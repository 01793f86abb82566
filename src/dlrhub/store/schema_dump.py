"""A readable snapshot of the schema the migrations produce, used to review and test schema changes."""

from __future__ import annotations

import sqlite3

from dlrhub.store import sqlite as sqlite_store


async def sqlite_columns(path: str) -> dict[str, list[str]]:
    """`table -> ["column type", ...]` of a freshly migrated SQLite database at `path`."""
    store = sqlite_store.SqliteStore(path)
    try:
        await store.migrate()

        def read(conn: sqlite3.Connection) -> dict[str, list[str]]:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            return {
                t: [f"{r[1]} {r[2].lower()}" for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables
            }

        return await store._read(read)
    finally:
        await store.close()


async def snapshot(path: str) -> str:
    """The snapshot text: one `table.column type` line per column, tables in name order."""
    lines = [f"{table}.{col}" for table, cols in (await sqlite_columns(path)).items() for col in cols]
    return "\n".join(lines) + "\n"
