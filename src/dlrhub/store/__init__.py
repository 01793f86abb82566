"""Storage: one interface (`base.Store`, the union of narrower ones), a SQLite and a PostgreSQL implementation,
numbered migrations."""

from __future__ import annotations

from dlrhub.planning.events import IngestResult
from dlrhub.store.backends import from_url
from dlrhub.store.base import Ingest, Store
from dlrhub.store.nouns import (
    Accounts,
    Apps,
    AuditFilter,
    AuditLog,
    CallbackFilter,
    Callbacks,
    Endpoints,
    Journeys,
    Keys,
    Messages,
    MessageStatus,
    Signatures,
    Tokens,
)
from dlrhub.store.queues import AttemptResult, ChannelQueue, OrphanReceipt, Outbox

__all__ = [
    "Accounts",
    "Apps",
    "AttemptResult",
    "AuditFilter",
    "AuditLog",
    "CallbackFilter",
    "Callbacks",
    "ChannelQueue",
    "Endpoints",
    "Ingest",
    "IngestResult",
    "Journeys",
    "Keys",
    "MessageStatus",
    "Messages",
    "OrphanReceipt",
    "Outbox",
    "Signatures",
    "Store",
    "Tokens",
    "from_url",
]
