"""The audit log: every admin action, from the API or the CLI, with who took it; secrets never written."""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from dlrhub import store
from dlrhub.core import control, ids, models
from dlrhub.services import hub as hub_

#: A detail whose name matches is a credential: its value is replaced by REDACTED, whatever it holds.
SECRET_NAME = re.compile(r"secret|token|password|passwd|credential|api_?key|access_?key|refresh|whsec", re.I)
#: Names that match SECRET_NAME but only identify a credential.
SAFE_NAME = re.compile(r"(_id|_ids|_prefix|_hint|_count|_until|_at)$", re.I)
REDACTED = "[redacted]"
#: The most JSON one entry's details may take; larger details are cut to their keys.
MAX_DETAILS = 4096


def redact(details: Mapping[str, object]) -> models.JSON:
    """`details` with every credential-named value replaced by REDACTED, nested mappings included."""
    out: models.JSON = {}
    for name, value in details.items():
        if SECRET_NAME.search(name) and not SAFE_NAME.search(name):
            out[name] = REDACTED
        elif isinstance(value, Mapping):
            out[name] = redact(value)
        else:
            out[name] = value
    return out


async def record(
    hub: hub_.Hub, actor: str, *, action: str, target: str, details: Mapping[str, object] | None = None
) -> control.AuditEntry:
    """Append that `actor` took `action` (`<noun>.<verb>`) on `target` now; return the entry written.

    Call it once the action has been stored. Credential-named details are redacted (see `redact`), and details
    past MAX_DETAILS bytes of JSON are cut to their keys.
    """
    clean = redact(details or {})
    if len(orjson.dumps(clean, default=str)) > MAX_DETAILS:
        clean = {"truncated": True, "keys": sorted(clean)[:100]}
    now = hub.clock()
    entry = control.AuditEntry(
        id=ids.audit_id(now), at=now, actor=actor[:200], action=action, target=target[:200], details=clean
    )
    db: store.AuditLog = hub.store
    await db.append_audit(entry)
    return entry


async def entries(hub: hub_.Hub, where: store.AuditFilter) -> list[control.AuditEntry]:
    """The entries matching `where`, newest first."""
    db: store.AuditLog = hub.store
    return await db.list_audit(where)
