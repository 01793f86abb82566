"""Mapping between model dataclasses and database rows, for both backends."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import typing
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal, TypeVar

import orjson

from dlrhub import models

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


def _reader(hint: Any) -> _Conv:
    args = typing.get_args(hint)
    if args and type(None) in args:
        inner = _reader(next(a for a in args if a is not type(None)))
        return lambda v: None if v is None else inner(v)
    if hint is dt.datetime:
        return _to_dt
    if hint is Decimal:
        return _to_decimal
    if hint is bool:
        return bool
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    origin = typing.get_origin(hint)
    if origin is tuple:
        return lambda v: tuple(_to_json(v))
    if origin is dict:
        value_type = args[1] if len(args) == 2 else Any
        if value_type is Decimal:
            return lambda v: {k: _to_decimal(x) for k, x in _to_json(v).items()}
        return _to_json
    return lambda v: v


@functools.cache
def _readers(cls: type) -> tuple[tuple[str, _Conv], ...]:
    hints = typing.get_type_hints(cls, vars(models))
    return tuple((f.name, _reader(hints[f.name])) for f in dataclasses.fields(cls) if f.name != "request")


def from_row(cls: type[T], row: Any) -> T:
    """Build model `cls` from a row (sqlite3.Row, asyncpg.Record or mapping) holding its fields as columns.

    A Callback's request comes from REQUEST_COLUMNS.
    """
    keys = set(row.keys())
    readers = _readers(cls)  # type: ignore[arg-type]
    values = {name: conv(row[name]) for name, conv in readers if name in keys}
    if cls is models.Callback:
        values["request"] = models.CallbackRequest(
            method=row["method"], url=row["url"], body=bytes(row["body"]), content_type=row["content_type"]
        )
    return cls(**values)


def _write(value: Any, backend: Backend) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.timestamp() if backend == "sqlite" else value
    if isinstance(value, Decimal):
        return str(value.quantize(FOUR_PLACES)) if backend == "sqlite" else value
    if isinstance(value, bool):
        return int(value) if backend == "sqlite" else value
    if isinstance(value, dict | list | tuple):
        return orjson.dumps(value, default=str).decode()
    return value


def columns(cls: type) -> list[str]:
    """The column names of model `cls`, in field order (a Callback's request spread into REQUEST_COLUMNS)."""
    names: list[str] = []
    for f in dataclasses.fields(cls):
        names.extend(REQUEST_COLUMNS if f.name == "request" else (f.name,))
    return names


def to_row(obj: Any, backend: Backend) -> dict[str, Any]:
    """The column values of a model instance (a Callback's request spread into REQUEST_COLUMNS)."""
    row: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name == "request":
            row.update(method=value.method, url=value.url, body=value.body, content_type=value.content_type)
        else:
            row[f.name] = _write(value, backend)
    return row


def ts(value: dt.datetime, backend: Backend) -> Any:
    """A timestamp parameter for `backend`."""
    return _write(value, backend)
