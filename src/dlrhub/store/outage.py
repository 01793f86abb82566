"""Which driver failures mean "the database is down", raised as errors.StoreUnavailable and logged once an outage,
and which mean "the database refuses this row's values" (`refused`), raised as errors.Unstorable where asked."""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import asyncpg
import orjson

from dlrhub.core import errors
from dlrhub.store import base

log = logging.getLogger(__name__)

S = TypeVar("S", bound=type[base.Store])

#: SQLite's primary result codes that say the file cannot be used now, not that the statement is wrong.
_SQLITE_DOWN = frozenset(
    {
        3,  # SQLITE_PERM
        5,  # SQLITE_BUSY
        6,  # SQLITE_LOCKED
        8,  # SQLITE_READONLY
        10,  # SQLITE_IOERR
        11,  # SQLITE_CORRUPT
        13,  # SQLITE_FULL
        14,  # SQLITE_CANTOPEN
        26,  # SQLITE_NOTADB
    }
)
#: asyncpg's own (client-side) errors that mean the pool or its connection is gone.
_PG_GONE = ("closed", "closing", "connection was lost")
#: OSError (a refused or reset connection, a DNS failure, a connect timeout, a file that cannot be opened), and
#: PostgreSQL refusing work for a while: the connection failed, shutting down, starting up, out of connections.
_DOWN: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)


def is_outage(exc: BaseException) -> bool:
    """Whether `exc`, raised by sqlite3 or asyncpg, means the database cannot be reached or used now.

    A wrong statement or a broken constraint is not an outage: it stays a bug, and a 500.
    """
    if isinstance(exc, _DOWN):
        return True
    if isinstance(exc, sqlite3.ProgrammingError):  # a DatabaseError without a result code
        return "closed database" in str(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_DOWN
    if isinstance(exc, asyncpg.InterfaceError):
        return any(word in str(exc) for word in _PG_GONE)
    return False


#: Failures for a value of a row, not for the database: PostgreSQL's data exceptions (SQLSTATE class 22: a value
#: too long, not in the encoding, NUL, out of range; asyncpg raises the same class for a value it cannot encode,
#: such as a lone surrogate or an int past int32) and broken constraints (class 23); SQLite's (a value too big, a
#: broken constraint), and what Python's sqlite3 raises binding a value (a lone surrogate, an int past int64), as
#: orjson does writing one into a JSON parameter.
_REFUSED: tuple[type[Exception], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    sqlite3.DataError,
    sqlite3.IntegrityError,
    UnicodeEncodeError,
    OverflowError,
    orjson.JSONEncodeError,
)


def is_refusal(exc: BaseException) -> bool:
    """Whether `exc`, raised by sqlite3 or asyncpg, means the database refuses a value of the rows written: the
    rows' fault, which writing them again repeats (never an outage: those are retried)."""
    return isinstance(exc, _REFUSED) and not is_outage(exc)


@contextlib.contextmanager
def refused() -> Iterator[None]:
    """Raise errors.Unstorable, from the driver's failure, when the database refuses a value written inside."""
    try:
        yield
    except Exception as exc:
        if not is_refusal(exc):
            raise
        raise errors.Unstorable() from exc


class Watch:
    """One store's outage state: logs the first failure of an outage, and the first success after it."""

    def __init__(self) -> None:
        self.down_since: float | None = None

    def failed(self, exc: BaseException) -> None:
        if self.down_since is None:
            self.down_since = time.monotonic()
            first_line = (str(exc).splitlines() or [""])[0]
            log.error("database unavailable: %s: %s", type(exc).__name__, first_line)

    def answered(self) -> None:
        if self.down_since is not None:
            lasted = time.monotonic() - self.down_since
            self.down_since = None
            log.warning("database answers again after %.1f s", lasted)


#: Methods whose return says nothing of the database: waiting for the wake-up (in-process on SQLite, on a
#: connection of its own on PostgreSQL) returns on time during an outage, which must not end it.
NOT_AN_ANSWER = frozenset({"wait_for_callbacks"})


def _guard(name: str, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    answers = name not in NOT_AN_ANSWER

    @functools.wraps(method)
    async def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        watch: Watch | None = getattr(self, "_outage", None)
        if watch is None:
            watch = self._outage = Watch()
        try:
            result = await method(self, *args, **kwargs)
        except errors.StoreUnavailable:
            raise  # an inner store call already said so
        except Exception as exc:
            if not is_outage(exc):
                raise
            watch.failed(exc)
            raise errors.StoreUnavailable() from exc
        if answers:
            watch.answered()
        return result

    guarded.__name__ = name
    return guarded


def guarded(cls: S) -> S:
    """Make every async method of the `base.Store` interface on `cls` raise errors.StoreUnavailable on an outage."""
    # Every part of the interface (`base.Store` inherits its methods from the narrow ones), not just its own.
    for name, _ in inspect.getmembers(base.Store, inspect.iscoroutinefunction):
        if not name.startswith("_"):
            setattr(cls, name, _guard(name, getattr(cls, name)))
    return cls


async def reach(store: base.Store) -> None:
    """Ping `store` without logging an outage (a command starting up says why it stops instead).

    Raises errors.StoreUnavailable naming the driver's failure.
    """
    ping = type(store).ping
    try:
        await getattr(ping, "__wrapped__", ping)(store)
    except Exception as exc:
        if not is_outage(exc):
            raise
        first_line = (str(exc).splitlines() or [""])[0]
        raise errors.StoreUnavailable(
            f"cannot reach the database: {type(exc).__name__}: {first_line}"
        ) from exc
