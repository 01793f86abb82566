"""The audit log on PostgreSQL."""

from __future__ import annotations

from dlrhub.core import control
from dlrhub.store import control as store_control
from dlrhub.store import rows
from dlrhub.store.postgres import core

LIST = (
    "SELECT * FROM audit_log WHERE ($1::text IS NULL OR actor = $1) AND ($2::text IS NULL OR action = $2)"
    " AND ($3::text IS NULL OR target = $3) AND ($4::timestamptz IS NULL OR at >= $4)"
    " AND ($5::timestamptz IS NULL OR at < $5) AND ($6::text IS NULL OR id < $6) ORDER BY id DESC LIMIT $7"
)


class PostgresAudit(core.PostgresCore):
    """The admin actions taken."""

    async def append_audit(self, entry: control.AuditEntry) -> None:
        pool = await self.pool()
        await pool.execute(*core.insert_sql("audit_log", rows.to_row(entry, core.BACKEND)))

    async def list_audit(self, where: store_control.AuditFilter) -> list[control.AuditEntry]:
        pool = await self.pool()
        found = await pool.fetch(
            LIST,
            where.actor,
            where.action,
            where.target,
            where.since,
            where.until,
            where.before_id,
            max(0, min(where.limit, 1000)),
        )
        return [rows.from_row(control.AuditEntry, r) for r in found]
