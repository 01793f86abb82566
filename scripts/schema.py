"""The schema snapshot: what the SQLite migrations produce (columns, keys, indexes), as reviewable text lines.

python scripts/schema.py > src/dlrhub/store/schema.txt     # regenerate (make schema)

`tests/integration/store/test_migrations.py` migrates an empty database and compares it with the checked-in file.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import sqlite3
import sys
import tempfile

from dlrhub import store

_TABLES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
_SPACES = re.compile(r"\s+")
_NAMED = (
    "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger', 'view') AND sql IS NOT NULL"
)


async def migrated(path: str) -> None:
    """Apply every migration to a new SQLite database at `path`."""
    s = store.from_url(f"sqlite:///{path}")
    try:
        await s.migrate()
    finally:
        await s.close()


def _column(row: tuple[object, ...]) -> str:
    # PRAGMA table_info: (cid, name, type, notnull, default, pk position)
    _, name, kind, notnull, default, pk = row
    words = [str(name), str(kind).lower()]
    words += ["not null"] if notnull else []
    words += [f"default {default}"] if default is not None else []
    words += [f"pk {pk}"] if pk else []
    return " ".join(words)


def columns(path: str) -> dict[str, list[str]]:
    """`table -> ["column type [not null] [default …] [pk n]", ...]` of the migrated SQLite database at `path`."""
    with contextlib.closing(sqlite3.connect(path)) as conn:  # closed, not only committed (3.13 warns)
        tables = [r[0] for r in conn.execute(_TABLES)]
        return {t: [_column(r) for r in conn.execute(f"PRAGMA table_info({t})")] for t in tables}


def _constraints(conn: sqlite3.Connection, table: str) -> list[str]:
    """The table's foreign keys, and the UNIQUE constraints SQLite keeps as automatic indexes (origin `u`)."""
    found = []
    # PRAGMA foreign_key_list: (id, seq, table, from, to, on_update, on_delete, match)
    for _, _, other, source, target, on_update, on_delete, _match in conn.execute(
        f"PRAGMA foreign_key_list({table})"
    ):
        found.append(
            f"{table}.{source} references {other}({target}) on update {on_update} on delete {on_delete}".lower()
        )
    for _, name, unique, origin, _partial in conn.execute(f"PRAGMA index_list({table})"):
        if origin == "u":
            cols = ", ".join(r[2] for r in conn.execute(f"PRAGMA index_info({name})"))
            found.append(f"{table} {'unique' if unique else 'index'} ({cols})")
    return sorted(found)


def snapshot(path: str) -> str:
    """The snapshot text of the migrated SQLite database at `path`: one line per column, constraint and index."""
    with contextlib.closing(sqlite3.connect(path)) as conn:  # closed, not only committed (3.13 warns)
        tables = [r[0] for r in conn.execute(_TABLES)]
        lines = [f"{t}.{c}" for t, cols in columns(path).items() for c in cols]
        lines += [line for t in tables for line in _constraints(conn, t)]
        named = sorted(conn.execute(_NAMED))
        lines += [_SPACES.sub(" ", sql).strip() for _, _, sql in named]
    return "\n".join(lines) + "\n"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await migrated(f"{tmp}/schema.sqlite3")
        sys.stdout.write(snapshot(f"{tmp}/schema.sqlite3"))


if __name__ == "__main__":
    asyncio.run(main())
