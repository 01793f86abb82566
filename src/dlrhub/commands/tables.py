"""How the CLI prints a table: no word cut, however narrow the terminal (or a pipe's 80 columns)."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

#: Words longer than this (URLs, bodies; ids are shorter) are folded across lines instead of kept on one.
LONG_WORD = 40


def show(console: Console, table: Table) -> None:
    """Print `table` on `console`; its columns wrap between words, never inside one, and its text cells are
    printed as written (not read as markup).

    Left to itself, rich fits a table to the console by cutting cells short with an ellipsis, so an account id
    came out as `acc_5118a0…`, useless to copy into the next command. Here each column is at least as wide as
    its longest word (a word longer than LONG_WORD is folded at that width); the console's width left over goes
    to the columns with the most to wrap; a table whose words do not fit the console is printed wider than it.
    """
    for column in table.columns:
        # A cell is data (a callback URL, an account or token name, audit details), never rich markup: `[/]` in
        # a customer's URL raised MarkupError (a traceback instead of the table) and `[bold]x[/bold]` showed `x`.
        column._cells = [Text(cell) if isinstance(cell, str) else cell for cell in column._cells]
    options = console.options.update(max_width=1 << 16)
    pad = table.padding[1] + table.padding[3]  # (top, right, bottom, left)
    lows: list[int] = []
    highs: list[int] = []
    for column in table.columns:
        sizes = [Measurement.get(console, options, cell) for cell in (column.header, *column.cells)]
        low = max(size.minimum for size in sizes)
        if low > LONG_WORD:  # a URL or a body: folded across lines, still whole, rather than widen the table
            column.overflow = "fold"
            low = LONG_WORD
        lows.append(low)
        highs.append(max(size.maximum for size in sizes))
    edges = len(table.columns) + 1 if table.box is not None else 0
    if sum(highs) + pad * len(highs) + edges <= console.width:
        console.print(table)
        return
    room = max(console.width - sum(lows) - pad * len(lows) - edges, 0)
    wants = [high - low for low, high in zip(lows, highs, strict=True)]
    total = sum(wants) or 1
    for column, low, want in zip(table.columns, lows, wants, strict=True):
        column.width = low + room * want // total
    width = console.width
    console.width = max(width, sum(c.width or 0 for c in table.columns) + pad * len(lows) + edges)
    try:
        console.print(table)
    finally:
        console.width = width
