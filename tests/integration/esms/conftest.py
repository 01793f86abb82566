"""Constants of the eSMS integration tests (the `customer` fixture is the layer's, in tests/integration/conftest.py)."""

from __future__ import annotations

SEND = "/MainService.svc/json/"
