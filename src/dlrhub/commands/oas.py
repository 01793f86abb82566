"""`dlrhub oas`: register a real Zalo OA (checked against Zalo at once), list, show, update its secrets,
deactivate it. Every verb takes `--json`; secrets are prompted for (hidden) when not given."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from dlrhub import runtime, settings
from dlrhub.adapters.zalo import client
from dlrhub.commands import session
from dlrhub.services import hub as hub_
from dlrhub.services import oas, zalo_wiring

app = typer.Typer(
    rich_markup_mode="markdown", help="Register and manage real Zalo OAs.", no_args_is_help=True
)
console = Console(soft_wrap=True, stderr=True)

Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
OaId = Annotated[str, typer.Argument(help="The OA's id.")]


def _print(found: Any, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(found, ensure_ascii=False) + "\n")
    else:
        Console(soft_wrap=True).print_json(json.dumps(found, ensure_ascii=False))


def _run(work: Callable[[hub_.Hub, client.ZaloClient], Awaitable[Any]], as_json: bool) -> None:
    """Run `work` on a migrated hub with a client for the configured Zalo; print its result. A Zalo refusal is one
    line with its code and exit status 1 (nothing stored)."""
    config: settings.Settings = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub, zalo_wiring.make_client(config) as zalo:
            found = await work(hub, zalo)
        _print(found, as_json)

    runtime.start(main)


def _secret(value: str | None, prompt: str) -> str:
    return value if value is not None else str(typer.prompt(prompt, hide_input=True, err=True))


@app.command("register")
def register(
    account: Annotated[str, typer.Option(help="The account the OA sends for.")],
    oa_id: Annotated[str, typer.Option("--oa-id", help="The OA's id.")],
    app_id: Annotated[str, typer.Option("--app-id", help="The Zalo app linked to the OA.")],
    app_secret: Annotated[
        str | None, typer.Option(help="The app's secret key. Default: prompted for.")
    ] = None,
    oa_secret: Annotated[
        str | None, typer.Option(help="The OA secret key (signs webhooks). Default: prompted for.")
    ] = None,
    refresh_token: Annotated[
        str | None, typer.Option(help="A refresh token, spent at once. Default: prompted for.")
    ] = None,
    as_json: Json = False,
) -> None:
    """Register a real OA: dlrhub refreshes its token through Zalo at once and reads its quota. Zalo refusing
    (a wrong secret, a dead token) exits 1 with its error, and nothing is stored."""
    registration = oas.Registration(
        oa_id=oa_id,
        app_id=app_id,
        app_secret=_secret(app_secret, "App secret"),
        oa_secret=_secret(oa_secret, "OA secret"),
        refresh_token=_secret(refresh_token, "Refresh token"),
    )
    actor = session.actor()
    _run(lambda hub, zalo: oas.register(hub, zalo, account, registration, actor), as_json)


@app.command("list")
def list_(
    account: Annotated[str | None, typer.Option(help="Only this account's OAs.")] = None,
    as_json: Json = False,
) -> None:
    """List OAs: secrets masked, when each refresh token expires."""

    async def work(hub: hub_.Hub, _: client.ZaloClient) -> Any:
        return {"oas": await oas.listing(hub, account)}

    _run(work, as_json)


@app.command("show")
def show(oa_id: OaId, as_json: Json = False) -> None:
    """Show one OA, with today's quota asked of Zalo (absent when Zalo does not give it)."""
    _run(lambda hub, zalo: oas.show(hub, zalo, oa_id), as_json)


@app.command("update-secrets")
def update_secrets(
    oa_id: OaId,
    app_secret: Annotated[
        str | None, typer.Option(help="A new app secret (checked by refreshing at once).")
    ] = None,
    oa_secret: Annotated[str | None, typer.Option(help="A new OA secret (webhook signatures).")] = None,
    refresh_token: Annotated[
        str | None, typer.Option(help="A new refresh token from Zalo's console (spent at once).")
    ] = None,
    as_json: Json = False,
) -> None:
    """Replace any of the OA's app secret, OA secret and refresh token. Zalo refusing exits 1, changing nothing."""
    given = {"app_secret": app_secret, "oa_secret": oa_secret, "refresh_token": refresh_token}
    actor = session.actor()
    _run(lambda hub, zalo: oas.update_secrets(hub, zalo, oa_id, given, actor), as_json)


@app.command("deactivate")
def deactivate(oa_id: OaId, as_json: Json = False) -> None:
    """Stop sends through the OA (eSMS answers 799, NXCloud 9005)."""
    actor = session.actor()
    _run(lambda hub, _: oas.deactivate(hub, oa_id, actor), as_json)
