"""The sender's pool cap (`sender.Slots`): at most `limit` held, waiters served first come first served, and a
cancelled waiter never keeps nor loses a slot."""

from __future__ import annotations

import asyncio

from dlrhub.adapters import sender


async def _holder(slots: sender.Slots, name: str, order: list[str], go: asyncio.Event) -> None:
    await slots.acquire()
    order.append(name)
    try:
        await go.wait()
    finally:
        slots.release()


async def test_at_most_limit_are_held_and_waiters_go_in_order() -> None:
    slots, go = sender.Slots(2), asyncio.Event()
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
    slots = sender.Slots(1)
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
    slots = sender.Slots(1)
    await slots.acquire()
    waiting = asyncio.create_task(slots.acquire())
    behind = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # handed to `waiting`, which has not run yet
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await asyncio.wait_for(behind, 1)
