"""Storage: one interface (`base.Store`, the union of narrower ones), a SQLite and a PostgreSQL implementation,
numbered migrations."""

from __future__ import annotations

from dlrhub.planning.events import IngestResult
from dlrhub.store.activity import Activity, ZaloResult
from dlrhub.store.backends import from_url
from dlrhub.store.base import Ingest, Store
from dlrhub.store.control import Apps, AuditFilter, AuditLog, EndpointLimits, Keys, Ledger, Tokens
from dlrhub.store.feed import FEED_START, Feed, FeedEvent, FeedPosition, Undelivered
from dlrhub.store.nouns import (
    MAX_SEARCH_ROWS,
    AccountFilter,
    Accounts,
    CallbackFilter,
    Callbacks,
    Endpoints,
    Journeys,
    MessageQuery,
    Messages,
    MessageStatus,
    OAChanges,
    Signatures,
    Templates,
)
from dlrhub.store.queues import AttemptResult, ChannelQueue, OrphanReceipt, Outbox
from dlrhub.store.retention import Pruned, Retention

__all__ = [
    "FEED_START",
    "MAX_SEARCH_ROWS",
    "AccountFilter",
    "Accounts",
    "Activity",
    "Apps",
    "AttemptResult",
    "AuditFilter",
    "AuditLog",
    "CallbackFilter",
    "Callbacks",
    "ChannelQueue",
    "EndpointLimits",
    "Endpoints",
    "Feed",
    "FeedEvent",
    "FeedPosition",
    "Ingest",
    "IngestResult",
    "Journeys",
    "Keys",
    "Ledger",
    "MessageQuery",
    "MessageStatus",
    "Messages",
    "OAChanges",
    "OrphanReceipt",
    "Outbox",
    "Pruned",
    "Retention",
    "Signatures",
    "Store",
    "Templates",
    "Tokens",
    "Undelivered",
    "ZaloResult",
    "from_url",
]
