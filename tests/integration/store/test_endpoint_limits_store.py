"""Rate limits per destination host on each backend: set, replace, read, list, delete."""

from __future__ import annotations

import datetime as dt

from dlrhub.core import control

T0 = dt.datetime(2026, 5, 1, 10, 0, tzinfo=dt.UTC)


async def test_set_replace_list_and_delete(db) -> None:
    assert await db.list_endpoint_limits() == []
    assert await db.get_endpoint_limit("https://gw.example:443") is None
    first = control.EndpointLimit("https://gw.example:443", 5.0, 1, "operator", T0)
    other = control.EndpointLimit("http://a.example:80", 0.5, 2, "account:acc_1", T0)
    await db.put_endpoint_limit(first)
    await db.put_endpoint_limit(other)
    assert await db.get_endpoint_limit("https://gw.example:443") == first
    changed = control.EndpointLimit("https://gw.example:443", 12.5, 20, "ops", T0 + dt.timedelta(seconds=1))
    await db.put_endpoint_limit(changed)
    assert await db.list_endpoint_limits() == [other, changed]
    assert await db.delete_endpoint_limit("https://gw.example:443") is True
    assert await db.delete_endpoint_limit("https://gw.example:443") is False
    assert await db.list_endpoint_limits() == [other]
