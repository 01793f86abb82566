"""dlrhub's log lines: one format (text or JSON) for dlrhub and uvicorn alike, the request id, repeats limited.

`configure` installs one handler on the root logger; uvicorn's loggers propagate to it (the server is started
with `log_config=None`), so every line of a process has the same shape. A line carries the id of the HTTP
request being handled (`REQUEST_ID`, set by `api.request_ids`), and `Limiter` lets through at most one line per
(logger, level, message template) every 10 s, counting the others. Lines that name something that happened to
one thing (a callback given up, an endpoint paused) pass `extra={"event": ...}` and are never limited, nor are
lines about one HTTP request.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

import orjson

#: The id of the HTTP request this code is handling ("" outside one): `api.request_ids` sets it per request.
REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("dlrhub_request_id", default="")
#: The `log_format` setting's words: `auto` is text on a terminal, JSON otherwise.
FORMATS = ("auto", "json", "text")
#: uvicorn's loggers: made to propagate to the root handler instead of printing in their own format.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
#: Attributes every LogRecord has, and the ones dlrhub or uvicorn add for formatting: anything else came in
#: `extra` and becomes a field of the JSON line.
_NOT_EXTRA = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "suppressed",
    "color_message",  # uvicorn's coloured copy of the message
}


class Stamp(logging.Filter):
    """Stamps each record with the current `REQUEST_ID` (as `request_id`), where it was logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


class Limiter(logging.Filter):
    """Lets through the first record of each (logger, level, message template) in every `every_s` seconds and
    drops the rest; the next one let through carries `suppressed`, how many were dropped before it.

    DEBUG records, records with an `event` attribute and records written while handling an HTTP request (with a
    `request_id`, which `Stamp` sets before this filter runs: each is about its own request, and the answer's
    `X-Request-ID` must find it) always pass. Thread-safe; remembers at most `max_keys` templates (forgetting
    the quiet ones first).
    """

    def __init__(
        self, every_s: float = 10.0, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 4096
    ) -> None:
        super().__init__()
        self.every_s = every_s
        self.clock = clock
        self.max_keys = max_keys
        self._seen: dict[tuple[str, int, str], list[float | int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno < logging.INFO
            or getattr(record, "event", None)
            or getattr(record, "request_id", "")
        ):
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.every_s:
                seen[1] += 1
                return False
            if seen is not None and seen[1]:
                record.suppressed = int(seen[1])
            self._seen[key] = [now, 0]
            if len(self._seen) > self.max_keys:
                self._forget(now)
        return True

    def _forget(self, now: float) -> None:
        quiet = [k for k, (at, _) in self._seen.items() if now - at >= self.every_s]
        for k in quiet or list(self._seen)[: len(self._seen) // 2]:
            del self._seen[k]


class TextFormatter(logging.Formatter):
    """`time LEVEL logger message`, then `request_id=…` inside a request and the count of lines suppressed."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        rid, suppressed = getattr(record, "request_id", ""), getattr(record, "suppressed", 0)
        if rid:
            line += f" request_id={rid}"
        if suppressed:
            line += f" ({suppressed} more like it suppressed)"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `time` (UTC, ISO 8601), `level`, `logger`, `message`, then `request_id` inside a
    request, `suppressed` after dropped repeats, the record's `extra` fields, and `exception` (the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid, suppressed = getattr(record, "request_id", ""), getattr(record, "suppressed", 0)
        if rid:
            line["request_id"] = rid
        if suppressed:
            line["suppressed"] = suppressed
        for name, value in vars(record).items():
            if name not in _NOT_EXTRA and not name.startswith("_") and name not in line:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `configure` installs (a class of its own, so configuring again replaces only it)."""


def resolve(log_format: str, stream: TextIO) -> str:
    """`json` or `text`: `log_format` itself, or for `auto`, text when `stream` is a terminal."""
    chosen = log_format.strip().lower()
    if chosen == "auto":
        isatty = getattr(stream, "isatty", None)
        return "text" if isatty is not None and isatty() else "json"
    return chosen


def configure(level: str, log_format: str = "auto", stream: TextIO | None = None) -> Handler:
    """Send every log line of the process, uvicorn's included, to `stream` (stderr) in `log_format` at `level`.

    Replaces a handler an earlier call installed and leaves other handlers alone (a test's capture). Returns the
    handler.
    """
    out = sys.stderr if stream is None else stream
    handler = Handler(out)
    handler.setFormatter(JsonFormatter() if resolve(log_format, out) == "json" else TextFormatter())
    handler.addFilter(Stamp())
    handler.addFilter(Limiter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # the root's level, until a uvicorn server sets its own
    return handler
