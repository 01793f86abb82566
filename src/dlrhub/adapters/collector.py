"""The process's cyclic garbage collector, set for a server that allocates a few dozen objects per request.

CPython's defaults collect the youngest generation every 700 net container allocations and walk the whole heap
every few dozen of those once enough objects have survived. A dispatcher holds each callback's objects (its row,
its request's, its attempt's) for the length of an HTTP round trip, so they survive the young collections and
the full ones come often, each walking every object the imports made (bench/dispatch.py measured a third of a
worker's CPU per callback in the collector). `tune` collects once, freezes what start-up made (never walked
again) and collects the young generation about 70 times less often. Reference counting still frees almost
everything at once; only garbage in cycles waits a little longer.
"""

from __future__ import annotations

import gc

#: `gc.set_threshold`: the young generation every 50,000 net allocations (CPython: 700); the older ones as
#: CPython does, relative to it. What a young collection walks is mostly what is alive (a busy dispatcher's
#: callbacks in flight), not the allocations since the last one: at 10,000 bench/fleet.py's dispatcher ran 17 of
#: them at about 19 ms each (21 µs of CPU a callback), at 50,000 two (4 µs a callback; docs/benchmarks.md "fleet").
THRESHOLDS = (50_000, 10, 10)


def tune() -> None:
    """Collect, freeze the survivors (start-up's modules and objects) and set THRESHOLDS. Called once a process
    has imported what it runs, before its event loop starts (`runtime.start`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
