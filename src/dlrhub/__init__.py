"""dlrhub: a self-hosted delivery-report service for Zalo ZNS, SMS and Viber platforms."""

from __future__ import annotations

__version__ = "0.1.0"
