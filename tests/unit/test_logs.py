"""Log lines: the JSON and text shapes, the request id, uvicorn's lines in the same shape, repeats limited."""

from __future__ import annotations

import io
import json
import logging
import sys

import pytest

from dlrhub import settings
from dlrhub.adapters import logs
from dlrhub.core import errors
from tests import log_lines


def record(
    msg: str = "hello %s", *args: object, level: int = logging.INFO, name: str = "dlrhub.x", **extra: object
):
    made = logging.LogRecord(name, level, __file__, 1, msg, args or ("world",), None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_json_lines_carry_the_fields_the_request_id_and_the_extras() -> None:
    line = json.loads(
        logs.JsonFormatter().format(record(request_id="r-1", event="callback.gave_up", attempts=3))
    )
    assert line["level"] == "info"
    assert line["logger"] == "dlrhub.x"
    assert line["message"] == "hello world"
    assert line["request_id"] == "r-1"
    assert (line["event"], line["attempts"]) == ("callback.gave_up", 3)
    assert line["time"].endswith("+00:00")
    assert "args" not in line and "msg" not in line and "color_message" not in line


def test_json_lines_hold_the_traceback() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.LogRecord("dlrhub", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(logs.JsonFormatter().format(made))
    assert "ValueError: boom" in line["exception"]


def test_text_lines_name_the_request_and_the_suppressed_count() -> None:
    text = logs.TextFormatter().format(record(request_id="r-2", suppressed=4))
    assert text.endswith("INFO dlrhub.x hello world request_id=r-2 (4 more like it suppressed)")
    assert "request_id" not in logs.TextFormatter().format(record(request_id=""))


def test_auto_is_text_on_a_terminal_and_json_otherwise() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.resolve("auto", Terminal()) == "text"
    assert logs.resolve("auto", io.StringIO()) == "json"
    assert logs.resolve("TEXT", io.StringIO()) == "text"


def test_repeats_pass_once_per_window_then_say_how_many_were_dropped() -> None:
    now = [0.0]
    limiter = logs.Limiter(10.0, clock=lambda: now[0])
    first = record()
    assert limiter.filter(first)
    assert not any(limiter.filter(record()) for _ in range(49))
    other = record("another template %s")
    assert limiter.filter(other), "another template has a window of its own"
    assert limiter.filter(record(level=logging.DEBUG)), "debug lines are never limited"
    assert all(limiter.filter(record(event="endpoint.paused")) for _ in range(5)), (
        "event lines are never limited"
    )
    assert all(limiter.filter(record(request_id=f"r{i}")) for i in range(5)), "nor lines about one request"
    now[0] = 10.0
    later = record()
    assert limiter.filter(later)
    assert later.suppressed == 49
    assert not hasattr(first, "suppressed")


def test_the_limiter_forgets_quiet_templates_past_its_bound() -> None:
    now = [0.0]
    limiter = logs.Limiter(10.0, clock=lambda: now[0], max_keys=10)
    for i in range(10):
        limiter.filter(record(f"template {i} %s"))
    now[0] = 20.0
    limiter.filter(record("one more %s"))
    assert len(limiter._seen) == 1


def test_configure_sends_dlrhub_and_uvicorn_lines_through_one_handler_with_the_request_id() -> None:
    uvicorn = logging.getLogger("uvicorn.error")
    with log_lines.captured("info"):  # restores uvicorn's logger when done
        # As an earlier uvicorn server (or uvicorn's default config) may have left it.
        uvicorn.addHandler(logging.NullHandler())
        uvicorn.propagate = False
        uvicorn.setLevel(logging.WARNING)
        with log_lines.captured("info") as lines:
            token = logs.REQUEST_ID.set("req-7")
            try:
                uvicorn.info("Started server process [%d]", 1)
                logging.getLogger("dlrhub.test").warning("something %s", "odd", extra={"event": "x"})
            finally:
                logs.REQUEST_ID.reset(token)
            logging.getLogger("dlrhub.test").debug("not at info")
            found = lines.json()
    assert [(f["logger"], f["message"]) for f in found] == [
        ("uvicorn.error", "Started server process [1]"),
        ("dlrhub.test", "something odd"),
    ]
    assert {f["request_id"] for f in found} == {"req-7"}


def test_configuring_twice_keeps_one_handler() -> None:
    with log_lines.captured("info"), log_lines.captured("info") as lines:
        handlers = [h for h in logging.getLogger().handlers if isinstance(h, logs.Handler)]
        logging.getLogger("dlrhub.test").info("once")
    assert len(handlers) == 1
    assert len(lines.json()) == 1


def test_the_setting_takes_the_formats_and_refuses_others() -> None:
    assert settings.LOG_FORMATS == logs.FORMATS
    assert settings.load({"DLRHUB_LOG_FORMAT": "json"}).log_format == "json"
    with pytest.raises(errors.ConfigError, match="DLRHUB_LOG_FORMAT"):
        settings.load({"DLRHUB_LOG_FORMAT": "xml"})
