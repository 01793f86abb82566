"""The CLI's tables cut no word short, even on a pipe's 80 columns: an id shown is an id that can be copied."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from dlrhub.commands import tables

ID = "acc_5118a0ce89db4701"


def printed(table: Table, width: int) -> str:
    out = io.StringIO()
    tables.show(Console(file=out, width=width, color_system=None), table)
    return out.getvalue()


def accounts_table() -> Table:
    table = Table("id", "name", "status", "balance", "eSMS ApiKey", "NXCloud accessKey")
    table.add_row("acc_democafcb33c94aa", "demo", "active", "999700.0000 VND", "…7D44", "…3525")
    table.add_row(ID, "Shop A (HN) with a long name", "locked", "19850000.0000 VND", "…483F", "…444c")
    return table


def test_ids_and_amounts_stay_whole_on_80_columns() -> None:
    text = printed(accounts_table(), 80)
    assert ID in text and "acc_democafcb33c94aa" in text, text
    assert "19850000.0000" in text and "locked" in text, text
    assert "…483F" in text
    assert all(len(line) <= 80 for line in text.splitlines()), text


def test_a_table_whose_words_do_not_fit_is_printed_wider_than_the_console() -> None:
    text = printed(accounts_table(), 30)
    assert ID in text and "19850000.0000" in text, text


def test_a_table_that_fits_is_printed_as_rich_lays_it_out() -> None:
    table = Table("id", "kind")
    table.add_row("5", "top_up")
    assert printed(table, 80) == printed_plain(table, 80)


def printed_plain(table: Table, width: int) -> str:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(table)
    return out.getvalue()


def test_a_long_url_is_folded_whole_rather_than_cut() -> None:
    url = "http://127.0.0.1:9000/?SMSID=01a248a711cd6da126723e4d25f1eed5792&SendFailed=0&SendStatus=5"
    table = Table("callback", "url")
    table.add_row("cb_375aff6865025fa8b380057eb43ebd4b", url)
    text = printed(table, 90)
    assert "cb_375aff6865025fa8b380057eb43ebd4b" in text, text
    assert all(len(line) <= 90 for line in text.splitlines()), text
    cells = "".join(line.split("│")[2].strip() for line in text.splitlines() if line.count("│") == 3)
    assert cells == url, text


def test_cells_are_printed_as_written_not_read_as_markup() -> None:
    # A customer's callback URL (replay, endpoints) or an account's name is data: `[/]` raised MarkupError.
    url = "http://receiver.example/dr?tag=[/]&x=[bold]y[/bold]"
    table = Table("callback", "url")
    table.add_row("cb_1", url)
    table.add_row("cb_2", "shop :smile: [red]")
    text = printed(table, 200)
    assert url in text, text
    assert "shop :smile: [red]" in text, text
