"""Fixtures of the integration layer: a customer of an in-process dlrhub on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dlrhub import store
from tests import customers


@pytest.fixture
def customer_account() -> dict[str, Any]:
    """The `accounts.create` keyword arguments of `customer` (a folder's conftest overrides it)."""
    return {}


@pytest.fixture
async def customer(db: store.Store, customer_account: dict[str, Any]) -> AsyncIterator[customers.Customer]:
    """One customer of an in-process dlrhub, talking to it over in-process HTTP."""
    made = await customers.in_process(db, **customer_account)
    try:
        yield made
    finally:
        await made.aclose()
