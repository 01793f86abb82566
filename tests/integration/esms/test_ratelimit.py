"""The rate limiter on real storage: memory, Redis, and a Redis that is down."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis.asyncio

from dlrhub.adapters import ratelimit


async def _redis_up() -> bool:
    client = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        await client.ping()
    except OSError:
        return False
    finally:
        await client.aclose()
    return True


async def _start_of_second() -> None:
    """Start just after a wall-clock second turns, so a quick burst stays inside one window however the
    storage aligns its windows (limits starts them at the first hit)."""
    await asyncio.sleep(1.01 - time.time() % 1)


@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_limit_then_wait(backend):
    if backend == "redis" and not await _redis_up():
        pytest.skip("Redis at 127.0.0.1:6379 is unreachable")
    limiter = (
        ratelimit.Limiter.memory()
        if backend == "memory"
        else ratelimit.Limiter.redis("redis://127.0.0.1:6379/15")
    )
    key = uuid.uuid4().hex
    try:
        await _start_of_second()
        results = [await limiter.hit("test", key, 5) for _ in range(20)]
        assert results[:5] == [None] * 5
        assert results[5:] == [1] * 15
        assert await limiter.hit("test", uuid.uuid4().hex, 5) is None  # another key has its own count
    finally:
        await limiter.close()


async def test_shared_between_limiters_on_one_redis():
    if not await _redis_up():
        pytest.skip("Redis at 127.0.0.1:6379 is unreachable")
    one = ratelimit.Limiter.redis("redis://127.0.0.1:6379/15")
    two = ratelimit.Limiter.redis("redis://127.0.0.1:6379/15")
    key = uuid.uuid4().hex
    try:
        await _start_of_second()
        results = [await (one if i % 2 else two).hit("test", key, 5) for i in range(8)]
        # Separate counts would let all 8 through (4 per node); the shared count lets exactly 5.
        assert results.count(None) == 5
    finally:
        await one.close()
        await two.close()


async def test_redis_down_lets_requests_through():
    limiter = ratelimit.Limiter.redis("redis://127.0.0.1:1/0")
    try:
        assert [await limiter.hit("test", "k", 1) for _ in range(3)] == [None, None, None]
    finally:
        await limiter.close()
