"""The callback engine: its configuration, the sender, the circuit breaker and the dispatcher loop."""

from __future__ import annotations
