"""Mapping between model dataclasses and database rows, for both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import itertools
import typing
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Literal, TypeVar

import orjson

from dlrhub.core import models, templates

Backend = Literal["sqlite", "postgres"]
T = TypeVar("T")
_Conv = Callable[[Any], Any]

FOUR_PLACES = Decimal("0.0001")
#: Columns of `callbacks` that hold the CallbackRequest.
REQUEST_COLUMNS = ("method", "url", "body", "content_type")


def _to_dt(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(float(value), dt.UTC)


def _to_json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def _to_decimal(value: Any) -> Decimal:
    """Money and prices: always 4 decimal places, as both backends store them."""
    return Decimal(str(value)).quantize(FOUR_PLACES)


def _reader(hint: Any) -> _Conv | None:
    """How a column's value becomes field type `hint` (None: as it is)."""
    args = typing.get_args(hint)
    if args and type(None) in args:
        inner = _reader(next(a for a in args if a is not type(None)))
        if inner is None:
            return None
        return lambda v: None if v is None else inner(v)
    if hint is dt.datetime:
        return _to_dt
    if hint is Decimal:
        return _to_decimal
    if hint is bool:
        return bool
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum_reader(hint)
    origin = typing.get_origin(hint)
    if origin is tuple:
        return lambda v: tuple(_to_json(v))
    if origin is dict:
        value_type = args[1] if len(args) == 2 else Any
        if value_type is Decimal:
            return lambda v: {k: _to_decimal(x) for k, x in _to_json(v).items()}
        return _to_json
    return None


@functools.cache
def _members(kind: type[enum.Enum]) -> dict[Any, Any]:
    """`kind`'s members by value."""
    return {m.value: m for m in kind}


def _enum_reader(kind: type[enum.Enum]) -> _Conv:
    """A member of `kind` by its value: a dict lookup (calling the enum class is slow), the call on a miss."""
    members = _members(kind)

    def read(value: Any) -> Any:
        found = members.get(value)
        return kind(value) if found is None else found

    return read


@functools.cache
def _readers(cls: type) -> tuple[tuple[str, _Conv | None], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, _reader(hints[f.name])) for f in dataclasses.fields(cls) if f.name != "request")


def from_row(cls: type[T], row: Any) -> T:
    """Build model `cls` from a row (sqlite3.Row, asyncpg.Record or mapping) holding its fields as columns.

    A Callback's request comes from REQUEST_COLUMNS.
    """
    keys = set(row.keys())
    readers = _readers(cls)  # type: ignore[arg-type]
    values = {name: row[name] if conv is None else conv(row[name]) for name, conv in readers if name in keys}
    if cls is models.Callback:
        values["request"] = models.CallbackRequest(
            method=row["method"], url=row["url"], body=bytes(row["body"]), content_type=row["content_type"]
        )
    return cls(**values)


def from_rows(cls: type[T], found: Sequence[Any]) -> list[T]:
    """`from_row` of each of `found`: rows of one result (sqlite3.Row or asyncpg.Record, same columns), read by
    position, the columns looked up once (the claims map hundreds of rows at a time)."""
    if not found:
        return []
    index = {name: i for i, name in enumerate(found[0].keys())}
    plan = [(name, index[name], conv) for name, conv in _readers(cls) if name in index]  # type: ignore[arg-type]
    request = tuple(index[c] for c in REQUEST_COLUMNS) if cls is models.Callback else None
    made: list[T] = []
    for row in found:
        values = {name: row[i] if conv is None else conv(row[i]) for name, i, conv in plan}
        if request is not None:
            method, url, body, content_type = request
            values["request"] = models.CallbackRequest(
                row[method], row[url], bytes(row[body]), row[content_type]
            )
        made.append(cls(**values))
    return made


def callbacks_from_values(found: Iterable[Sequence[Any]]) -> list[models.Callback]:
    """Callbacks from rows holding `CALLBACK_COLUMNS` in that order (tuples or rows of either backend): the claims'
    mapper, spelled out field by field, with no mapping built per row (about 7 µs a row against 17 for
    `from_rows`, which the claims of `bench/fleet.py` paid for every callback)."""
    callback, request, utc, at = models.Callback, models.CallbackRequest, dt.UTC, dt.datetime.fromtimestamp
    # A member by its value: a dict lookup; calling the enum class (slow) only on a miss, where it raises.
    dialect, state, outcome = models.Dialect, models.CallbackState, models.AttemptOutcome
    dialects, states, outcomes = (_members(dialect), _members(state), _members(outcome))
    return [
        callback(
            id_,
            event_id,
            account_id,
            dialects.get(dialect_) or dialect(dialect_),
            order_key,
            seq,
            request(method, url, bytes(body), content_type),
            states.get(state_) or state(state_),
            at(due_at, utc) if due_at.__class__ is float else _to_dt(due_at),
            attempts,
            at(created_at, utc) if created_at.__class__ is float else _to_dt(created_at),
            message_id,
            endpoint,
            health_key,
            None if last_outcome is None else outcomes.get(last_outcome) or outcome(last_outcome),
            last_status,
            retry_from,
            traceparent,
        )
        for (
            id_,
            event_id,
            account_id,
            dialect_,
            order_key,
            seq,
            method,
            url,
            body,
            content_type,
            state_,
            due_at,
            attempts,
            created_at,
            message_id,
            endpoint,
            health_key,
            last_outcome,
            last_status,
            retry_from,
            traceparent,
        ) in found
    ]


def _write(value: Any, backend: Backend) -> Any:
    conv = _writer(type(value), backend)
    return value if conv is None else conv(value)


#: `_writer`'s answers by backend and type (a few dozen types at most: the models' field types).
_writers: dict[Backend, dict[type, _Conv | None]] = {"sqlite": {}, "postgres": {}}


def _writer(kind: type, backend: Backend) -> _Conv | None:
    """How a value of type `kind` is stored (None: as it is). Decided once per type, since rows are hot."""
    known = _writers[backend]
    if kind not in known:
        known[kind] = _decide_writer(kind, backend)
    return known[kind]


def _decide_writer(kind: type, backend: Backend) -> _Conv | None:
    if issubclass(kind, enum.Enum):
        return lambda v: v.value
    if issubclass(kind, dt.datetime):
        return dt.datetime.timestamp if backend == "sqlite" else None
    if issubclass(kind, Decimal):
        return (lambda v: str(v.quantize(FOUR_PLACES))) if backend == "sqlite" else None
    if issubclass(kind, bool):
        return int if backend == "sqlite" else None
    if issubclass(kind, dict | list | tuple):
        return lambda v: orjson.dumps(v, default=str).decode()
    return None


@functools.cache
def _fields(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def columns(cls: type) -> list[str]:
    """The column names of model `cls`, in field order (a Callback's request spread into REQUEST_COLUMNS)."""
    names: list[str] = []
    for name in _fields(cls):
        names.extend(REQUEST_COLUMNS if name == "request" else (name,))
    return names


#: A Callback's columns in field order (its request spread), as `callbacks_from_values` reads them.
CALLBACK_COLUMNS = tuple(columns(models.Callback))


def to_row(obj: Any, backend: Backend) -> dict[str, Any]:
    """The column values of a model instance (a Callback's request spread into REQUEST_COLUMNS)."""
    row: dict[str, Any] = {}
    writers = _writers[backend]
    cls: type = type(obj)
    for name in _fields(cls):
        value = getattr(obj, name)
        kind = type(value)
        if name == "request":
            row.update(method=value.method, url=value.url, body=value.body, content_type=value.content_type)
        elif kind is str or value is None:
            row[name] = value
        else:
            conv = writers[kind] if kind in writers else _writer(kind, backend)
            row[name] = value if conv is None else conv(value)
    return row


def cell(value: Any, backend: Backend) -> Any:
    """One field's value as `backend` stores it in its column (None stays None)."""
    return None if value is None else _write(value, backend)


def timestamp(value: Any) -> dt.datetime:
    """A timestamp column's value (either backend's) as an aware datetime."""
    return _to_dt(value)


def ts(value: dt.datetime, backend: Backend) -> Any:
    """A timestamp parameter for `backend`."""
    return _write(value, backend)


#: The columns of `templates`, in the order `template_row` gives them.
TEMPLATE_COLUMNS = (
    "oa_id",
    "template_id",
    "name",
    "status",
    "source",
    "params",
    "price",
    "synced_at",
    "info",
)


def template_row(t: templates.Template, backend: Backend) -> tuple[Any, ...]:
    """The TEMPLATE_COLUMNS values of a template."""
    params = None if t.params is None else [p.to_json() for p in t.params]
    return (
        t.oa_id,
        t.template_id,
        t.name,
        t.status,
        t.source.value,
        None if params is None else orjson.dumps(params).decode(),
        None if t.price is None else _write(t.price, backend),
        None if t.synced_at is None else _write(t.synced_at, backend),
        orjson.dumps(t.info).decode(),
    )


def template_from_row(row: Any) -> templates.Template:
    """A template from a row holding TEMPLATE_COLUMNS."""
    params = None if row["params"] is None else templates.params_from_json(_to_json(row["params"]))
    return templates.Template(
        oa_id=row["oa_id"],
        template_id=row["template_id"],
        name=row["name"],
        status=row["status"],
        source=templates.Source(row["source"]),
        params=params,
        price=None if row["price"] is None else _to_decimal(row["price"]),
        synced_at=None if row["synced_at"] is None else _to_dt(row["synced_at"]),
        info=_to_json(row["info"]),
    )


def callback_counts(
    found: Iterable[tuple[str, str, int]],
) -> dict[tuple[models.Dialect, models.CallbackState], int]:
    """`(dialect, state, n)` rows of `callback_counts` as a count for every dialect and state (0 where none)."""
    counts = dict.fromkeys(itertools.product(models.Dialect, models.CallbackState), 0)
    for dialect, state, n in found:
        key = (models.Dialect(dialect), models.CallbackState(state))
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def counts_by_state(
    counts: dict[tuple[models.Dialect, models.CallbackState], int],
) -> dict[models.CallbackState, int]:
    """Callback counts by dialect and state, summed over dialects."""
    found = dict.fromkeys(models.CallbackState, 0)
    for (_, state), n in counts.items():
        found[state] += n
    return found
