"""`dlrhub templates`: an OA's ZNS templates (sync from Zalo, add by hand, list, show)."""

from __future__ import annotations

import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dlrhub import runtime
from dlrhub.commands import session, tables
from dlrhub.core import templates as templates_
from dlrhub.services import templates, zalo_wiring

app = typer.Typer(
    rich_markup_mode="markdown",
    help="An OA's ZNS templates: sync them from Zalo, add one by hand, list, show.",
)
console = Console(soft_wrap=True)

OaId = Annotated[str, typer.Argument(help="The Zalo OA id.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


@app.callback(no_args_is_help=True)
def main() -> None:
    """An OA's ZNS templates."""


def _params_text(template: templates_.Template) -> str:
    if template.params is None:
        return "(not checked)"
    return ", ".join(
        f"{p.name}:{p.type}{'' if p.require else '?'}{'' if p.max_length is None else f'≤{p.max_length}'}"
        for p in template.params
    )


def _print(found: list[templates_.Template]) -> None:
    table = Table("template id", "name", "status", "source", "params", "price")
    for t in found:
        price = "" if t.price is None else str(t.price)
        table.add_row(t.template_id, t.name, t.status, t.source.value, _params_text(t), price)
    tables.show(console, table)


def _out(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


@app.command("sync")
def sync(oa_id: OaId, as_json: AsJson = False) -> None:
    """Read the OA's templates from Zalo (the simulator unless DLRHUB_ZALO_MODE says otherwise) and store them.

    Zalo failing half way stores nothing (exit 1).
    """
    config = session.load_settings(console)

    async def run() -> None:
        async with session.migrated_hub(config, console) as hub, zalo_wiring.make_client(config) as zalo:
            synced = await templates.sync(hub, zalo, oa_id, actor=session.actor())
        if as_json:
            _out(synced.to_json())
            return
        _print(synced.templates)
        console.print(f"may send: {', '.join(synced.template_ids) or '(none)'}")
        if synced.delisted:
            console.print(f"no longer listed by Zalo (now DISABLE): {', '.join(synced.delisted)}")

    runtime.start(run)


@app.command("list")
def list_(oa_id: OaId, as_json: AsJson = False) -> None:
    """List the OA's templates with their status, source and parameters."""
    config = session.load_settings(console)

    async def run() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await templates.list_(hub, oa_id)
        if as_json:
            _out([t.to_json() for t in found])
        else:
            _print(found)

    runtime.start(run)


@app.command("show")
def show(
    oa_id: OaId,
    template_id: Annotated[str, typer.Argument(help="The template id.")],
    as_json: AsJson = False,
) -> None:
    """Show one of the OA's templates."""
    config = session.load_settings(console)

    async def run() -> None:
        async with session.migrated_hub(config, console) as hub:
            found = await templates.show(hub, oa_id, template_id)
        if as_json:
            _out(found.to_json())
        else:
            console.print_json(json.dumps(found.to_json(), ensure_ascii=False))

    runtime.start(run)


def _read_params(params: str | None, params_file: Path | None) -> list[Any] | None:
    if params is not None and params_file is not None:
        raise typer.BadParameter("give --params or --params-file, not both")
    text = params_file.read_text(encoding="utf-8") if params_file is not None else params
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"not JSON: {exc}", param_hint="--params") from exc
    if not isinstance(parsed, list):
        raise typer.BadParameter("expected a JSON list of parameters", param_hint="--params")
    return parsed


@app.command("add")
def add(
    oa_id: OaId,
    template_id: Annotated[str, typer.Argument(help="The template id, as Zalo gave it.")],
    name: Annotated[str, typer.Option(help="The template's name.")] = "",
    params: Annotated[
        str | None,
        typer.Option(
            help='Its parameters as Zalo\'s listParams JSON: [{"name":"otp","type":"NUMBER","maxLength":6}]. '
            "Without, sends with it are not checked."
        ),
    ] = None,
    params_file: Annotated[Path | None, typer.Option(help="Read --params from this file.")] = None,
    price: Annotated[str | None, typer.Option(help="Zalo's price of one message.")] = None,
    as_json: AsJson = False,
) -> None:
    """Register a template by hand (enabled), so the OA may send with it."""
    parsed = _read_params(params, params_file)
    try:
        amount = None if price is None else Decimal(price)
    except InvalidOperation as exc:
        raise typer.BadParameter("expected a number", param_hint="--price") from exc
    config = session.load_settings(console)

    async def run() -> None:
        async with session.migrated_hub(config, console) as hub:
            made = await templates.add(
                hub, oa_id, template_id, name=name, params=parsed, price=amount, actor=session.actor()
            )
        if as_json:
            _out(made.to_json())
        else:
            console.print(f"template {made.template_id} added to OA {oa_id}: {_params_text(made)}")

    runtime.start(run)
