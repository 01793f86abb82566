"""`dlrhub endpoints`: accounts' callback endpoints' health; pause, resume and reset one (each in the audit log).

An endpoint is one account's callback URL without its query, named by its health key (`acc_x:https://host:443/path`),
or a URL with `--account`, or a URL alone when only one account's endpoint at that URL is stored
(`services.endpoints.resolve`)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dlrhub import runtime
from dlrhub.api.callbacks import endpoint_json
from dlrhub.commands import session, tables
from dlrhub.core import errors, models, urls
from dlrhub.services import endpoint_limits as limits
from dlrhub.services import endpoints

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Accounts' callback endpoints: their health; pause, resume or reset one.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)

_ENDPOINT = typer.Argument(
    help="A health key as listed (`acc_x:https://host:443/path`), or a callback URL (its query ignored)."
)
_ACCOUNT = typer.Option(
    help="The account whose endpoint at that URL is meant (needed when several have one)."
)
_REASON = typer.Option(help="Why, for the audit log (required).")


def _print(ep: models.Endpoint, what: str, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(endpoint_json(ep)) + "\n")
        return
    until = f" until {ep.paused_until.isoformat()}" if ep.paused_until else ""
    line = f"endpoint {ep.endpoint} {what}: {ep.state.value}{until}"
    console.print(line, markup=False, highlight=False)


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
        list[models.EndpointState] | None, typer.Option(help="Only endpoints in this state (repeatable).")
    ] = None,
    account: Annotated[str | None, typer.Option(help="Only this account's endpoints.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Stored endpoints with their health (an endpoint appears once it has failed), by account and URL."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await endpoints.listing(hub, tuple(state or ()), account_id=account)
        if as_json:
            sys.stdout.write(json.dumps({"endpoints": [endpoint_json(e) for e in found]}) + "\n")
            return
        table = Table("account", "url", "state", "failures", "failing since", "paused until", "updated")
        for e in found:
            owner, url = urls.split_health_key(e.endpoint)
            table.add_row(
                owner,
                url,
                e.state.value,
                str(e.consecutive_failures),
                e.failing_since.isoformat() if e.failing_since else "",
                e.paused_until.isoformat() if e.paused_until else "",
                e.updated_at.isoformat(),
            )
        tables.show(console, table)

    runtime.start(main)


@app.command("pause")
def pause(
    endpoint: Annotated[str, _ENDPOINT],
    reason: Annotated[str, _REASON],
    until: Annotated[str | None, typer.Option(help="Until this time (ISO 8601 with a zone).")] = None,
    minutes: Annotated[int | None, typer.Option(min=1, max=43_200, help="For this many minutes.")] = None,
    account: Annotated[str | None, _ACCOUNT] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Hold every callback to one account's endpoint until a time (one never judged: name its account); other
    accounts' endpoints on the host keep sending. Running dispatchers stop within 2 s."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            end = until_time(until, minutes, hub.clock())
            paused = await endpoints.pause(hub, endpoint, end, session.actor(), reason, account_id=account)
        _print(paused, "paused", as_json)

    runtime.start(main)


@app.command("resume")
def resume(
    endpoint: Annotated[str, _ENDPOINT],
    reason: Annotated[str, _REASON],
    account: Annotated[str | None, _ACCOUNT] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """End an endpoint's pause now: the callbacks it held are due, the next attempt is a probe."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            resumed = await endpoints.resume(hub, endpoint, session.actor(), reason, account_id=account)
        _print(resumed, "resumed", as_json)

    runtime.start(main)


@app.command("reset")
def reset(
    endpoint: Annotated[str, _ENDPOINT],
    reason: Annotated[str, typer.Option(help="Why, for the audit log.")] = "",
    account: Annotated[str | None, _ACCOUNT] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Make a paused or disabled endpoint healthy, its failure count cleared (cancelled callbacks stay so)."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            healthy = await endpoints.reset(hub, endpoint, session.actor(), reason, account_id=account)
        _print(healthy, "reset", as_json)

    runtime.start(main)


def _print_limit(limit: dict[str, object], what: str, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(limit, default=str) + "\n")
        return
    line = f"endpoint {limit['endpoint']} {what}: {limit['rate_per_s']}/s, burst {limit['burst']}"
    console.print(line, markup=False, highlight=False)


@app.command("limit")
def limit(
    endpoint: Annotated[
        str, typer.Option(help="A callback URL or `scheme://host:port`: its host is limited.")
    ],
    rate: Annotated[float, typer.Option(min=0.001, max=limits.MAX_RATE, help="Requests a second.")],
    burst: Annotated[
        int | None, typer.Option(min=1, max=limits.MAX_BURST, help="Requests at once (default: the rate).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Pace every account's callbacks to one destination host to a rate (requests a second), for a receiver
    behind a gateway with a fixed TPS. Running dispatchers apply it within 2 s."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            made = await limits.set_limit(hub, session.actor(), endpoint, rate, burst)
        _print_limit(limits.limit_json(made), "limited", as_json)

    runtime.start(main)


@app.command("unlimit")
def unlimit(
    endpoint: Annotated[str, typer.Option(help="A callback URL or `scheme://host:port`.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Remove a destination host's rate limit (whoever set it)."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            gone = await limits.remove(hub, session.actor(), endpoint)
        _print_limit(limits.limit_json(gone), "unlimited (was)", as_json)

    runtime.start(main)


@app.command("limits")
def limit_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every destination host's rate limit, with who set it."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await limits.listing(hub)
        if as_json:
            sys.stdout.write(
                json.dumps({"limits": [limits.limit_json(x) for x in found]}, default=str) + "\n"
            )
            return
        table = Table("endpoint", "rate/s", "burst", "set by", "updated")
        for x in found:
            table.add_row(x.endpoint, f"{x.rate_per_s:g}", str(x.burst), x.set_by, x.updated_at.isoformat())
        tables.show(console, table)

    runtime.start(main)
