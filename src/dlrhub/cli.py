"""The `dlrhub` command: serve, api, worker, migrate, accounts, and the groups under `dlrhub.commands`."""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import sys
from typing import Annotated

import typer
from rich.console import Console

import dlrhub
from dlrhub import runtime, settings
from dlrhub.commands import (
    accounts as accounts_cmd,
)
from dlrhub.commands import (
    apps,
    audit,
    demo,
    keys,
    nxcloud,
    oas,
    receive,
    replay,
    session,
    templates,
    tokens,
)
from dlrhub.core import errors
from dlrhub.services import accounts
from dlrhub.services import hub as hub_
from dlrhub.services import tokens as tokens_

app = typer.Typer(help="dlrhub: delivery reports for Zalo ZNS, SMS and Viber.", no_args_is_help=True)
console = Console(soft_wrap=True)

app.add_typer(accounts_cmd.app, name="accounts")
app.add_typer(nxcloud.app, name="nxcloud")
app.add_typer(replay.app, name="replay")
app.add_typer(apps.app, name="apps")
app.add_typer(keys.app, name="keys")
app.add_typer(tokens.app, name="tokens")
app.add_typer(audit.app, name="audit")
app.add_typer(templates.app, name="templates")
app.add_typer(oas.app, name="oas")
app.command("demo")(demo.demo)
app.command("receive")(receive.receive)


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"dlrhub {dlrhub.__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print dlrhub's version and exit."
        ),
    ] = False,
) -> None:
    # Typer runs this before any command; its only option is eager and exits.
    pass


def _logging(config: settings.Settings) -> None:
    logging.basicConfig(
        level=config.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )


@app.command()
def serve() -> None:
    """Run everything in one process: the API, the callback dispatcher and the Zalo channel (the built-in
    simulator unless DLRHUB_ZALO_MODE says otherwise). Creates a demo account on first start and prints it."""
    config = session.load_settings(console)
    changes: dict[str, object] = {}
    if not config.admin_token:
        changes["admin_token"] = secrets.token_urlsafe(24)
    if config.demo_account and not config.callback_allow:
        changes["callback_allow"] = ("127.0.0.1", "::1")
    config = dataclasses.replace(config, **changes)  # type: ignore[arg-type]
    _logging(config)

    async def main() -> None:
        hub = hub_.Hub.open(config)
        await session.reach(hub, console)
        await hub.store.migrate()
        if "admin_token" in changes and await tokens_.has_live_admin(hub):
            # Named admin tokens took over: a bootstrap token made up for the run would only widen the door.
            del changes["admin_token"]
            hub.settings = dataclasses.replace(hub.settings, admin_token="")
            console.print("no bootstrap admin token: named admin tokens exist (dlrhub tokens list)")
        made = await accounts.ensure_demo(hub) if config.demo_account else None
        base = f"http://{config.host}:{config.port}"
        console.print(f"[bold]dlrhub[/bold] on {base}  (docs {base}/docs, store {config.database_url})")
        if "admin_token" in changes:
            console.print(
                f"admin token (this run only; set DLRHUB_ADMIN_TOKEN to fix it): {config.admin_token}"
            )
        if "callback_allow" in changes:
            console.print(
                "callbacks to 127.0.0.1 are allowed for the demo (set DLRHUB_CALLBACK_ALLOW to change)"
            )
        if made is not None:
            console.print("demo account created; its credentials (shown once):")
            console.print_json(json.dumps(made.credentials()))
        await runtime.run(hub)

    runtime.start(main)


@app.command()
def api() -> None:
    """Run only the HTTP API (scale it out beside `dlrhub worker` on PostgreSQL)."""
    config = session.load_settings(console)
    _logging(config)
    runtime.start(lambda: _run(config, background=False))


@app.command()
def worker() -> None:
    """Run only the background workers: the callback dispatcher and the Zalo channel."""
    config = session.load_settings(console)
    _logging(config)
    runtime.start(lambda: _run(config, http=False))


async def _run(config: settings.Settings, *, http: bool = True, background: bool = True) -> None:
    """`runtime.run` on a hub whose database answers at start (else exit 2: see `session.reach`)."""
    hub = hub_.Hub.open(config)
    await session.reach(hub, console)
    await runtime.run(hub, http=http, background=background)


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    config = session.load_settings(console)

    async def main() -> None:
        hub = hub_.Hub.open(config)
        await session.reach(hub, console)
        try:
            applied = await hub.store.migrate()
        finally:
            await hub.close()
        console.print(f"applied: {', '.join(applied)}" if applied else "the schema is up to date")

    runtime.start(main)


def main() -> None:
    """Entry point of the `dlrhub` script.

    A configuration error, or a database lost while a command runs, ends it with one line and status 2, as
    the CLI reference says, not with a traceback.
    """
    try:
        app()
    except (errors.ConfigError, errors.StoreUnavailable) as exc:
        session.config_error(console, exc)
        sys.exit(2)
