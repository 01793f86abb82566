"""The breaker's gate on a destination's lane: which waiting callbacks start now, judged by their own endpoints.

A lane is one host (`urls.endpoint_key`), shared by every account; health is one account's endpoint
(`urls.health_key`). So the gate judges each waiting callback by its own health key: a paused key's callbacks
are given back due at the end of its pause, a disabled key's cancelled, one probe at a time to a recovering key,
and the callbacks of other keys behind them still start as the lane's slots free.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable

from dlrhub.core import breaker, models
from dlrhub.workers import lanes as lanes_


@dataclasses.dataclass(slots=True)
class Opened:
    """What opening a lane decided: callbacks to start (their slots taken), to give back, to cancel."""

    start: list[lanes_.Waiting] = dataclasses.field(default_factory=list)
    #: `(callback id, due again at)`.
    release: list[tuple[str, dt.datetime]] = dataclasses.field(default_factory=list)
    cancel: list[str] = dataclasses.field(default_factory=list)


def open_lane(
    lanes: lanes_.Lanes,
    endpoint: str,
    health: Callable[[str], models.Endpoint],
    now: dt.datetime,
    fresh_s: float,
    budget: int | None = None,
) -> Opened:
    """Start waiting callbacks of `endpoint` while it has free slots, each as its health key's breaker allows.

    `health(key)` is the key's health as the dispatcher knows it. A callback claimed more than `fresh_s` seconds
    ago is given back due `now` (its lease could run out mid-attempt). Starting takes the slot (`lanes.start`)
    and, for a probe, marks the key `lanes.probing`; the caller sends what is in `start`. At most `budget` start
    (a rate limit's tokens, `workers/pacing.py`; None: as many as there are slots).
    """
    opened = Opened()
    while lanes.load[endpoint] < lanes.slots and (budget is None or len(opened.start) < budget):
        # A key with a probe in flight keeps its callbacks waiting for the probe's answer.
        waiting = lanes.pop(endpoint, lanes.probing)
        if waiting is None:
            break
        key = waiting.callback.health_key
        state = health(key)
        admission = breaker.admission(state, now)
        if admission is breaker.Admission.REFUSE:
            opened.cancel.append(waiting.callback.id)
            opened.cancel.extend(w.callback.id for w in lanes.take_all(endpoint, key))
            continue
        if admission is breaker.Admission.WAIT:
            until = state.paused_until or now
            for w in [waiting, *lanes.take_all(endpoint, key)]:
                opened.release.append((w.callback.id, max(until, w.callback.due_at)))
            continue
        if time.monotonic() - waiting.claimed > fresh_s:
            # Its lease could run out mid-attempt and another dispatcher send it too: give it back instead.
            opened.release.append((waiting.callback.id, now))
            continue
        if admission is breaker.Admission.PROBE:
            lanes.probing.add(key)  # one probe at a time; its answer opens the lane again
        lanes.start(endpoint)
        opened.start.append(waiting)
    return opened
