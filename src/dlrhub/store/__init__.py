"""Storage: one interface (`base.Store`), a SQLite and a PostgreSQL implementation, numbered migrations."""

from __future__ import annotations

from dlrhub.store.base import AttemptResult, IngestResult, Store, from_url

__all__ = ["AttemptResult", "IngestResult", "Store", "from_url"]
