"""Message ids: each dialect's shape (named by the registry), ordered by their creation time, never repeated."""

from __future__ import annotations

import datetime as dt
import re

from dlrhub.core import ids, models
from dlrhub.dialects import registry

T0 = dt.datetime(2026, 12, 1, 7, 8, 31, 123000, tzinfo=dt.UTC)
SHAPES = {
    models.Dialect.ESMS: re.compile(r"[0-9a-f]{32}[1-9][0-9]{2}"),
    models.Dialect.NXCLOUD: re.compile(r"zalomid\.[0-9a-f]{32}"),
    models.Dialect.NATIVE: re.compile(r"msg_[0-9a-f]{32}"),
}


def _hex32(message_id: str) -> str:
    found = re.search(r"[0-9a-f]{32}", message_id)
    assert found is not None
    return found.group()


def test_each_dialect_has_its_shape():
    for dialect, shape in SHAPES.items():
        assert shape.fullmatch(registry.new_message_id(dialect, T0)), dialect


def test_ids_start_with_their_creation_millisecond():
    hex32 = _hex32(ids.message_id(ids.ZALOMID, T0))
    assert int(hex32[:12], 16) == 1_796_108_911_123


def test_later_ids_sort_after_earlier_ones_and_none_repeat():
    times = [T0 + dt.timedelta(milliseconds=n) for n in range(3)]
    made = [[ids.message_id(ids.ZALOMID, t) for _ in range(1000)] for t in times]
    every = [i for same_ms in made for i in same_ms]
    assert len(set(every)) == len(every)
    assert max(made[0]) < min(made[1]) and max(made[1]) < min(made[2])
