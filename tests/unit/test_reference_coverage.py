"""The reference pages cover the product: every HTTP route under `/v1` is in `docs/reference/http-api.md`, and
every CLI verb in `docs/reference/cli.md`."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
import typer.main

from dlrhub import cli, settings
from dlrhub.api import app as app_
from dlrhub.services import hub as hub_

ROOT = Path(__file__).resolve().parents[2]
HTTP_API = (ROOT / "docs" / "reference" / "http-api.md").read_text(encoding="utf-8")
CLI = (ROOT / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")


def _shape(path: str) -> str:
    """A path with its parameters' names dropped: `/v1/admin/accounts/{id}` and `{account_id}` are one route."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def routes() -> list[str]:
    hub = hub_.Hub.open(settings.Settings(database_url="sqlite:///:memory:"))
    paths = app_.create_app(hub).openapi()["paths"]
    return sorted(
        f"{method.upper()} {_shape(path)}"
        for path, ops in paths.items()
        if path.startswith("/v1/")
        for method in ops
    )


def verbs() -> list[str]:
    found: list[str] = []

    def walk(command: typing.Any, prefix: str) -> None:
        subs: dict[str, typing.Any] | None = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, f"{prefix} {name}")
        else:
            found.append(prefix)

    walk(typer.main.get_command(cli.app), "dlrhub")
    return sorted(found)


@pytest.mark.parametrize("route", routes())
def test_every_route_is_documented(route: str) -> None:
    documented = {
        _shape(m.group(1)) for m in re.finditer(r"`((?:GET|POST|PUT|PATCH|DELETE) /v1/[^`\s]*)", HTTP_API)
    }
    assert route in documented, f"{route} is not in docs/reference/http-api.md"


@pytest.mark.parametrize("verb", verbs())
def test_every_cli_verb_is_documented(verb: str) -> None:
    assert f"`{verb}" in CLI, f"{verb} is not in docs/reference/cli.md"
