"""Constants and helpers of the eSMS integration tests (the `customer` fixture is the layer's, in
tests/integration/conftest.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio

SEND = "/MainService.svc/json/"
#: The most requests a rate-limit test makes to reach a limit of 1 a second. Windows open at a key's first hit and
#: last a second, so a 429 comes unless every request takes a second, however loaded the machine; and fewer than
#: the smallest default limit (GetCallback's 20), so only the setting under test can answer 429 within them.
TRIES = 19


async def limit_config(backend: str, **config: Any) -> dict[str, Any]:
    """Settings `config`, with the rate limits counted in Redis (its db 15) when `backend` is "redis", else in
    memory; skips the test when that Redis is unreachable."""
    if backend == "redis":
        client = redis.asyncio.Redis.from_url("redis://127.0.0.1:6379/0")
        try:
            await client.ping()
        except OSError:
            pytest.skip("Redis at 127.0.0.1:6379 is unreachable")
        finally:
            await client.aclose()
        config["redis_url"] = "redis://127.0.0.1:6379/15"
    return config


async def until_limited(call: Callable[[], Awaitable[httpx.Response]]) -> list[httpx.Response]:
    """The answers to `call` made again and again, up to the first 429 and at most TRIES times."""
    answers = [await call()]
    while answers[-1].status_code != 429 and len(answers) < TRIES:
        answers.append(await call())
    return answers
