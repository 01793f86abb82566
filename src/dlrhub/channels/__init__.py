"""Upstream channels: the engines that actually deliver messages (Zalo ZNS, and its simulator)."""

from __future__ import annotations
