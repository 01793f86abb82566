"""The store interface: the only contract between dlrhub and its databases.

`Store` is the union of the per-consumer interfaces (`Ingest` here, `nouns`, `queues`) with the lifecycle; a
consumer asks for the narrowest one that covers what it uses.
"""

from __future__ import annotations

import abc
import datetime as dt
import typing
from decimal import Decimal

from dlrhub.core import errors, models
from dlrhub.planning import accepts, events
from dlrhub.store import activity, control, feed, migrations, nouns, queues, retention


class Ingest(typing.Protocol):
    """Writing messages and events: the accept path (sends) and the event path (status events).

    Each write takes its `now` from the caller, the time that stamps the rows it writes: the store reads no time.
    """

    # -- messages and events -----------------------------------------------------------------------------
    async def accept_message(
        self,
        message: models.Message,
        event: models.StatusEvent,
        inputs: events.RenderInputs,
        *,
        now: dt.datetime,
        charge: Decimal = Decimal(0),
        dedup_since: dt.datetime | None = None,
        channel_due_at: dt.datetime | None = None,
    ) -> events.IngestResult:
        """Store a new message with its `accepted` event and callbacks, and debit `charge`, atomically.

        With `channel_due_at`, the message is queued for the channel worker (Zalo) from that time on.

        Raises errors.DuplicateRequest when the message's RequestId was used after `dedup_since`, and
        errors.InsufficientBalance when the balance is below `charge`. Nothing is written then.
        """
        (result,) = await self.accept_messages(
            [accepts.Accept(message, event, inputs, charge, dedup_since, channel_due_at)], now
        )
        if isinstance(result, errors.DlrhubError):
            raise result
        return result

    @abc.abstractmethod
    async def accept_messages(
        self, batch: list[accepts.Accept], now: dt.datetime
    ) -> list[events.IngestResult | errors.DlrhubError]:
        """`accept_message` for each of `batch`, in one transaction (group commit), in order.

        Each accept is all or nothing on its own: one refused (errors.DuplicateRequest,
        errors.InsufficientBalance) writes nothing and its error takes its place in the result.
        """

    @abc.abstractmethod
    async def apply_event(
        self,
        event: models.StatusEvent,
        inputs: events.RenderInputs,
        *,
        now: dt.datetime,
        new_message: models.Message | None = None,
    ) -> events.IngestResult:
        """Store an event, the message's (and journey's) new state and its callbacks in one transaction.

        Both backends settle it with `planning.events.decide`. An event id already stored changes nothing
        (`duplicate=True`, with the stored event, message and journey). `new_message` is created when the event's
        message does not exist yet (an external engine's first event). Raises errors.UnknownMessage when the
        message does not exist and no `new_message` is given.
        """


class Store(
    Ingest,
    nouns.Accounts,
    nouns.Templates,
    control.Ledger,
    nouns.Journeys,
    nouns.Messages,
    nouns.Callbacks,
    nouns.Endpoints,
    nouns.Signatures,
    control.Tokens,
    control.EndpointLimits,
    control.AuditLog,
    control.Apps,
    control.Keys,
    queues.Outbox,
    queues.ChannelQueue,
    retention.Retention,
    activity.Activity,
    feed.Feed,
):
    """Async storage for every dlrhub noun. Each method is one transaction, except the few that change a set of
    callbacks each of which stands alone (defer, cancel, requeue): a backend may split those into several, so an
    error or crash can leave them part done, and running them again finishes the job."""

    # -- lifecycle -------------------------------------------------------------------------------------
    @abc.abstractmethod
    async def migrate(self) -> list[str]:
        """Apply pending numbered migrations; return the names applied."""

    @abc.abstractmethod
    async def schema_state(self) -> migrations.SchemaState:
        """How the database's applied migrations compare with the code's (all pending on an empty database)."""

    @abc.abstractmethod
    async def ping(self) -> None:
        """Raise when the database cannot answer a trivial query."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections."""
