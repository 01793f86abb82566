"""The sender's caps (`caps.Slots`, `caps.EndpointLimiter`): at most `limit` held, waiters served first come first
served, a cancelled waiter never keeps nor loses a slot, and `take` never jumps the queue."""

from __future__ import annotations

import asyncio

from dlrhub.adapters import caps


async def _holder(slots: caps.Slots, name: str, order: list[str], go: asyncio.Event) -> None:
    await slots.acquire()
    order.append(name)
    try:
        await go.wait()
    finally:
        slots.release()


async def test_at_most_limit_are_held_and_waiters_go_in_order() -> None:
    slots, go = caps.Slots(2), asyncio.Event()
    order: list[str] = []
    tasks = [asyncio.create_task(_holder(slots, str(i), order, go)) for i in range(5)]
    await asyncio.sleep(0.01)
    assert order == ["0", "1"]
    go.set()
    await asyncio.gather(*tasks)
    assert order == ["0", "1", "2", "3", "4"]
    # All given back: two are free again at once.
    await asyncio.wait_for(asyncio.gather(slots.acquire(), slots.acquire()), 1)


async def test_a_cancelled_waiter_neither_keeps_nor_loses_a_slot() -> None:
    slots = caps.Slots(1)
    await slots.acquire()
    waiting = asyncio.create_task(slots.acquire())
    behind = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    slots.release()
    await asyncio.wait_for(behind, 1)  # the slot went past the cancelled waiter
    slots.release()
    await asyncio.wait_for(slots.acquire(), 1)


async def test_a_waiter_cancelled_as_it_is_handed_a_slot_passes_it_on() -> None:
    slots = caps.Slots(1)
    await slots.acquire()
    waiting = asyncio.create_task(slots.acquire())
    behind = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # handed to `waiting`, which has not run yet
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await asyncio.wait_for(behind, 1)


async def test_take_holds_a_free_slot_at_once_but_never_one_a_waiter_is_owed() -> None:
    slots = caps.Slots(1)
    assert slots.take()
    assert not slots.take()  # full
    waiting = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # handed to `waiting`
    assert not slots.take()
    await asyncio.wait_for(waiting, 1)
    slots.release()
    assert slots.take()


async def test_a_destination_slot_taken_at_once_counts_in_flight_like_one_waited_for() -> None:
    limiter = caps.EndpointLimiter(1)
    assert limiter.take("http://a:80")
    assert limiter.in_flight("http://a:80") == 1
    assert not limiter.take("http://a:80")  # its cap is held; another destination's is its own
    assert limiter.take("http://b:80")
    waiting = asyncio.create_task(limiter.acquire("http://a:80"))
    await asyncio.sleep(0)
    assert limiter.in_flight("http://a:80") == 2  # holding or waiting
    limiter.release("http://a:80")
    await asyncio.wait_for(waiting, 1)
    limiter.release("http://a:80")
    limiter.release("http://b:80")
    assert limiter.in_flight("http://a:80") == limiter.in_flight("http://b:80") == 0
