"""`dlrhub replay`: redeliver callbacks by id, by message, or by time range and state; show a message's."""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dlrhub import runtime
from dlrhub.commands import session, tables
from dlrhub.core import errors, models
from dlrhub.services import replay

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Redeliver callbacks, and show a message's callbacks with their attempts.",
)
console = Console(soft_wrap=True)  # an error stays one line, however narrow the terminal

_AGO = re.compile(r"^(\d{1,6})([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, now: dt.datetime) -> dt.datetime:
    """`90m`, `1h` or `2d` ago, or an ISO 8601 time with a zone. Raises errors.InvalidInput."""
    match = _AGO.match(text.strip())
    if match:
        return now - dt.timedelta(seconds=int(match.group(1)) * _UNIT_S[match.group(2)])
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise errors.InvalidInput("time", f"{text!r} is neither like 1h nor ISO 8601") from exc
    if when.tzinfo is None:
        raise errors.InvalidInput("time", f"{text!r} has no time zone")
    return when


@app.command("run")
def run(
    callback_id: Annotated[list[str] | None, typer.Option("--id", help="A callback id (repeatable).")] = None,
    message: Annotated[str | None, typer.Option(help="Every callback of this message.")] = None,
    since: Annotated[str | None, typer.Option(help="Created at or after: `1h` (ago) or ISO 8601.")] = None,
    until: Annotated[str | None, typer.Option(help="Created before: `10m` (ago) or ISO 8601.")] = None,
    state: Annotated[
        list[models.CallbackState] | None, typer.Option(help="Only callbacks in this state (repeatable).")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's callbacks.")] = None,
    url: Annotated[str | None, typer.Option(help="Send to this URL instead (GET keeps its query).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many callbacks.")] = 1000,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be replayed.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """Redeliver callbacks now, with the same ids and a fresh retry schedule.

    Examples: `dlrhub replay run --id cb_...`, `dlrhub replay run --message zalomid.abc`,
    `dlrhub replay run --since 1h --state failed`.
    """
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            now = hub.clock()
            result = await replay.replay(
                hub,
                replay.ReplayRequest(
                    callback_ids=tuple(callback_id or ()),
                    message_id=message,
                    account_id=account,
                    since=parse_time(since, now) if since else None,
                    until=parse_time(until, now) if until else None,
                    states=tuple(state or ()),
                    url=url,
                    limit=limit,
                    dry_run=dry_run,
                ),
                session.actor(),
            )
        if as_json:
            out = {"selected": len(result.selected), "requeued": result.requeued, "dry_run": dry_run}
            sys.stdout.write(json.dumps({**out, "callbacks": [c.id for c in result.selected]}) + "\n")
            return
        table = Table("callback", "message", "state", "attempts", "url")
        for cb in result.selected[:50]:
            table.add_row(cb.id, cb.message_id or "", cb.state.value, str(cb.attempts), cb.request.url[:80])
        tables.show(console, table)
        more = f" (first 50 of {len(result.selected)} shown)" if len(result.selected) > 50 else ""
        verb = "would replay" if dry_run else "requeued"
        console.print(f"{verb} {result.requeued if not dry_run else len(result.selected)} callback(s){more}")

    runtime.start(main)


@app.command("show")
def show(
    message_id: Annotated[str, typer.Argument(help="The message id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """A message's callbacks in order, each with its attempts."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await replay.history(hub, message_id)
        if as_json:
            rows = [
                {
                    "id": cb.id,
                    "state": cb.state.value,
                    "url": cb.request.url,
                    "attempts": [
                        {"number": a.number, "outcome": a.outcome.value, "status_code": a.status_code}
                        for a in attempts
                    ],
                }
                for cb, attempts in found
            ]
            sys.stdout.write(json.dumps(rows) + "\n")
            return
        table = Table("callback", "seq", "state", "attempt", "outcome", "status", "started")
        for cb, attempts in found:
            table.add_row(cb.id, str(cb.seq), cb.state.value, "", "", "", "")
            for a in attempts:
                table.add_row(
                    "",
                    "",
                    "",
                    str(a.number),
                    a.outcome.value,
                    str(a.status_code or ""),
                    a.started_at.isoformat(),
                )
        tables.show(console, table)

    runtime.start(main)
