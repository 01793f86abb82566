"""What every one-shot command starts with: the settings, and a hub on a migrated store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import typer
from rich.console import Console

from dlrhub import settings
from dlrhub.core import errors
from dlrhub.services import hub as hub_


def load_settings(console: Console) -> settings.Settings:
    """The settings; on a malformed one, say why on `console` and exit with status 2."""
    try:
        return settings.load()
    except errors.ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


@contextlib.asynccontextmanager
async def migrated_hub(config: settings.Settings, console: Console) -> AsyncIterator[hub_.Hub]:
    """A hub on a migrated store, closed on leaving.

    A `errors.DlrhubError` raised inside is printed on `console` and ends the command with exit status 1.
    """
    hub = hub_.Hub.open(config)
    try:
        await hub.store.migrate()
        yield hub
    except errors.DlrhubError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from exc
    finally:
        await hub.close()
