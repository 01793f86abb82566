"""Per-key request rate limits on the `limits` library: counters in memory, or in Redis shared across nodes."""

from __future__ import annotations

import logging
import math
import time

import limits
import limits.aio.storage
import limits.aio.strategies
import limits.errors
import redis.asyncio

log = logging.getLogger(__name__)


class Limiter:
    """Fixed one-second windows per (scope, key). Open with `Limiter.memory()` or `Limiter.redis(url)`; close
    with `close()`. When Redis fails, requests are let through (and logged): a rate limit must not take the API
    down with it."""

    def __init__(
        self, storage: limits.aio.storage.Storage, pool: redis.asyncio.ConnectionPool | None = None
    ) -> None:
        self._strategy = limits.aio.strategies.FixedWindowRateLimiter(storage)
        self._pool = pool
        self._items: dict[int, limits.RateLimitItem] = {}

    @classmethod
    def memory(cls) -> Limiter:
        """Counters in this process only."""
        return cls(limits.aio.storage.MemoryStorage())

    @classmethod
    def redis(cls, url: str) -> Limiter:
        """Counters in the Redis at `url` (`redis://host:port/db`), shared by every node using it."""
        pool = redis.asyncio.ConnectionPool.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        storage = limits.aio.storage.RedisStorage(
            "async+" + url,
            implementation="redispy",
            wrap_exceptions=True,
            connection_pool=pool,  # type: ignore[arg-type]  # passed through to redis-py
        )
        return cls(storage, pool)

    @classmethod
    def from_settings(cls, redis_url: str) -> Limiter:
        """Redis when `redis_url` is set (`DLRHUB_REDIS_URL`), else memory."""
        return cls.redis(redis_url) if redis_url else cls.memory()

    def _item(self, per_second: int) -> limits.RateLimitItem:
        item = self._items.get(per_second)
        if item is None:
            item = self._items[per_second] = limits.RateLimitItemPerSecond(per_second)
        return item

    async def hit(self, scope: str, key: str, per_second: int) -> int | None:
        """Count one request of `key` under `scope`. None when it is within `per_second`; otherwise the whole
        seconds to wait (for `Retry-After`), at least 1."""
        item = self._item(max(1, per_second))
        try:
            if await self._strategy.hit(item, scope, key):
                return None
            stats = await self._strategy.get_window_stats(item, scope, key)
        except limits.errors.StorageError as exc:
            log.warning("rate-limit storage failed, letting the request through: %s", exc.storage_error)
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def close(self) -> None:
        """Release the Redis connections, if any."""
        if self._pool is not None:
            await self._pool.aclose()
