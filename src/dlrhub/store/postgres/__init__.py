"""The PostgreSQL store, for many API and worker processes sharing one database."""

from __future__ import annotations

from dlrhub.store import base
from dlrhub.store.postgres import accounts, callbacks, messages


class PostgresStore(
    accounts.PostgresAccounts, messages.PostgresMessages, callbacks.PostgresCallbacks, base.Store
):
    """The Store on PostgreSQL (asyncpg pool)."""
