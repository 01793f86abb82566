"""OAs' ZNS templates on SQLite, with `oas.template_ids` kept in step."""

from __future__ import annotations

import sqlite3

import orjson

from dlrhub.core import errors, templates
from dlrhub.store import rows
from dlrhub.store.sqlite import core

OA_TEMPLATE_IDS = "SELECT template_ids FROM oas WHERE oa_id = ?"
#: An id the OA held without a stored template becomes a manual template without parameters.
KEEP_HELD_ID = (
    "INSERT OR IGNORE INTO templates (oa_id, template_id, status, source) VALUES (?, ?, 'ENABLE', 'manual')"
)
PUT_TEMPLATE = (
    f"INSERT OR REPLACE INTO templates ({', '.join(rows.TEMPLATE_COLUMNS)})"
    f" VALUES ({', '.join('?' for _ in rows.TEMPLATE_COLUMNS)})"
)
ENABLED_IDS = "SELECT template_id FROM templates WHERE oa_id = ? AND status = 'ENABLE' ORDER BY template_id"
SET_TEMPLATE_IDS = "UPDATE oas SET template_ids = ? WHERE oa_id = ?"
LIST_TEMPLATES = "SELECT * FROM templates WHERE oa_id = ? ORDER BY template_id"
GET_TEMPLATE = "SELECT * FROM templates WHERE oa_id = ? AND template_id = ?"


class SqliteTemplates(core.SqliteCore):
    """OAs' templates."""

    async def save_templates(self, oa_id: str, found: list[templates.Template]) -> tuple[str, ...]:
        def run(conn: sqlite3.Connection) -> tuple[str, ...]:
            held = conn.execute(OA_TEMPLATE_IDS, (oa_id,)).fetchone()
            if held is None:
                raise errors.NotFound(f"no OA {oa_id!r}")
            conn.executemany(KEEP_HELD_ID, [(oa_id, t) for t in orjson.loads(held[0])])
            conn.executemany(PUT_TEMPLATE, [rows.template_row(t, core.BACKEND) for t in found])
            ids = tuple(r[0] for r in conn.execute(ENABLED_IDS, (oa_id,)))
            conn.execute(SET_TEMPLATE_IDS, (orjson.dumps(ids).decode(), oa_id))
            return ids

        return await self._tx(run)

    async def list_templates(self, oa_id: str) -> list[templates.Template]:
        found = await self._read(lambda c: c.execute(LIST_TEMPLATES, (oa_id,)).fetchall())
        return [rows.template_from_row(r) for r in found]

    async def get_template(self, oa_id: str, template_id: str) -> templates.Template | None:
        row = await self._read(lambda c: c.execute(GET_TEMPLATE, (oa_id, template_id)).fetchone())
        return None if row is None else rows.template_from_row(row)
