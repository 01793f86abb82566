"""The embedded SQLite store: one file, WAL, one writer thread."""

from __future__ import annotations

from dlrhub.store import base
from dlrhub.store.sqlite import accounts, callbacks, dispatch, messages


class SqliteStore(
    accounts.SqliteAccounts,
    messages.SqliteMessages,
    callbacks.SqliteCallbacks,
    dispatch.SqliteDispatch,
    base.Store,
):
    """The Store on one SQLite file."""
