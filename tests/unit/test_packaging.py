"""The install: runtime imports are runtime dependencies, one version, `--version`, LICENSE, CHANGELOG, and the
Makefile's choice of Python."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

import dlrhub
from dlrhub import cli

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
#: Libraries the package imports that arrive with a runtime dependency rather than being named by one: each
#: is checked to be among its provider's own requirements.
PROVIDED_BY = {"starlette": "fastapi", "uvloop": "uvicorn", "yarl": "aiohttp"}
#: Libraries imported only lazily, behind a setting, and the optional extra that installs them
#: (tests/unit/test_tracing.py checks that the package works without them).
OPTIONAL = {"opentelemetry": "otel"}


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_top_levels() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "src" / "dlrhub").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name != "dlrhub"}


def test_every_library_the_package_imports_comes_with_a_runtime_install():
    runtime = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for module in sorted(_imported_top_levels()):
        dists = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if dists & runtime:
            continue
        extra = OPTIONAL.get(module)
        if extra is not None and dists & {
            _name(r) for r in PYPROJECT["project"]["optional-dependencies"][extra]
        }:
            continue
        provider = PROVIDED_BY.get(module)
        if provider in runtime:
            needs = {_name(r) for r in importlib.metadata.requires(provider) or []}
            if dists & needs:
                continue
        missing.append(module)
    assert not missing, (
        f"imported by src/dlrhub but only installed with the dev extras, or not at all: {missing}"
    )


def test_version_prints_the_package_version():
    result = CliRunner().invoke(cli.app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"dlrhub {dlrhub.__version__}\n"


def test_the_version_lives_in_one_place():
    project = PYPROJECT["project"]
    assert "version" not in project
    assert "version" in project["dynamic"]
    source = ROOT / PYPROJECT["tool"]["hatch"]["version"]["path"]
    assert source == ROOT / "src" / "dlrhub" / "__init__.py"
    assert re.search(r'^__version__ = "([^"]+)"$', source.read_text(encoding="utf-8"), re.M)


def test_the_license_file_is_the_one_pyproject_names():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License\n                           Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_changelog_has_an_unreleased_section_above_the_current_version():
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert headings[0] == "Unreleased"
    assert dlrhub.__version__ in headings


def _stub(bin_dir: Path, name: str, version: tuple[int, int] | None) -> None:
    """A fake interpreter that answers the version probe as `version` would; None fails like a pyenv shim."""
    path = bin_dir / name
    if version is None:
        path.write_text("#!/bin/sh\necho 'pyenv: not selected' >&2\nexit 127\n")
    else:
        ok = version >= (3, 11)
        path.write_text(f"#!/bin/sh\nexit {0 if ok else 1}\n")
    path.chmod(0o755)


def _find_python(path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "find_python.sh")],
        env={"PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )


def _path(tmp_path: Path, stubs: dict[str, tuple[int, int] | None]) -> str:
    """A PATH holding only `stubs` and the `sort` the finder uses, so this machine's own Pythons stay out."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "tools").mkdir()
    for name, version in stubs.items():
        _stub(tmp_path / "bin", name, version)
    sort = subprocess.run(["sh", "-c", "command -v sort"], capture_output=True, text=True, check=True)
    (tmp_path / "tools" / "sort").symlink_to(sort.stdout.strip())
    return f"{tmp_path / 'bin'}:{tmp_path / 'tools'}"


@pytest.mark.parametrize(
    ("stubs", "picked"),
    [
        # The newest one that runs: a pyenv shim for a version not selected does not count.
        (
            {"python3.10": (3, 10), "python3.11": (3, 11), "python3.12": (3, 12), "python3.13": None},
            "python3.12",
        ),
        ({"python3.11": (3, 11), "python3.14": (3, 14), "python3.9": (3, 9)}, "python3.14"),
        # No python3.X new enough: python3 when it is.
        ({"python3.10": (3, 10), "python3": (3, 12)}, "python3"),
    ],
)
def test_the_makefile_picks_the_newest_python_that_runs(tmp_path, stubs, picked):
    result = _find_python(_path(tmp_path, stubs))
    assert (result.returncode, result.stdout.strip()) == (0, picked)


def test_no_python_new_enough_is_an_error(tmp_path):
    result = _find_python(_path(tmp_path, {"python3.10": (3, 10), "python3": (3, 10), "python3.12": None}))
    assert (result.returncode, result.stdout) == (1, "")


def test_the_makefile_takes_its_python_from_the_finder_unless_told():
    default = subprocess.run(
        ["make", "-n", "-s", "install", "VENV=/nonexistent/venv"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    found = _find_python(os.environ["PATH"]).stdout.strip()
    assert f"{found} -m venv /nonexistent/venv" in default.stdout
    told = subprocess.run(
        ["make", "-n", "-s", "install", "VENV=/nonexistent/venv", "PY=/opt/python9/bin/python9"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "/opt/python9/bin/python9 -m venv /nonexistent/venv" in told.stdout
