"""`dlrhub accounts`: create, list, show, update, lock, unlock and deactivate accounts; top up, adjust and read
the balance ledger. Every verb takes `--json`."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from dlrhub import runtime
from dlrhub.commands import session, tables
from dlrhub.core import control, models
from dlrhub.services import account_changes, accounts, keys, ledger
from dlrhub.services import hub as hub_

app = typer.Typer(
    rich_markup_mode="markdown",
    help="Create, list, change and deactivate accounts; top up their balance.",
    no_args_is_help=True,
)
console = Console(soft_wrap=True)

AccountArg = Annotated[str, typer.Argument(help="The account id (acc_...).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


def _run(work: Callable[[hub_.Hub], Awaitable[Any]], show: Callable[[Any], None]) -> None:
    """Run `work` on a migrated hub, then `show` its result (an error is one line and exit 1)."""
    config = session.load_settings(console)
    found: list[Any] = []

    async def main() -> None:
        async with session.migrated_hub(config, console) as hub:
            found.append(await work(hub))

    runtime.start(main)
    show(found[0])


def _print(body: object, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(body) + "\n")
    else:
        console.print_json(json.dumps(body))


def _money(text: str, option: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        console.print(f"[red]error:[/red] {option}: {text!r} is not a number")
        raise typer.Exit(1) from None


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="The customer's name.")],
    currency: Annotated[str, typer.Option(help="Balance and price currency.")] = "VND",
    balance: Annotated[str, typer.Option(help="Opening balance (the ledger's first row).")] = "1000000",
    dr_url: Annotated[str | None, typer.Option(help="The default app's NXCloud DR URL.")] = None,
    signed: Annotated[bool, typer.Option(help="Sign callbacks with a new Standard Webhooks secret.")] = False,
    esms_delivered_callback: Annotated[
        bool, typer.Option(help="A second eSMS GET callback when Zalo reports a message delivered.")
    ] = False,
    demo_oa: Annotated[
        bool | None,
        typer.Option(
            "--demo-oa/--no-demo-oa",
            help="Make a demo OA (templates 100001-100003) only the simulator accepts. Default: in simulator"
            " mode only; with the real Zalo, register the OA with `dlrhub oas register`.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an account and print its credentials in both dialects (shown once)."""
    opening = _money(balance, "--balance")

    async def work(hub: hub_.Hub) -> accounts.NewAccount:
        return await accounts.create(
            hub,
            name,
            currency=currency,
            balance=opening,
            dr_url=dr_url,
            signed=signed,
            esms_delivered_callback=esms_delivered_callback,
            with_demo_oa=demo_oa,
            actor=session.actor(),
        )

    _run(work, lambda made: _print(made.credentials(), as_json))


@app.command("list")
def list_(
    status: Annotated[models.AccountStatus | None, typer.Option(help="Only accounts in this status.")] = None,
    name: Annotated[str | None, typer.Option(help="Only names containing this (any case).")] = None,
    after: Annotated[
        str | None, typer.Option(help="Start after this account id (the last of a page).")
    ] = None,
    limit: Annotated[int, typer.Option(help=f"At most this many (1 to {accounts.MAX_PAGE}).")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """List accounts, oldest first, without secrets."""

    async def work(hub: hub_.Hub) -> list[models.Account]:
        return await accounts.find(hub, status=status, name_contains=name, after=after, limit=limit)

    def show(found: list[models.Account]) -> None:
        if as_json:
            sys.stdout.write(json.dumps([accounts.public(a) for a in found]) + "\n")
            return
        table = Table("id", "name", "status", "balance", "eSMS ApiKey", "NXCloud accessKey")
        for a in found:
            table.add_row(
                a.id,
                a.name,
                a.status.value,
                f"{a.balance} {a.currency}",
                keys.hint(a.esms_api_key),
                keys.hint(a.nx_access_key),
            )
        tables.show(console, table)

    _run(work, show)


@app.command("show")
def show(account_id: AccountArg, as_json: JsonOpt = False) -> None:
    """Show one account, without secrets."""

    async def work(hub: hub_.Hub) -> models.Account:
        return await accounts.show(hub, account_id)

    _run(work, lambda account: _print(accounts.public(account), as_json))


def _prices(entries: list[str]) -> dict[str, Decimal | None]:
    prices: dict[str, Decimal | None] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if not sep:
            console.print(f"[red]error:[/red] --price: {entry!r} is not KEY=PRICE")
            raise typer.Exit(1)
        prices[key.strip()] = _money(value.strip(), "--price") if value.strip() else None
    return prices


@app.command("update")
def update(
    account_id: AccountArg,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    currency: Annotated[str | None, typer.Option(help="A new currency (ISO 4217).")] = None,
    price: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=PRICE, repeatable: KEY a TypeId (25) or tpl:TEMPLATE_ID (priced first); KEY= removes it."
        ),
    ] = None,
    utc_offset_minutes: Annotated[
        int | None, typer.Option(help="NXCloud sendTime zone, -720 to 840.")
    ] = None,
    esms_delivered_callback: Annotated[
        bool | None,
        typer.Option(
            "--esms-delivered-callback/--no-esms-delivered-callback", help="The eSMS delivered callback."
        ),
    ] = None,
    default_callback_url: Annotated[
        str | None, typer.Option(help='Where callbacks go when a send names none; "" removes it.')
    ] = None,
    notify_url: Annotated[
        str | None,
        typer.Option(help='Where the account is told that one of its endpoints was disabled; "" removes it.'),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an account's fields; those not given stay as they are."""
    changes: dict[str, Any] = {}
    given = {
        "name": name,
        "currency": currency,
        "utc_offset_minutes": utc_offset_minutes,
        "esms_delivered_callback": esms_delivered_callback,
        "default_callback_url": default_callback_url,
        "notify_url": notify_url,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if price:
        changes["prices"] = _prices(price)
    if not changes:
        console.print("[red]error:[/red] nothing to change: give at least one option")
        raise typer.Exit(1)

    async def work(hub: hub_.Hub) -> models.Account:
        return await account_changes.update(hub, account_id, changes, actor=session.actor())

    _run(work, lambda account: _print(accounts.public(account), as_json))


def _set_status(account_id: str, status: models.AccountStatus, as_json: bool) -> None:
    async def work(hub: hub_.Hub) -> models.Account:
        return await account_changes.set_status(hub, account_id, status, actor=session.actor())

    _run(work, lambda account: _print(accounts.public(account), as_json))


@app.command("lock")
def lock(account_id: AccountArg, as_json: JsonOpt = False) -> None:
    """Lock an account: its sends are refused (eSMS 143, NXCloud 1100) until unlocked."""
    _set_status(account_id, models.AccountStatus.LOCKED, as_json)


@app.command("unlock")
def unlock(account_id: AccountArg, as_json: JsonOpt = False) -> None:
    """Make a locked account active again."""
    _set_status(account_id, models.AccountStatus.ACTIVE, as_json)


@app.command("deactivate")
def deactivate(account_id: AccountArg, as_json: JsonOpt = False) -> None:
    """Deactivate an account for good: refused like a locked one, its keys open nothing, nothing is deleted."""
    _set_status(account_id, models.AccountStatus.DEACTIVATED, as_json)


def _post(account_id: str, kind: control.LedgerKind, amount: str, reason: str, as_json: bool) -> None:
    value = _money(amount, "--amount")

    async def work(hub: hub_.Hub) -> tuple[control.LedgerEntry, models.Account]:
        return await ledger.post(hub, account_id, kind, value, reason=reason, actor=session.actor())

    def show(result: tuple[control.LedgerEntry, models.Account]) -> None:
        entry, account = result
        body = {
            "entry": ledger.entry_json(entry),
            "balance": str(account.balance),
            "currency": account.currency,
        }
        _print(body, as_json)

    _run(work, show)


ReasonOpt = Annotated[str, typer.Option(help="Why (kept in the ledger and the audit log).")]


@app.command("top-up")
def top_up(
    account_id: AccountArg,
    amount: Annotated[str, typer.Option(help="How much to add (positive).")],
    reason: ReasonOpt,
    as_json: JsonOpt = False,
) -> None:
    """Add to an account's balance: one ledger row and the balance move together."""
    _post(account_id, control.LedgerKind.TOP_UP, amount, reason, as_json)


@app.command("adjust")
def adjust(
    account_id: AccountArg,
    amount: Annotated[str, typer.Option(help="How much to add; negative takes away (not below zero).")],
    reason: ReasonOpt,
    as_json: JsonOpt = False,
) -> None:
    """Correct an account's balance either way: one `adjustment` ledger row."""
    _post(account_id, control.LedgerKind.ADJUSTMENT, amount, reason, as_json)


@app.command("ledger")
def ledger_(
    account_id: AccountArg,
    before: Annotated[int | None, typer.Option(help="Only rows before this id (the last of a page).")] = None,
    limit: Annotated[int, typer.Option(help=f"At most this many (1 to {ledger.MAX_PAGE}).")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """An account's ledger rows, newest first: who changed the balance, when, by how much and why."""

    async def work(hub: hub_.Hub) -> list[control.LedgerEntry]:
        return await ledger.entries(hub, account_id, before=before, limit=limit)

    def show(found: list[control.LedgerEntry]) -> None:
        if as_json:
            sys.stdout.write(json.dumps([ledger.entry_json(e) for e in found]) + "\n")
            return
        table = Table("id", "at", "kind", "amount", "messages", "actor", "reason")
        for e in found:
            at = e.created_at.isoformat(timespec="seconds")
            table.add_row(str(e.id), at, e.kind.value, str(e.amount), str(e.message_count), e.actor, e.reason)
        tables.show(console, table)

    _run(work, show)
