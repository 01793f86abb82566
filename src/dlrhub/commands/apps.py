"""`dlrhub apps`: NXCloud apps (create for an account, update, list, show)."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dlrhub import runtime
from dlrhub.commands import session, tables
from dlrhub.core import models
from dlrhub.services import apps

app = typer.Typer(
    rich_markup_mode="markdown",
    help="NXCloud apps: appkey, default DR URL, quotation, route.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
#: What `--quotation` takes to remove the quotation (sends are then refused with 9004).
NONE = "none"


def _print(found: list[models.App], as_json: bool, *, one: bool = False) -> None:
    shown = [apps.app_json(a) for a in found]
    if as_json:
        sys.stdout.write(json.dumps(shown[0] if one else shown) + "\n")
        return
    table = Table("appkey", "account", "name", "active", "quotation", "routed", "OA", "DR URL")
    for a in shown:
        quotation = "none" if a["quotation"] is None else f"{a['quotation']} {a['currency']}"
        table.add_row(
            *(str(a[k]) for k in ("appkey", "account_id", "name", "active")),
            quotation,
            str(a["routed"]),
            str(a["oa_id"] or "-"),
            str(a["dr_url"] or "-"),
        )
    tables.show(console, table)


def _quotation(text: str) -> str | None:
    return None if text.strip().lower() == NONE else text


@app.command("create")
def create(
    account: Annotated[str, typer.Option("--account", help="The account's id.")],
    name: Annotated[str, typer.Option(help="The app's name.")],
    dr_url: Annotated[
        str | None, typer.Option(help="The default DR URL (a request's drWebhook wins).")
    ] = None,
    quotation: Annotated[
        str, typer.Option(help="Unit price of one ZNS, or 'none' (sends refused with 9004).")
    ] = NONE,
    currency: Annotated[str | None, typer.Option(help="Default: the account's currency.")] = None,
    routed: Annotated[bool, typer.Option(help="Whether the app has a route to Zalo (9005 when not).")] = True,
    oa_id: Annotated[str | None, typer.Option(help="The account's OA the app sends through.")] = None,
    as_json: AsJson = False,
) -> None:
    """Create an NXCloud app for an account, with a new appkey."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            made = await apps.create(
                hub,
                account,
                session.actor(),
                name=name,
                dr_url=dr_url,
                quotation=_quotation(quotation),
                currency=currency,
                routed=routed,
                oa_id=oa_id,
            )
        _print([made], as_json, one=True)

    runtime.start(main)


@app.command("update")
def update(
    appkey: Annotated[str, typer.Argument(help="The app's appkey.")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    dr_url: Annotated[str | None, typer.Option(help="A new default DR URL ('' clears it).")] = None,
    quotation: Annotated[str | None, typer.Option(help="A new unit price, or 'none' to remove it.")] = None,
    currency: Annotated[str | None, typer.Option(help="The quotation's currency.")] = None,
    routed: Annotated[
        bool | None, typer.Option("--routed/--unrouted", help="Give or take the route.")
    ] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Enable or disable the app.")
    ] = None,
    oa_id: Annotated[
        str | None, typer.Option(help="The account's OA to send through ('' clears it).")
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Change an app; options left out stay as they are. Sends see the change within 2 s."""
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "name": name,
            "dr_url": dr_url,
            "currency": currency,
            "routed": routed,
            "active": active,
            "oa_id": oa_id,
        }.items()
        if v is not None
    }
    if quotation is not None:
        changes["quotation"] = _quotation(quotation)
    if not changes:
        raise typer.BadParameter("give at least one field to change")
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            changed = await apps.update(hub, appkey, changes, session.actor())
        _print([changed], as_json, one=True)

    runtime.start(main)


@app.command("list")
def list_(
    account: Annotated[str | None, typer.Option("--account", help="Only this account's apps.")] = None,
    as_json: AsJson = False,
) -> None:
    """List apps (an account's, or every account's)."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await apps.list_apps(hub, account)
        _print(found, as_json)

    runtime.start(main)


@app.command("show")
def show(appkey: Annotated[str, typer.Argument(help="The app's appkey.")], as_json: AsJson = False) -> None:
    """Show one app."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await apps.get(hub, appkey)
        _print([found], as_json, one=True)

    runtime.start(main)
