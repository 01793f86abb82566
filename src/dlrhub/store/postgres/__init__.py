"""The PostgreSQL store, for many API and worker processes sharing one database."""

from __future__ import annotations

from dlrhub.store import base, outage
from dlrhub.store.postgres import (
    accounts,
    activity,
    audit,
    batch,
    callbacks,
    channel,
    dispatch,
    endpoint_limits,
    esms,
    feed,
    keys,
    ledger,
    messages,
    retention,
    templates,
    tokens,
)


@outage.guarded
class PostgresStore(
    batch.PostgresBatch,
    accounts.PostgresAccounts,
    templates.PostgresTemplates,
    ledger.PostgresLedger,
    messages.PostgresMessages,
    callbacks.PostgresCallbacks,
    dispatch.PostgresDispatch,
    esms.PostgresEsms,
    feed.PostgresFeed,
    channel.PostgresChannel,
    tokens.PostgresTokens,
    endpoint_limits.PostgresEndpointLimits,
    audit.PostgresAudit,
    keys.PostgresKeys,
    retention.PostgresRetention,
    activity.PostgresActivity,
    base.Store,
):
    """The Store on PostgreSQL (asyncpg pool)."""
