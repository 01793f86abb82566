"""House style: every module of the package stays within 400 lines (STYLE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

import dlrhub

PACKAGE = Path(dlrhub.__file__).parent
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_module_is_at_most_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400
