"""The SSRF guard at connect time: a resolver (aiohttp's interface) that keeps only the addresses `core.urls` admits."""

from __future__ import annotations

import socket

import aiohttp.abc

from dlrhub.core import errors, urls


class GuardedResolver(aiohttp.abc.AbstractResolver):
    """Resolves through `inner`, then keeps only the addresses the guard admits: the sender connects to those.

    Raises errors.BlockedURL when every address is refused (the sender's pool passes it through unchanged).
    """

    def __init__(
        self, allow: urls.Allowlist = urls.NOTHING, inner: aiohttp.abc.AbstractResolver | None = None
    ) -> None:
        self._allow = allow
        self._inner = inner if inner is not None else aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[aiohttp.abc.ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        kept: list[aiohttp.abc.ResolveResult] = []
        last: errors.BlockedURL | None = None
        for result in results:
            try:
                urls.check_address(result["host"], self._allow, host)
            except errors.BlockedURL as exc:
                last = exc
                continue
            kept.append(result)
        if not kept:
            raise last or errors.BlockedURL("name resolved to no address")
        return kept

    async def close(self) -> None:
        await self._inner.close()
