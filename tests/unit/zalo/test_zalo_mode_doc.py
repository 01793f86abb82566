"""`zalo_mode`: what `auto` resolves to, and the settings comment and example file saying the same thing."""

from __future__ import annotations

import inspect
from pathlib import Path

from dlrhub import settings
from dlrhub.services import zalo_wiring as wiring

EXAMPLE = Path(__file__).parents[3] / "dlrhub.example.toml"


def comment_above(lines: list[str], marker: str, prefix: str) -> str:
    """The comment lines (starting with `prefix`) directly above the line that starts with `marker`."""
    at = next(i for i, line in enumerate(lines) if line.strip().startswith(marker))
    found: list[str] = []
    for line in reversed(lines[:at]):
        if not line.strip().startswith(prefix):
            break
        found.insert(0, line.strip().removeprefix(prefix).strip())
    return " ".join(found)


def test_auto_means_the_simulator_unless_the_api_url_changed() -> None:
    assert wiring.uses_simulator(settings.Settings(zalo_mode="auto"))
    assert not wiring.uses_simulator(settings.Settings(zalo_mode="auto", zalo_api_url="https://zalo.example"))
    assert wiring.uses_simulator(
        settings.Settings(zalo_mode="simulator", zalo_api_url="https://zalo.example")
    )
    assert not wiring.uses_simulator(settings.Settings(zalo_mode="zalo"))


def test_the_comments_say_what_auto_does() -> None:
    source = inspect.getsource(settings).splitlines()
    in_settings = comment_above(source, "zalo_mode:", "#:")
    in_example = comment_above(EXAMPLE.read_text(encoding="utf-8").splitlines(), "zalo_mode =", "#")
    for comment in (in_settings, in_example.replace("env: DLRHUB_ZALO_MODE", "")):
        assert "`zalo_api_url`" in comment, comment
        assert "credentials" not in comment, comment
