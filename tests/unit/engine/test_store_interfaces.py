"""The store's interface is its per-consumer parts and nothing else, and the workers ask for their part only."""

from __future__ import annotations

import inspect

from dlrhub import store
from dlrhub.workers import dispatcher, zalo_channel

PARTS = (
    store.Ingest,
    store.Accounts,
    store.Templates,
    store.Ledger,
    store.Journeys,
    store.Messages,
    store.Callbacks,
    store.Endpoints,
    store.Signatures,
    store.AuditLog,
    store.Apps,
    store.Keys,
    store.Tokens,
    store.EndpointLimits,
    store.Outbox,
    store.ChannelQueue,
    store.Retention,
    store.Activity,
    store.Feed,
)
LIFECYCLE = {"migrate", "schema_state", "ping", "close"}


def methods(cls: type) -> set[str]:
    return {name for name, value in vars(cls).items() if not name.startswith("_") and callable(value)}


def test_every_store_method_is_in_exactly_one_part() -> None:
    parts = [methods(part) for part in PARTS]
    everything = set().union(*parts)
    assert sum(len(p) for p in parts) == len(everything)
    assert methods(store.Store) == LIFECYCLE
    assert set(store.Store.__abstractmethods__) == (everything | LIFECYCLE) - {"accept_message"}


def test_the_workers_are_typed_by_their_part() -> None:
    hint = inspect.signature(dispatcher.Dispatcher.__init__).parameters["db"].annotation
    assert hint == "DispatchStore"
    assert set(dispatcher.DispatchStore.__mro__) >= {store.Outbox, store.Endpoints, store.Accounts}
    assert store.Messages not in dispatcher.DispatchStore.__mro__
    assert store.ChannelQueue in zalo_channel.ChannelStore.__mro__
    assert store.Messages not in zalo_channel.ChannelStore.__mro__
