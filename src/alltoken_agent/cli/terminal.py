"""Colours and tables: Rich on a terminal, plain text when piped, no colour with NO_COLOR.

The policy, in one place: Rich output (tables, the usage chart, the media progress
display) only when the stream is a terminal; otherwise aligned plain text and quiet
lines. ``NO_COLOR`` (any non-empty value, https://no-color.org) keeps the terminal
layout but writes no colour or style escapes at all; Rich alone would still send
bold and italics. ``TERM=dumb`` and a pipe get no escapes either (Rich decides).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from rich.console import Console

Align = Literal["left", "right"]
NO_COLOR_ENV = "NO_COLOR"


def no_color() -> bool:
    """True when the user asked for no colour (``NO_COLOR`` set and not empty)."""
    return bool(os.environ.get(NO_COLOR_ENV))


def rich_console(*, stderr: bool = False) -> Console:
    """A Rich console for stdout (or stderr) that honours ``NO_COLOR`` fully."""
    from rich.console import Console

    return Console(stderr=stderr, color_system=None if no_color() else "auto")


def render_table(
    columns: Sequence[tuple[str, Align]],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
    header: bool = True,
) -> None:
    """Print a table: Rich on a terminal, aligned plain text when piped."""
    if sys.stdout.isatty():
        from rich import box
        from rich.table import Table
        from rich.text import Text

        table = Table(
            title=title,
            show_header=header,
            header_style="bold",
            box=box.SIMPLE,
            collapse_padding=True,
            pad_edge=False,
        )
        for name, align in columns:
            # fold, not "…": an id cut short cannot be copied
            table.add_column(name, justify=align, overflow="fold")
        for row in rows:
            # Text, not markup: a detail like "[request_id=...]" must print as it is.
            table.add_row(*(Text(cell) for cell in row))
        rich_console().print(table)
        return
    lines = [[name for name, _ in columns], *rows] if header else list(rows)
    widths = [max((len(line[i]) for line in lines), default=0) for i in range(len(columns))]
    if title:
        print(title)
    for line in lines:
        cells = [
            cell.rjust(width) if align == "right" else cell.ljust(width)
            for cell, width, (_, align) in zip(line, widths, columns, strict=True)
        ]
        print("  ".join(cells).rstrip())


def number(value: float | None, unit: str = "") -> str:
    """``1,234`` or ``-`` for unknown."""
    if value is None:
        return "-"
    return f"{value:,.0f}{unit}" if float(value).is_integer() else f"{value:,.2f}{unit}"
