"""`dlrhub --help` and each group's help read as prose: a command's summary flows as one paragraph however its
docstring was wrapped in the source, and no `<placeholder>` is swallowed by the markdown that renders it."""

from __future__ import annotations

import typing

import typer.main
from typer.testing import CliRunner

from dlrhub import cli

WIDE = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}


def helped(*args: str) -> str:
    answer = CliRunner().invoke(cli.app, [*args, "--help"], env=WIDE)
    assert answer.exit_code == 0, answer.output
    return answer.output


def test_a_summary_wrapped_in_its_docstring_flows_on_one_line() -> None:
    text = helped()
    # The docstring breaks after "the built-in": rich markup kept that break, in the middle of the table cell.
    assert "(the built-in simulator unless DLRHUB_ZALO_MODE says otherwise)" in text, text
    assert "Refuses to start (exit 2) on a store that does not exist or is not migrated" in text, text


def test_every_group_renders_its_help_as_markdown() -> None:
    def groups(command: typing.Any, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        subs = getattr(command, "commands", None) or {}
        return [path] * bool(subs) + [p for name, sub in subs.items() for p in groups(sub, (*path, name))]

    for path in groups(typer.main.get_command(cli.app), ()):
        assert "`" not in helped(*path), path  # backticks rendered, not shown raw


def test_placeholders_survive() -> None:
    assert "tpl:TEMPLATE_ID" in helped("accounts", "update")
    assert "cli:LOGIN" in helped("audit", "list")
