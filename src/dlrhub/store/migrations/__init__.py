"""Numbered SQL migrations, one folder per backend, and the Python preludes of those SQL cannot finish alone."""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from typing import Any

from dlrhub.core import urls

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

#: The temporary table a prelude fills with `(old, new)` pairs; its migration's SQL reads it, then drops it.
CREATE_MAP = "CREATE TEMP TABLE migration_map (old text PRIMARY KEY, new text NOT NULL)"


@dataclasses.dataclass(frozen=True, slots=True)
class Prelude:
    """Python run in a migration's transaction before its SQL, for a mapping SQL cannot compute.

    The backend runs `query`, creates the table of CREATE_MAP and fills it with what `compute` makes of the rows.
    """

    query: str
    compute: Callable[[Sequence[Sequence[Any]]], list[tuple[str, str]]]


@dataclasses.dataclass(frozen=True, slots=True)
class SchemaState:
    """How a database's applied migrations compare with the code's: the ones still to apply, and the ones the
    code does not know (the database was migrated by a newer dlrhub)."""

    pending: tuple[str, ...]
    unknown: tuple[str, ...]

    @property
    def current(self) -> bool:
        """Whether the schema is exactly the one this code expects."""
        return not self.pending and not self.unknown

    def problem(self) -> str | None:
        """One line saying what is wrong with the schema, or None when it is current."""
        if self.unknown:
            return (
                f"the database schema is newer than this dlrhub (unknown migrations: {', '.join(self.unknown)}):"
                " run the dlrhub release that migrated it"
            )
        if self.pending:
            return (
                f"the database schema is not migrated ({len(self.pending)} of the migrations pending,"
                f" first {self.pending[0]}): run `dlrhub migrate`"
            )
        return None


def state(backend: str, applied: Iterable[str]) -> SchemaState:
    """Compare the migration names applied to a `backend` database with the code's migrations."""
    known = _names(backend)
    done = set(applied)
    return SchemaState(
        pending=tuple(name for name in known if name not in done),
        unknown=tuple(sorted(done - set(known))),
    )


@functools.cache
def _names(backend: str) -> tuple[str, ...]:
    # Read once per process: /readyz asks on every probe, and the files do not change under a running process.
    return tuple(name for name, _ in load(backend))


def load(backend: str) -> list[tuple[str, str]]:
    """`(name, sql)` of every migration of `backend` ("sqlite" or "postgres"), in number order."""
    folder = resources.files(__package__).joinpath(backend)
    names = sorted(p.name for p in folder.iterdir() if _NAME.match(p.name))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text(encoding="utf-8")) for name in names]


OLD_ENDPOINT_KEYS = "SELECT endpoint FROM callbacks UNION SELECT endpoint FROM endpoints"


def _endpoint_keys(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str]]:
    """`(old, new)` for every stored endpoint key that `urls.endpoint_key` now writes differently."""
    pairs = []
    for (old,) in rows:
        new = urls.endpoint_key(_old_key_url(old))
        if new != old:
            pairs.append((old, new))
    return pairs


def _old_key_url(key: str) -> str:
    """A URL for a key written before 0002: `scheme://host:port`, an IPv6 host without its brackets."""
    scheme, sep, rest = key.partition("://")
    host, colon, port = rest.rpartition(":")
    if not sep or not colon or not port.isdigit():
        return key
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}"


#: The URLs whose callbacks 0021 gives a health key: pending ones, and those whose last attempt failed at a host
#: judged unhealthy (their keys take its state). Finished callbacks of healthy hosts keep '' (see `urls.health_key`).
HEALTH_URLS = (
    "SELECT DISTINCT url FROM callbacks WHERE state = 'pending' OR (last_outcome <> 'ok'"
    " AND endpoint IN (SELECT endpoint FROM endpoints WHERE state <> 'healthy'))"
)


def _health_targets(rows: Sequence[Sequence[Any]]) -> list[tuple[str, str]]:
    """`(url, urls.health_target(url))` for every URL."""
    return [(url, urls.health_target(url)) for (url,) in rows]


#: Migration name -> the prelude it needs.
PRELUDES = {
    "0002_endpoint_keys": Prelude(OLD_ENDPOINT_KEYS, _endpoint_keys),
    "0021_endpoint_health_keys": Prelude(HEALTH_URLS, _health_targets),
}
