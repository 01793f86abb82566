"""Opening a store: the backend a database URL names, with only that backend's driver loaded."""

from __future__ import annotations

from dlrhub.core import errors
from dlrhub.store import base


def from_url(url: str, *, create: bool = True) -> base.Store:
    """Open the store a `DLRHUB_DATABASE_URL` names, loading only that backend's driver.

    `create=False`: a SQLite file that does not exist is not created; the first use raises
    errors.StoreUnavailable saying so (a PostgreSQL database is never created).
    """
    if url.startswith("sqlite:///"):
        from dlrhub.store import sqlite

        return sqlite.SqliteStore(url.removeprefix("sqlite:///"), create=create)
    if url.startswith(("postgresql://", "postgres://")):
        from dlrhub.store import postgres

        return postgres.PostgresStore(url)
    raise errors.ConfigError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}")
