"""Message ids: each dialect's shape, time-ordered, never repeated."""

from __future__ import annotations

import re
import time

from dlrhub import ids, models

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
        assert shape.fullmatch(ids.message_id(dialect)), dialect


def test_ids_start_with_their_creation_millisecond():
    before = time.time_ns() // 1_000_000
    hex32 = _hex32(ids.message_id(models.Dialect.NXCLOUD))
    after = time.time_ns() // 1_000_000
    assert before <= int(hex32[:12], 16) <= after


def test_later_ids_sort_after_earlier_ones_and_none_repeat():
    made = []
    for _ in range(3):
        made += [ids.message_id(models.Dialect.NXCLOUD) for _ in range(1000)]
        time.sleep(0.002)
    assert len(set(made)) == len(made)
    firsts = [made[0], made[1000], made[2000]]
    assert firsts == sorted(firsts)
    assert made[2999] > made[0]
