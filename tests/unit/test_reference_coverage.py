"""The reference pages cover the product: every HTTP route under `/v1` is in `docs/reference/http-api.md`, and
every CLI verb in `docs/reference/cli.md`."""

from __future__ import annotations

import functools
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


#: `dlrhub` and the words after it: a command line in the docs (prose such as "dlrhub keeps" names no verb);
#: the first group is what opens it (a backtick: code, where an unknown first word is a missing verb too).
COMMAND = re.compile(r"(?:^|([\s`(/]))dlrhub((?: +[a-z][a-z0-9-]*)+)([^`|\n#;&)]*)")


@functools.cache
def _root() -> typing.Any:
    return typer.main.get_command(cli.app)


def unknown_words(line: str, code: bool = False) -> list[str]:
    """What a doc line's `dlrhub …` commands name that the CLI lacks: a verb or sub-verb, or a `--flag` of the
    verb. A first word unknown is prose ("dlrhub keeps"), unless the line is `code` or the command in backticks."""
    root = _root()
    found: list[str] = []
    for m in COMMAND.finditer(line):
        command: typing.Any = root
        path: list[str] = []
        words = m.group(2).split()
        for word in words:
            subs = getattr(command, "commands", None)
            if not subs:
                break
            if word not in subs:
                command = None
                before = line[: m.start(2) - len("dlrhub")]
                at_start = before.strip() in ("", "$") or before.endswith(("/", "`"))
                if path or (code and at_start) or m.group(1) == "`":  # one unknown in prose names no verb
                    found.append(" ".join([*path, word]))
                break
            command, path = subs[word], [*path, word]
        if command is None or getattr(command, "commands", None):
            continue
        flags = {o for p in command.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}
        rest = " ".join(words[len(path) :]) + " " + m.group(3)
        found += [
            f"{' '.join(path)} {f}"
            for f in re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", rest)
            if f not in flags
        ]
    return found


def test_the_command_check_can_tell_a_missing_verb_or_flag() -> None:
    assert unknown_words("    dlrhub accounts create --name x --colour red") == ["accounts create --colour"]
    assert unknown_words("run `dlrhub keys rotate-all acc_1`") == ["keys rotate-all"]
    assert unknown_words("dlrhub keeps only its SHA-256; `dlrhub keys rotate-esms acc_1 --overlap 0`") == []
    assert unknown_words("then `dlrhub serv` starts it") == ["serv"]
    assert unknown_words("dlrhub migrat", code=True) == ["migrat"]
    assert unknown_words("createdb -O dlrhub dlrhub", code=True) == []


def test_a_command_continued_on_the_next_line_is_checked_whole() -> None:
    backslash = ["    dlrhub templates add 1 2 --name OTP \\", "        --colour red"]
    assert [w for _, line, code in commands(backslash) for w in unknown_words(line, code)] == [
        "templates add --colour"
    ]
    wrapped = ["A token (`dlrhub tokens create --kind customer", "--acount <id>`) opens the portal."]
    assert [w for _, line, code in commands(wrapped) for w in unknown_words(line, code)] == [
        "tokens create --acount"
    ]


def commands(lines: list[str]) -> list[tuple[int, str, bool]]:
    """`lines` as (first line number, text, whether it is code): a line ending in a backslash, or leaving a
    backtick open, is joined with the next; lines in a fenced or indented code block are code."""
    out: list[tuple[int, str, bool]] = []
    fenced = False
    held: tuple[int, str, bool] | None = None
    for n, line in enumerate(lines, 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        code = fenced or line.startswith("    ") or line.startswith("\t")
        if code:
            line = line.partition(" #")[0]  # a shell comment is prose
        if held is not None:
            n, line, code = held[0], held[1] + " " + line.strip(), held[2]
        open_tick = not fenced and line.count("`") % 2 == 1
        if line.rstrip().endswith("\\") or open_tick:
            held = (n, line.rstrip().removesuffix("\\"), code)
            continue
        held = None
        out.append((n, line, code))
    if held is not None:
        out.append(held)
    return out


@pytest.mark.parametrize(
    "doc",
    sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "deploy").rglob("*.service")]),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_every_dlrhub_command_in_the_docs_exists_with_its_flags(doc: Path) -> None:
    bad = [
        f"{n}: {word}"
        for n, line, code in commands(doc.read_text(encoding="utf-8").splitlines())
        for word in unknown_words(line, code)
    ]
    assert not bad, bad
