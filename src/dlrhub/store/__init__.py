"""Storage: one interface (`base.Store`), a SQLite and a PostgreSQL implementation, numbered migrations."""

from __future__ import annotations

from dlrhub.store.base import AttemptResult, CallbackFilter, IngestResult, MessageStatus, Store, from_url

__all__ = ["AttemptResult", "CallbackFilter", "IngestResult", "MessageStatus", "Store", "from_url"]
