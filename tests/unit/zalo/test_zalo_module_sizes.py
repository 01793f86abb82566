"""House style: every module of the Zalo channel stays within about 400 lines (STYLE.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlrhub.channels import zalo

MODULES = sorted(Path(zalo.__file__).parent.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[p.name for p in MODULES])
def test_module_is_at_most_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400
