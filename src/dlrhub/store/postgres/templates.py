"""OAs' ZNS templates on PostgreSQL, with `oas.template_ids` kept in step."""

from __future__ import annotations

from dlrhub.core import errors, templates
from dlrhub.store import rows
from dlrhub.store.postgres import core

#: Locks the OA, so two saves of its templates (a sync and a manual add) take turns.
OA_TEMPLATE_IDS = "SELECT template_ids FROM oas WHERE oa_id = $1 FOR UPDATE"
#: An id the OA held without a stored template becomes a manual template without parameters.
KEEP_HELD_ID = (
    "INSERT INTO templates (oa_id, template_id, status, source) VALUES ($1, $2, 'ENABLE', 'manual')"
    " ON CONFLICT DO NOTHING"
)
PUT_TEMPLATE = (
    f"INSERT INTO templates ({', '.join(rows.TEMPLATE_COLUMNS)})"
    f" VALUES ({', '.join(f'${i}' for i in range(1, len(rows.TEMPLATE_COLUMNS) + 1))})"
    " ON CONFLICT (oa_id, template_id) DO UPDATE SET"
    f" ({', '.join(rows.TEMPLATE_COLUMNS[2:])}) = ROW({', '.join('EXCLUDED.' + c for c in rows.TEMPLATE_COLUMNS[2:])})"
)
#: Sets the OA's sendable ids from its templates and answers them.
SET_TEMPLATE_IDS = (
    "UPDATE oas SET template_ids = coalesce((SELECT jsonb_agg(template_id ORDER BY template_id) FROM templates"
    " WHERE oa_id = $1 AND status = 'ENABLE'), '[]'::jsonb) WHERE oa_id = $1 RETURNING template_ids"
)
LIST_TEMPLATES = "SELECT * FROM templates WHERE oa_id = $1 ORDER BY template_id"
GET_TEMPLATE = "SELECT * FROM templates WHERE oa_id = $1 AND template_id = $2"


class PostgresTemplates(core.PostgresCore):
    """OAs' templates."""

    async def save_templates(self, oa_id: str, found: list[templates.Template]) -> tuple[str, ...]:
        pool = await self.pool()
        async with pool.acquire() as conn, conn.transaction():
            held = await conn.fetchval(OA_TEMPLATE_IDS, oa_id)
            if held is None:
                raise errors.NotFound(f"no OA {oa_id!r}")
            await conn.executemany(KEEP_HELD_ID, [(oa_id, t) for t in held])
            await conn.executemany(PUT_TEMPLATE, [rows.template_row(t, core.BACKEND) for t in found])
            ids = await conn.fetchval(SET_TEMPLATE_IDS, oa_id)
        return tuple(ids)

    async def list_templates(self, oa_id: str) -> list[templates.Template]:
        pool = await self.pool()
        return [rows.template_from_row(r) for r in await pool.fetch(LIST_TEMPLATES, oa_id)]

    async def get_template(self, oa_id: str, template_id: str) -> templates.Template | None:
        pool = await self.pool()
        row = await pool.fetchrow(GET_TEMPLATE, oa_id, template_id)
        return None if row is None else rows.template_from_row(row)
