"""Capture a process's log lines as `dlrhub` writes them: `adapters.logs.configure` on a buffer, then undone."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from dlrhub.adapters import logs


class Lines:
    """The lines written to the buffer so far."""

    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def json(self) -> list[dict[str, Any]]:
        """Each line parsed as JSON (it fails when one is not)."""
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def events(self, event: str) -> list[dict[str, Any]]:
        """The JSON lines whose `event` is `event`."""
        return [line for line in self.json() if line.get("event") == event]


@contextlib.contextmanager
def captured(level: str = "debug", log_format: str = "json") -> Iterator[Lines]:
    """Every log line of the process, configured as the CLI does, into a buffer; the root logger is restored."""
    root = logging.getLogger()
    saved_level = root.level
    saved = {
        name: (
            logging.getLogger(name).handlers[:],
            logging.getLogger(name).propagate,
            logging.getLogger(name).level,
        )
        for name in logs.UVICORN_LOGGERS
    }
    buffer = io.StringIO()
    handler = logs.configure(level, log_format, buffer)
    try:
        yield Lines(buffer)
    finally:
        root.removeHandler(handler)
        root.setLevel(saved_level)
        for name, (handlers, propagate, was) in saved.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate
            logging.getLogger(name).setLevel(was)
