"""Per-destination lanes and the claim walk's memory: pure bookkeeping, no store, no clock but a fake one."""

from __future__ import annotations

import datetime as dt

from dlrhub.core import models
from dlrhub.workers import lanes


def waiting(i: int, endpoint: str = "http://a:80") -> lanes.Waiting:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    cb = models.Callback(
        id=f"cb{i}",
        event_id=f"ev{i}",
        account_id="acc",
        dialect=models.Dialect.NATIVE,
        order_key=f"m{i}",
        seq=1,
        request=models.CallbackRequest("POST", f"{endpoint}/x", b"{}", "application/json"),
        state=models.CallbackState.PENDING,
        due_at=now,
        attempts=0,
        created_at=now,
        message_id=f"m{i}",
        endpoint=endpoint,
    )
    return lanes.Waiting(cb, (), claimed=0.0)


def test_a_lane_holds_its_cap_in_flight_and_as_many_waiting_then_is_full():
    lane = lanes.Lanes(4)
    assert (lane.quota, lane.cap) == (4, 8)
    for i in range(8):
        lane.push(waiting(i))
    started = []
    while lane.free("http://a:80"):
        started.append(lane.pop("http://a:80").callback.id)  # type: ignore[union-attr]
        lane.start("http://a:80")
    # FIFO, and no more in flight than its slots.
    assert started == ["cb0", "cb1", "cb2", "cb3"]
    assert (lane.load["http://a:80"], lane.waiting("http://a:80"), lane.room("http://a:80")) == (4, 4, 0)
    assert lane.full() == {"http://a:80"}
    lane.finish("http://a:80")
    assert lane.free("http://a:80") and lane.pop("http://a:80").callback.id == "cb4"  # type: ignore[union-attr]
    lane.start("http://a:80")
    # Full until a whole quota of places is free again.
    for _ in range(2):
        lane.finish("http://a:80")
    assert lane.full() == {"http://a:80"} and lane.room("http://a:80") == 3
    lane.finish("http://a:80")
    assert lane.full() == frozenset() and lane.destinations() == 1
    assert [w.callback.id for w in lane.take_all("http://a:80")] == ["cb5", "cb6", "cb7"]
    assert lane.waiting("http://a:80") == 0
