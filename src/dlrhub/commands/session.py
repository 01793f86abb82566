"""What every one-shot command starts with: the settings, and a hub on a migrated store."""

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


def actor() -> str:
    """Who the audit log names for a CLI command: `cli:<login name>`."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name: a container without a passwd entry
        return "cli:unknown"


def load_settings(console: Console) -> settings.Settings:
    """The settings; on a malformed one, say why on `console` and exit with status 2."""
    try:
        return settings.load()
    except errors.ConfigError as exc:
        raise config_error(console, exc) from exc


@contextlib.asynccontextmanager
async def migrated_hub(config: settings.Settings, console: Console) -> AsyncIterator[hub_.Hub]:
    """A hub on a migrated store, closed on leaving.

    A `errors.DlrhubError` raised inside is printed on `console` and ends the command with exit status 1; a
    database lost on the way ends it with exit status 2, like one that cannot be reached at the start.
    """
    hub = hub_.Hub.open(config)
    await reach(hub, console)
    try:
        await hub.store.migrate()
        yield hub
    except errors.StoreUnavailable as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except errors.DlrhubError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        await hub.close()
