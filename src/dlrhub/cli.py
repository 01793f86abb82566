"""The `dlrhub` command: serve, api, worker, migrate, accounts, and the groups under `dlrhub.commands`."""

from __future__ import annotations

import dataclasses
import json
import secrets
import sys
from typing import Annotated

import typer
from rich.console import Console

import dlrhub
from dlrhub import runtime, settings
from dlrhub.adapters import logs, tracing
from dlrhub.commands import (
    accounts as accounts_cmd,
)
from dlrhub.commands import (
    apps,
    audit,
    demo,
    endpoints,
    keys,
    nxcloud,
    oas,
    receive,
    replay,
    session,
    templates,
    tokens,
)
from dlrhub.core import errors, urls
from dlrhub.services import accounts
from dlrhub.services import hub as hub_
from dlrhub.services import tokens as tokens_

app = typer.Typer(
    rich_markup_mode="markdown",
    help="dlrhub: delivery reports for Zalo ZNS, SMS and Viber.",
    no_args_is_help=True,
)
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
app.add_typer(endpoints.app, name="endpoints")
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
    logs.configure(config.log_level, config.log_format)
    tracing.configure(config.tracing)


#: What `serve`'s banner says about callbacks to loopback, in each case.
LOOPBACK_DEMO = (
    "callbacks to loopback: allowed for the demo account's callbacks (this store holds only the demo account;"
    " set DLRHUB_CALLBACK_ALLOW to choose)"
)
LOOPBACK_SETTING = "callbacks to loopback or private addresses: allowed by setting DLRHUB_CALLBACK_ALLOW ({})"
LOOPBACK_CLOSED = "callbacks to loopback: not allowed (set DLRHUB_CALLBACK_ALLOW=127.0.0.1,::1 to allow)"
LOOPBACK = ("127.0.0.1", "::1")
#: What a later start of a demo store says, since the demo account's credentials were printed only on the first.
DEMO_AGAIN = (
    "demo account {0}: its credentials were shown on its first start; new ones:"
    " dlrhub keys rotate-esms {0} --overlap 0 (and rotate-nxcloud)"
)


@app.command()
def serve() -> None:
    """Run everything in one process: the API, the callback dispatcher and the Zalo channel (the built-in
    simulator unless DLRHUB_ZALO_MODE says otherwise). Migrates the store (creating a SQLite file), creates a
    demo account on a new store's first start and prints it; callbacks to loopback are allowed while the store
    holds only that account, or as DLRHUB_CALLBACK_ALLOW says."""
    config = session.load_settings(console)
    made_token = not config.admin_token
    if made_token:
        config = dataclasses.replace(config, admin_token=secrets.token_urlsafe(24))
    _logging(config)

    async def main() -> None:
        hub = hub_.Hub.open(config)
        await session.reach(hub, console)
        await hub.store.migrate()
        await session.require_schema(hub, console)  # a newer release's schema: refuse, as `api` does
        show_token = made_token
        if made_token and await tokens_.has_live_admin(hub):
            # Named admin tokens took over: a bootstrap token made up for the run would only widen the door.
            show_token = False
            hub.settings = dataclasses.replace(hub.settings, admin_token="")
            console.print("no bootstrap admin token: named admin tokens exist (dlrhub tokens list)")
        made = await accounts.ensure_demo(hub) if config.demo_account else None
        demo = await accounts.sole_demo(hub) if config.demo_account else None
        if config.callback_allow:
            loopback = LOOPBACK_SETTING.format(", ".join(config.callback_allow))
        elif demo is not None:
            # The demo account's callbacks alone: an account made while this runs gets no loopback.
            hub.demo_allow = LOOPBACK
            loopback = LOOPBACK_DEMO
        else:
            loopback = LOOPBACK_CLOSED
        base = f"http://{config.host}:{config.port}"
        shown = urls.shown_url(config.database_url)  # a password in the URL is never printed
        console.print(f"[bold]dlrhub[/bold] on {base}  (docs {base}/docs, store {shown})")
        console.print(
            f"dashboard: {base}/ui (log in with an admin or read token; customer tokens open /portal)"
        )
        if show_token:
            console.print(
                f"admin token (this run only; set DLRHUB_ADMIN_TOKEN to fix it): {config.admin_token}"
            )
        if made is not None:
            console.print("demo account created; its credentials (shown once):")
            console.print_json(json.dumps(made.credentials()))
        elif demo is not None:
            console.print(DEMO_AGAIN.format(demo.id), highlight=False)
        console.print(loopback)
        await runtime.run(hub)

    runtime.start(main, server=True)


@app.command()
def api() -> None:
    """Run only the HTTP API (scale it out beside `dlrhub worker` on PostgreSQL). Refuses to start (exit 2) on a
    store that does not exist or is not migrated: run `dlrhub migrate` first."""
    config = session.load_settings(console)
    _logging(config)
    runtime.start(lambda: _run(config, background=False), server=True)


@app.command()
def worker() -> None:
    """Run only the background workers: the callback dispatcher and the Zalo channel. Refuses to start (exit 2)
    on a store that does not exist or is not migrated: run `dlrhub migrate` first."""
    config = session.load_settings(console)
    _logging(config)
    runtime.start(lambda: _run(config, http=False), server=True)


async def _run(config: settings.Settings, *, http: bool = True, background: bool = True) -> None:
    """`runtime.run` on a hub whose database answers and is migrated at start (else exit 2: see
    `session.open_ready`)."""
    hub = await session.open_ready(config, console)
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
            await session.require_schema(hub, console)  # says so when a newer release migrated it further
        except errors.ConfigError as exc:  # a role that may not create tables: one line, not a traceback
            raise session.config_error(console, exc) from None
        finally:
            await hub.close()
        console.print(f"applied: {', '.join(applied)}" if applied else "the schema is up to date")

    runtime.start(main)


def main() -> None:
    """Entry point of the `dlrhub` script.

    A configuration error, or a database lost while a command runs, ends it with one line and status 2, as
    the CLI reference says, not with a traceback; a background worker that kept crashing, with status 3.
    """
    try:
        app()
    except (errors.ConfigError, errors.StoreUnavailable) as exc:
        session.config_error(console, exc)
        sys.exit(2)
    except runtime.WorkerGaveUp as exc:
        console.print(f"[red]error:[/red] {exc}")
        sys.exit(3)
