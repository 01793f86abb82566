"""The wire dialects: each parses its front door's requests and renders its callbacks."""

from __future__ import annotations
