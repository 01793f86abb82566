"""The embedded SQLite store: one file, WAL, written on the event loop, read on a thread of its own."""

from __future__ import annotations

from dlrhub.store import base, outage
from dlrhub.store.sqlite import (
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
class SqliteStore(
    batch.SqliteBatch,
    accounts.SqliteAccounts,
    templates.SqliteTemplates,
    ledger.SqliteLedger,
    messages.SqliteMessages,
    callbacks.SqliteCallbacks,
    dispatch.SqliteDispatch,
    esms.SqliteEsms,
    feed.SqliteFeed,
    channel.SqliteChannel,
    tokens.SqliteTokens,
    endpoint_limits.SqliteEndpointLimits,
    audit.SqliteAudit,
    keys.SqliteKeys,
    retention.SqliteRetention,
    activity.SqliteActivity,
    base.Store,
):
    """The Store on one SQLite file."""
