"""`dlrhub audit`: list the audit log of admin actions."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dlrhub import runtime, store
from dlrhub.commands import replay, session, tables
from dlrhub.core import errors
from dlrhub.services import audit

app = typer.Typer(
    rich_markup_mode="markdown",
    help="The audit log: who took which admin action, when.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)


@app.command("list")
def listing(
    actor: Annotated[
        str | None, typer.Option(help="Only this actor (a token name, bootstrap, cli:LOGIN).")
    ] = None,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. token.create.")] = None,
    target: Annotated[str | None, typer.Option(help="Only actions on this id.")] = None,
    since: Annotated[str | None, typer.Option(help="At or after: `1h` (ago) or ISO 8601.")] = None,
    until: Annotated[str | None, typer.Option(help="Before: `10m` (ago) or ISO 8601.")] = None,
    cursor: Annotated[str | None, typer.Option(help="The `next_cursor` of the previous page.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=audit.MAX_LIMIT, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Admin actions, newest first."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            now = hub.clock()
            where = store.AuditFilter(
                actor=actor,
                action=action,
                target=target,
                since=replay.parse_time(since, now) if since else None,
                until=replay.parse_time(until, now) if until else None,
                before_id=cursor,
                limit=limit,
            )
            if where.since and where.until and where.until <= where.since:
                raise errors.InvalidInput("until", "must be after since")
            found = await audit.entries(hub, where)
        next_cursor = found[-1].id if len(found) == limit else None
        if as_json:
            shown = {"entries": [audit.entry_json(e) for e in found], "next_cursor": next_cursor}
            sys.stdout.write(json.dumps(shown) + "\n")
            return
        table = Table("at", "actor", "action", "target", "details")
        for e in found:
            table.add_row(e.at.isoformat(), e.actor, e.action, e.target, json.dumps(e.details))
        tables.show(console, table)
        if next_cursor:
            console.print(f"more: --cursor {next_cursor}")

    runtime.start(main)
