"""Storage: one interface (`base.Store`), a SQLite and a PostgreSQL implementation, numbered migrations."""

from __future__ import annotations

from dlrhub.planning.events import IngestResult
from dlrhub.store.base import AttemptResult, CallbackFilter, MessageStatus, Store, from_url

__all__ = ["AttemptResult", "CallbackFilter", "IngestResult", "MessageStatus", "Store", "from_url"]
