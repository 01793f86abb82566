"""Numbered SQL migrations, one folder per backend."""

from __future__ import annotations

import re
from importlib import resources

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def load(backend: str) -> list[tuple[str, str]]:
    """`(name, sql)` of every migration of `backend` ("sqlite" or "postgres"), in number order."""
    folder = resources.files(__package__).joinpath(backend)
    names = sorted(p.name for p in folder.iterdir() if _NAME.match(p.name))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text(encoding="utf-8")) for name in names]
