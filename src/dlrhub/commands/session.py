"""What every command starts with: the settings (warning about unknown `DLRHUB_*` variables), and a hub on a
store that exists and is migrated (else one line and exit status 2)."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import AsyncIterator

import typer
from rich.console import Console

from dlrhub import settings
from dlrhub.core import errors
from dlrhub.services import hub as hub_
from dlrhub.store import outage


def config_error(console: Console, exc: errors.DlrhubError) -> typer.Exit:
    """Say on `console`, in one line, why the command cannot run as configured; the exit (status 2) to raise."""
    console.print(f"[red]configuration error:[/red] {exc}")
    return typer.Exit(2)


async def reach(hub: hub_.Hub, console: Console) -> None:
    """Return once the hub's database answers; else say why and exit with status 2 (closing the store)."""
    try:
        await outage.reach(hub.store)
    except errors.StoreUnavailable as exc:
        await hub.close()
        raise config_error(console, exc) from None


async def require_schema(hub: hub_.Hub, console: Console) -> None:
    """Return when the hub's schema is exactly the code's; else say why (`run dlrhub migrate`, or a newer
    schema) and exit with status 2, closing the store."""
    try:
        problem = (await hub.store.schema_state()).problem()
    except errors.StoreUnavailable as exc:
        problem = str(exc)
    if problem is not None:
        await hub.close()
        raise config_error(console, errors.ConfigError(problem))


async def open_ready(config: settings.Settings, console: Console) -> hub_.Hub:
    """A hub on a store that exists, answers and is migrated; else one line and exit status 2.

    A missing SQLite file is not created (only `dlrhub migrate` and `dlrhub serve` create one).
    """
    hub = hub_.Hub.open(config, create=False)
    await reach(hub, console)
    await require_schema(hub, console)
    return hub


#: Warnings go to stderr, so a command's `--json` output on stdout stays machine-readable.
_warnings = Console(stderr=True, soft_wrap=True)


def actor() -> str:
    """Who the audit log names for a CLI command: `cli:<login name>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name: a container without a passwd entry
        return "cli:unknown"


def load_settings(console: Console) -> settings.Settings:
    """The settings; on a malformed one, say why on `console` and exit with status 2.

    Each `DLRHUB_*` environment variable that names no setting gets a warning line on stderr.
    """
    for line in settings.unknown_variables():
        _warnings.print(f"[yellow]warning:[/yellow] {line}")
    try:
        return settings.load()
    except errors.ConfigError as exc:
        raise config_error(console, exc) from exc


@contextlib.asynccontextmanager
async def migrated_hub(config: settings.Settings, console: Console) -> AsyncIterator[hub_.Hub]:
    """A hub on a store that exists and is migrated (see `open_ready`: it does not migrate), closed on leaving.

    A `errors.DlrhubError` raised inside is printed on `console` and ends the command with exit status 1; a
    database lost on the way ends it with exit status 2, like one that cannot be reached at the start.
    """
    hub = await open_ready(config, console)
    try:
        yield hub
    except errors.StoreUnavailable as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except errors.DlrhubError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        await hub.close()
