"""Rows to models: `rows.from_rows` (by position, the claims' mapper) builds what `rows.from_row` builds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3

import pytest

from dlrhub.core import models
from dlrhub.store import rows


def callbacks() -> list[models.Callback]:
    now = dt.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    plain = models.Callback(
        id="cb_1",
        event_id="ev_1",
        account_id="acc",
        dialect=models.Dialect.NATIVE,
        order_key="m1",
        seq=1,
        request=models.CallbackRequest("POST", "https://example.com/hook", b'{"a":1}', "application/json"),
        state=models.CallbackState.PENDING,
        due_at=now,
        attempts=0,
        created_at=now,
    )
    full = dataclasses.replace(
        plain,
        id="cb_2",
        dialect=models.Dialect.ESMS,
        request=models.CallbackRequest("GET", "https://example.com/dr?x=1"),
        state=models.CallbackState.FAILED,
        attempts=3,
        message_id="m2",
        endpoint="https://example.com:443",
        health_key="acc:https://example.com:443/dr",
        last_outcome=models.AttemptOutcome.HTTP_STATUS,
        last_status=503,
        retry_from=1,
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    return [plain, full]


def table(made: list[models.Callback]) -> list[sqlite3.Row]:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    names = rows.columns(models.Callback)
    conn.execute(f"CREATE TABLE callbacks ({', '.join(names)}, extra)")
    for cb in made:
        row = rows.to_row(cb, "sqlite")
        conn.execute(
            f"INSERT INTO callbacks ({', '.join(row)}, extra) VALUES ({', '.join('?' * len(row))}, 'x')",
            list(row.values()),
        )
    return conn.execute("SELECT extra, * FROM callbacks ORDER BY id").fetchall()


def test_from_rows_maps_every_field_like_from_row():
    made = callbacks()
    found = table(made)
    assert rows.from_rows(models.Callback, found) == made
    assert [rows.from_row(models.Callback, r) for r in found] == made
    assert rows.from_rows(models.Callback, []) == []


def test_an_unknown_enum_value_is_still_refused():
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    [row] = conn.execute(
        "SELECT 'cb' AS callback_id, 1 AS number, 0.0 AS started_at, 1.0 AS duration_ms, 'nope' AS outcome"
    ).fetchall()
    with pytest.raises(ValueError, match="nope"):
        rows.from_rows(models.Attempt, [row])


def test_callbacks_from_values_maps_every_field_like_from_row():
    made = callbacks()
    conn = sqlite3.connect(":memory:")
    names = rows.columns(models.Callback)
    conn.execute(f"CREATE TABLE callbacks ({', '.join(names)})")
    for cb in made:
        row = rows.to_row(cb, "sqlite")
        conn.execute(
            f"INSERT INTO callbacks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    found = conn.execute(f"SELECT {', '.join(rows.CALLBACK_COLUMNS)} FROM callbacks ORDER BY id").fetchall()
    assert rows.callbacks_from_values(found) == made
    assert rows.callbacks_from_values([]) == []


def test_callbacks_from_values_refuses_an_unknown_enum_value():
    [plain, _] = callbacks()
    values = list(rows.to_row(plain, "sqlite").values())
    values[rows.CALLBACK_COLUMNS.index("state")] = "nope"
    with pytest.raises(ValueError, match="nope"):
        rows.callbacks_from_values([values])
