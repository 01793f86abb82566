"""Per-destination lanes: slots in flight and a FIFO of claimed callbacks waiting for one of them.

A lane is a destination host (`urls.endpoint_key`), shared by every account sending there: the connection cap
protects the receiver. Health is not the lane's: each waiting callback is judged by its own account's endpoint
(`urls.health_key`, see `workers/gate.py`).
"""

from __future__ import annotations

import collections
import dataclasses
import time
from collections.abc import Container

from dlrhub.core import models


@dataclasses.dataclass(frozen=True, slots=True)
class Waiting:
    """A claimed callback waiting for a slot of its destination, with what sending it needs."""

    callback: models.Callback
    secrets: tuple[str, ...]
    #: `time.monotonic()` when it was claimed: its lease runs from then.
    claimed: float = dataclasses.field(default_factory=time.monotonic)


class Lanes:
    """The destinations one dispatcher holds callbacks for.

    At most `slots` callbacks of a destination are in flight; the ones claimed beyond that wait in its FIFO and
    start, in claim order, as its slots free. A destination holds at most twice `slots` (in flight plus waiting),
    so a waiting callback waits for at most one attempt ahead of it: claims take at most `quota` (= `slots`) of a
    destination at a time, and none of a destination that is `full` (fewer than `quota` places left, so it is
    claimed for again once its queue has run dry, while all its slots are still busy).
    """

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.quota = slots
        self.cap = 2 * slots
        self.load: collections.Counter[str] = collections.Counter()
        self.queues: dict[str, collections.deque[Waiting]] = {}
        #: Health keys with a probe in flight (one at a time to a recovering account's endpoint).
        self.probing: set[str] = set()
        #: Destinations whose last claim took all it asked for: refilled from their own callbacks.
        self.backlogged: set[str] = set()

    def held(self, endpoint: str) -> int:
        """Callbacks of `endpoint` in flight or waiting."""
        queue = self.queues.get(endpoint)
        return self.load[endpoint] + (len(queue) if queue else 0)

    def room(self, endpoint: str) -> int:
        """How many more callbacks of `endpoint` may be claimed."""
        return self.cap - self.held(endpoint)

    def destinations(self) -> int:
        """How many destinations have callbacks in flight or waiting."""
        return len(self.load.keys() | self.queues.keys())

    def full(self) -> frozenset[str]:
        """Destinations a claim must skip: taking `quota` more would exceed their cap."""
        return frozenset(e for e in {*self.load, *self.queues} if self.room(e) < self.quota)

    def waiting(self, endpoint: str) -> int:
        """Callbacks of `endpoint` waiting for a slot."""
        queue = self.queues.get(endpoint)
        return len(queue) if queue else 0

    def push(self, item: Waiting) -> None:
        """Queue a claimed callback behind the others of its destination."""
        endpoint = item.callback.endpoint
        queue = self.queues.get(endpoint)
        if queue is None:
            queue = self.queues[endpoint] = collections.deque()
        queue.append(item)

    def free(self, endpoint: str) -> bool:
        """Whether `endpoint` has a slot free and a callback waiting for it."""
        return self.load[endpoint] < self.slots and self.waiting(endpoint) > 0

    def pop(self, endpoint: str, skip: Container[str] = ()) -> Waiting | None:
        """Take the oldest waiting callback of `endpoint` whose health key is not in `skip` (None when none)."""
        queue = self.queues.get(endpoint)
        if not queue:
            return None
        for n, item in enumerate(queue):
            if item.callback.health_key not in skip:
                del queue[n]
                if not queue:
                    del self.queues[endpoint]
                return item
        return None

    def take_all(self, endpoint: str, health_key: str | None = None) -> list[Waiting]:
        """Take every waiting callback of `endpoint`, or only those of `health_key` (it was paused or disabled)."""
        queue = self.queues.get(endpoint)
        if not queue:
            return []
        if health_key is None:
            return list(self.queues.pop(endpoint))
        taken = [w for w in queue if w.callback.health_key == health_key]
        kept = [w for w in queue if w.callback.health_key != health_key]
        if kept:
            self.queues[endpoint] = collections.deque(kept)
        else:
            del self.queues[endpoint]
        return taken

    def start(self, endpoint: str) -> None:
        """A callback of `endpoint` takes a slot."""
        self.load[endpoint] += 1

    def finish(self, endpoint: str) -> None:
        """A callback of `endpoint` gives its slot back."""
        left = self.load[endpoint] - 1
        if left <= 0:
            del self.load[endpoint]
        else:
            self.load[endpoint] = left

    def clear(self) -> None:
        """Forget every waiting callback (shutting down: the caller gives them back)."""
        self.queues.clear()
