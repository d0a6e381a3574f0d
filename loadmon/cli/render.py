"""What the CLI prints: external text made harmless, and tables that never cut a number or a date.

Every string that comes from outside (an athlete name, a symptom note, a file name, a Strava
activity name, an error message quoting any of those) goes through this module before rich
renders it:

* :func:`clean` removes control characters (C0 incl. ESC, DEL, C1) so no escape sequence
  reaches the terminal; tab and newline become spaces unless the field is ``multiline``. Only
  the display changes: the stored text is left as it is.
* :func:`safe` is :func:`clean` plus rich-markup escaping, for f-strings printed with markup
  (``[/x]`` in a name is shown as ``[/x]``; it neither crashes rich nor styles the output).
* :func:`say` prints literal text (``str`` parts are never parsed as markup; ``(text, style)``
  parts are styled).
* :func:`print_table` prints rows as a table when the console is wide enough (``STACK_BELOW``
  columns, and every number and date fits whole), else one block of ``label: value`` lines per row.
  A plain ``str`` cell is literal text; use :func:`styled` for a coloured one.

Console width: the terminal's on a terminal; ``$COLUMNS`` when set; else (pipes, CI) 160.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rich.cells import cell_len
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

#: Below this many columns a table is printed as stacked blocks (one per row).
STACK_BELOW = 120
#: Width used when stdout is not a terminal and $COLUMNS is not set (pipes, CI, `| less`).
PIPE_WIDTH = 160

# C0 controls except tab and newline, DEL, and the C1 controls (U+0080-U+009F; U+009B is a CSI).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile("[\t\n]")

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fit_consoles() -> None:
    """Set both consoles' width for this invocation (called by the CLI's callback)."""
    for con, stream in ((console, sys.stdout), (err_console, sys.stderr)):
        columns = os.environ.get("COLUMNS", "")
        if columns.isdigit() and int(columns) > 0:
            con.width = int(columns)
        elif _isatty(stream):
            con.width = None  # type: ignore[assignment]  # None: follow the terminal's size
        else:
            con.width = PIPE_WIDTH


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def clean(value: Any, *, multiline: bool = False) -> str:
    """``value`` as display text without control characters (``None`` -> empty string).

    ``multiline``: keep newlines and tabs (a note); otherwise they become spaces (a name).
    """
    text = "" if value is None else str(value)
    if not multiline:
        text = _LINE_BREAKS.sub(" ", text)
    return _CONTROL.sub("", text)


def safe(value: Any, *, multiline: bool = False) -> str:
    """:func:`clean` and escaped for rich markup: for ``f"[bold]{safe(name)}[/]"``."""
    return escape(clean(value, multiline=multiline))


def styled(value: Any, style: str = "", *, multiline: bool = False) -> Text:
    """Literal text with a style (never parsed as markup)."""
    return Text(clean(value, multiline=multiline), style=style)


Part = str | Text | tuple[Any, str]


def line(*parts: Part) -> Text:
    """One line of literal parts: ``str`` (cleaned, never markup), ``Text``, or ``(value, style)``."""
    out = Text()
    for part in parts:
        if isinstance(part, Text):
            out.append_text(part)
        elif isinstance(part, tuple):
            out.append_text(styled(part[0], part[1]))
        else:
            out.append(clean(part, multiline=True))
    return out


def say(*parts: Part, err: bool = False, style: str = "") -> None:
    """Print literal parts on one line (stdout, or stderr with ``err``); long lines are not hard-wrapped."""
    text = line(*parts)
    if style:
        text.stylize(style)
    (err_console if err else console).print(text, soft_wrap=True)


@dataclass(frozen=True)
class Col:
    """A table column. ``kind``: ``number`` and ``date`` cells are never wrapped or cut; ``text`` folds."""

    name: str
    kind: Literal["text", "number", "date"] = "text"
    multiline: bool = False

    @property
    def whole(self) -> bool:
        return self.kind != "text"


Cell = Any  # str / number / None (literal text) or Text (styled)


def _cell(value: Cell, col: Col) -> Text:
    if isinstance(value, Text):
        return value
    return Text("-" if value is None else clean(value, multiline=col.multiline))


def _min_width(col: Col, cells: Sequence[Text]) -> int:
    """The narrowest the column may be: its widest number or date whole; for text, its longest word."""
    if col.whole:
        return max([cell_len(c.plain) for c in cells] + [cell_len(col.name)])
    return max([max((cell_len(w) for w in c.plain.split()), default=0) for c in cells]
               + [max(cell_len(w) for w in col.name.split())])


def print_table(columns: Sequence[Col | str], rows: Iterable[Sequence[Cell]], *, title: str | None = None,
                show_lines: bool = False, con: Console | None = None) -> None:
    """Print ``rows`` as a table, or stacked ``label: value`` blocks on a narrow console."""
    con = con or console
    cols = [c if isinstance(c, Col) else Col(c) for c in columns]
    cells = [[_cell(v, c) for v, c in zip(row, cols, strict=True)] for row in rows]
    widths = [_min_width(col, [r[i] for r in cells]) for i, col in enumerate(cols)]
    needed = sum(w + 2 for w in widths) + len(cols) + 1  # cell padding and borders
    if con.width < STACK_BELOW or needed > con.width:
        _print_stacked(cols, cells, title=title, con=con)
        return
    table = Table(title=Text(clean(title), style="italic") if title else None, show_lines=show_lines)
    for col, width in zip(cols, widths):
        if col.whole:
            table.add_column(Text(col.name), justify="right" if col.kind == "number" else "left", no_wrap=True,
                             min_width=width)
        else:
            table.add_column(Text(col.name), overflow="fold")
    for row in cells:
        table.add_row(*row)
    con.print(table)


def _print_stacked(cols: Sequence[Col], rows: Sequence[Sequence[Text]], *, title: str | None, con: Console) -> None:
    if title:
        con.print(Text(clean(title), style="bold"), soft_wrap=True)
    label_width = max(cell_len(c.name) for c in cols) + 1
    for n, row in enumerate(rows):
        if n or title:
            con.print()
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, width=label_width, style="dim")
        grid.add_column(overflow="fold")
        for col, value in zip(cols, row):
            grid.add_row(Text(f"{col.name}:"), value)
        con.print(grid)


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 athlete``, ``2 athletes``."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"
