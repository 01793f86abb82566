"""`dlrhub tokens`: create, list and revoke the named API tokens."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dlrhub import runtime
from dlrhub.commands import session, tables
from dlrhub.core import control
from dlrhub.services import tokens

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Named API tokens: admin, read-only, and per-account customer tokens.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Its name: the audit log's actor for what it does.")],
    kind: Annotated[
        control.TokenKind,
        typer.Option(help="admin (everything), read (every read, no change), customer (one account's pull)."),
    ],
    account: Annotated[str | None, typer.Option(help="The account of a customer token.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Make a token and print it, this once: only its SHA-256 is kept."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            made = await tokens.create(hub, session.actor(), name, kind, account)
        shown = {**tokens.token_json(made.token), "token": made.secret}
        if as_json:
            sys.stdout.write(json.dumps(shown) + "\n")
            return
        console.print(f"token {made.token.id} ({kind.value}) named {name!r}; it is shown only now:")
        console.print(made.secret, markup=False, highlight=False)

    runtime.start(main)


@app.command("list")
def listing(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every token, revoked ones too, without secrets: the first characters tell them apart."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await tokens.listing(hub)
        if as_json:
            sys.stdout.write(json.dumps({"tokens": [tokens.token_json(t) for t in found]}) + "\n")
            return
        table = Table("id", "name", "kind", "account", "prefix", "created", "last used", "revoked")
        for t in found:
            table.add_row(
                t.id,
                t.name,
                t.kind.value,
                t.account_id or "",
                t.prefix + "…",
                f"{t.created_at.isoformat()} by {t.created_by}",
                t.last_used_at.isoformat() if t.last_used_at else "never",
                t.revoked_at.isoformat() if t.revoked_at else "",
            )
        tables.show(console, table)

    runtime.start(main)


@app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(help="The token's id (`tok_...`, from `dlrhub tokens list`).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Revoke a token: running processes refuse it within 2 seconds."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            revoked = await tokens.revoke(hub, session.actor(), token_id)
        if as_json:
            sys.stdout.write(json.dumps(tokens.token_json(revoked)) + "\n")
            return
        when = revoked.revoked_at.isoformat() if revoked.revoked_at else ""
        console.print(f"token {revoked.id} ({revoked.name}) revoked at {when}")

    runtime.start(main)
