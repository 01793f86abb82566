"""`dlrhub endpoints`: callback destinations' health; pause, resume and reset one (each in the audit log)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dlrhub import runtime
from dlrhub.commands import session
from dlrhub.core import errors, models
from dlrhub.services import endpoints

app = typer.Typer(
    help="Callback destinations: their health; pause, resume or reset one.", no_args_is_help=True
)
console = Console(soft_wrap=True)

_ENDPOINT = typer.Argument(help="The destination: `scheme://host:port`, or any URL on it.")
_REASON = typer.Option(help="Why, for the audit log (required).")


def endpoint_json(ep: models.Endpoint) -> dict[str, Any]:
    """One destination's health, as `--json` prints it (the API's shape)."""
    return {
        "endpoint": ep.endpoint,
        "state": ep.state.value,
        "consecutive_failures": ep.consecutive_failures,
        "failing_since": ep.failing_since.isoformat() if ep.failing_since else None,
        "paused_until": ep.paused_until.isoformat() if ep.paused_until else None,
        "updated_at": ep.updated_at.isoformat(),
    }


def _print(ep: models.Endpoint, what: str, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(endpoint_json(ep)) + "\n")
        return
    until = f" until {ep.paused_until.isoformat()}" if ep.paused_until else ""
    console.print(f"endpoint {ep.endpoint} {what}: {ep.state.value}{until}", markup=False, highlight=False)


def until_time(until: str | None, minutes: int | None, now: dt.datetime) -> dt.datetime:
    """The end of a pause: `--until` (ISO 8601 with a zone) or `--minutes` from now, exactly one of them."""
    if (until is None) == (minutes is None):
        raise errors.InvalidInput("until", "give exactly one of --until and --minutes")
    if minutes is not None:
        return now + dt.timedelta(minutes=minutes)
    assert until is not None
    try:
        when = dt.datetime.fromisoformat(until.strip())
    except ValueError as exc:
        raise errors.InvalidInput("until", f"{until!r} is not an ISO 8601 time") from exc
    if when.tzinfo is None:
        raise errors.InvalidInput("until", f"{until!r} has no time zone")
    return when


@app.command("list")
def listing(
    state: Annotated[
        list[models.EndpointState] | None, typer.Option(help="Only destinations in this state (repeatable).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Stored destinations with their health (a destination appears once it has failed)."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await endpoints.listing(hub, tuple(state or ()))
        if as_json:
            sys.stdout.write(json.dumps({"endpoints": [endpoint_json(e) for e in found]}) + "\n")
            return
        table = Table("endpoint", "state", "failures", "failing since", "paused until", "updated")
        for e in found:
            table.add_row(
                e.endpoint,
                e.state.value,
                str(e.consecutive_failures),
                e.failing_since.isoformat() if e.failing_since else "",
                e.paused_until.isoformat() if e.paused_until else "",
                e.updated_at.isoformat(),
            )
        console.print(table)

    runtime.start(main)


@app.command("pause")
def pause(
    endpoint: Annotated[str, _ENDPOINT],
    reason: Annotated[str, _REASON],
    until: Annotated[str | None, typer.Option(help="Until this time (ISO 8601 with a zone).")] = None,
    minutes: Annotated[int | None, typer.Option(min=1, max=43_200, help="For this many minutes.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Hold every callback to a destination until a time; running dispatchers stop within `endpoint_cache_s`."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            end = until_time(until, minutes, hub.clock())
            paused = await endpoints.pause(hub, endpoint, end, session.actor(), reason)
        _print(paused, "paused", as_json)

    runtime.start(main)


@app.command("resume")
def resume(
    endpoint: Annotated[str, _ENDPOINT],
    reason: Annotated[str, _REASON],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """End a destination's pause now: the callbacks it held are due, the next attempt is a probe."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            resumed = await endpoints.resume(hub, endpoint, session.actor(), reason)
        _print(resumed, "resumed", as_json)

    runtime.start(main)


@app.command("reset")
def reset(
    endpoint: Annotated[str, _ENDPOINT],
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a paused or disabled destination healthy, its failure count cleared (cancelled callbacks stay so)."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            healthy = await endpoints.reset(hub, endpoint, session.actor(), reason)
        _print(healthy, "reset", as_json)

    runtime.start(main)
