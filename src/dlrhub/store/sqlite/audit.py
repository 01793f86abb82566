"""The audit log on SQLite."""

from __future__ import annotations

from dlrhub.core import control
from dlrhub.store import control as store_control
from dlrhub.store import rows
from dlrhub.store.sqlite import core

APPEND = (
    "INSERT INTO audit_log (id, at, actor, action, target, details)"
    " VALUES (:id, :at, :actor, :action, :target, :details)"
)
LIST = (
    "SELECT * FROM audit_log WHERE (:actor IS NULL OR actor = :actor) AND (:action IS NULL OR action = :action)"
    " AND (:target IS NULL OR target = :target) AND (:since IS NULL OR at >= :since)"
    " AND (:until IS NULL OR at < :until) AND (:before IS NULL OR id < :before) ORDER BY id DESC LIMIT :limit"
)


class SqliteAudit(core.SqliteCore):
    """The admin actions taken."""

    async def append_audit(self, entry: control.AuditEntry) -> None:
        row = rows.to_row(entry, core.BACKEND)
        await self._tx(lambda conn: conn.execute(APPEND, row))

    async def list_audit(self, where: store_control.AuditFilter) -> list[control.AuditEntry]:
        params = {
            "actor": where.actor,
            "action": where.action,
            "target": where.target,
            "since": None if where.since is None else where.since.timestamp(),
            "until": None if where.until is None else where.until.timestamp(),
            "before": where.before_id,
            "limit": max(0, min(where.limit, 1000)),
        }
        found = await self._read(lambda conn: conn.execute(LIST, params).fetchall())
        return [rows.from_row(control.AuditEntry, r) for r in found]
