"""`dlrhub keys`: rotate an account's customer key pairs (with an overlap) and its signing secrets."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import typer
from rich.console import Console

from dlrhub import runtime
from dlrhub.commands import session
from dlrhub.core import control, errors
from dlrhub.services import hub as hub_
from dlrhub.services import keys

app = typer.Typer(
    rich_markup_mode="markdown", help="Rotate customer keys and signing secrets.", no_args_is_help=True
)
console = Console(soft_wrap=True)
Account = Annotated[str, typer.Argument(help="The account's id.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
OldValidUntil = Annotated[
    str | None,
    typer.Option(
        help="When the old pair stops working: ISO 8601 with a zone (YYYY-MM-DDTHH:MM:SS+07:00), from now to"
        " 90 days ahead."
    ),
]
Overlap = Annotated[
    str | None, typer.Option(help="How long the old pair keeps working: 90s, 30m, 24h, 7d; 0 stops it now.")
]


def _run(work: Callable[[hub_.Hub], Awaitable[Any]], as_json: bool, *, secret: bool = False) -> None:
    """Run `work` on a migrated hub and print its answer (which holds a secret to show once when `secret`)."""
    config = session.load_settings(console)

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            answer = await work(hub)
        if as_json:
            sys.stdout.write(json.dumps(answer) + "\n")
            return
        if secret:
            console.print("the new secret is shown this once:")
        console.print_json(json.dumps(answer))

    runtime.start(main)


def _times(
    old_valid_until: str | None, overlap: str | None
) -> tuple[dt.datetime | None, dt.timedelta | None]:
    try:
        until = None if old_valid_until is None else dt.datetime.fromisoformat(old_valid_until)
        span = None if overlap is None else keys.parse_overlap(overlap)
    except ValueError:
        raise typer.BadParameter("not an ISO 8601 time", param_hint="--old-valid-until") from None
    except errors.InvalidInput as exc:
        raise typer.BadParameter(exc.problem, param_hint="--overlap") from None
    return until, span


def _rotate(
    kind: control.KeyKind, account: str, old_valid_until: str | None, overlap: str | None, as_json: bool
) -> None:
    until, span = _times(old_valid_until, overlap)

    async def work(hub: hub_.Hub) -> dict[str, object]:
        done = await keys.rotate(hub, account, kind, session.actor(), old_valid_until=until, overlap=span)
        return done.answer()

    _run(work, as_json, secret=True)


@app.command("rotate-esms")
def rotate_esms(
    account: Account, old_valid_until: OldValidUntil = None, overlap: Overlap = None, as_json: AsJson = False
) -> None:
    """Give the account a new eSMS ApiKey/SecretKey, working at once; the old pair works until the time chosen
    (default: for 24 h)."""
    _rotate(control.KeyKind.ESMS, account, old_valid_until, overlap, as_json)


@app.command("rotate-nxcloud")
def rotate_nxcloud(
    account: Account, old_valid_until: OldValidUntil = None, overlap: Overlap = None, as_json: AsJson = False
) -> None:
    """Give the account a new NXCloud accessKey/accessSecret, working at once; the old pair works until the time
    chosen (default: for 24 h)."""
    _rotate(control.KeyKind.NXCLOUD, account, old_valid_until, overlap, as_json)


@app.command("status")
def status(account: Account, as_json: AsJson = False) -> None:
    """The account's current key hints, its retired pairs (until when each works) and its signing key ids."""
    _run(lambda hub: keys.key_status(hub, account), as_json)


@app.command("signing-add")
def signing_add(account: Account, as_json: AsJson = False) -> None:
    """Add a fresh signing secret; callbacks then carry one signature per live secret."""
    _run(lambda hub: keys.add_signing_secret(hub, account, session.actor()), as_json, secret=True)


@app.command("signing-retire")
def signing_retire(
    account: Account,
    key_id: Annotated[str, typer.Argument(help="The key id (whk_…) of the secret to retire.")],
    allow_unsigned: Annotated[
        bool, typer.Option(help="Needed to retire the last secret: callbacks then go unsigned.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Stop signing with one secret; the others stay live."""
    _run(
        lambda hub: keys.retire_signing_secret(
            hub, account, key_id, session.actor(), allow_unsigned=allow_unsigned
        ),
        as_json,
    )


@app.command("signing-list")
def signing_list(account: Account, as_json: AsJson = False) -> None:
    """The key ids of the account's live signing secrets (never the secrets)."""

    async def work(hub: hub_.Hub) -> dict[str, object]:
        found = await keys.signing_key_ids(hub, account)
        return {"account_id": account, "key_ids": found, "signed": bool(found)}

    _run(work, as_json)
