"""Fixtures: the Zalo simulator over loopback HTTP, and a customer of an in-process dlrhub whose Zalo it is."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from dlrhub import store
from dlrhub.services import zalo_wiring
from tests import customers
from tests.integration.zalo.conftest import start_simulator

__all__ = ["start_simulator"]


@pytest.fixture
async def shop(
    db: store.Store, start_simulator: Callable[..., Any]
) -> AsyncIterator[tuple[customers.Customer, Any]]:
    """A customer of an in-process dlrhub that talks to a running simulator as its Zalo, and that simulator."""
    running = await start_simulator()
    url = running.url
    config = {"zalo_mode": "zalo", "zalo_api_url": url, "zalo_oauth_url": url}
    made = await customers.in_process(db, config)
    try:
        yield made, running
    finally:
        await made.aclose()
        await zalo_wiring.close(made.api)  # the app's Zalo client (an ASGI transport runs no lifespan)
