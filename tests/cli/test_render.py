"""The display helpers every command uses (loadmon/cli/render.py)."""

from __future__ import annotations

from loadmon.cli.render import clean, plural, safe


def test_clean_and_safe() -> None:
    assert clean("a\x1b[31mb\x07c\x9bd\x7fe") == "a[31mbcde"
    assert clean("two\nlines\tand tab") == "two lines and tab"
    assert clean("two\nlines", multiline=True) == "two\nlines"
    assert clean(None) == ""
    assert safe("[bold]x[/x]") == "\\[bold]x\\[/x]"


def test_plural() -> None:
    assert plural(1, "athlete") == "1 athlete"
    assert plural(2, "athlete") == "2 athletes"
    assert plural(0, "activity", "activities") == "0 activities"


def _render(width: int, rows, columns) -> str:
    from io import StringIO

    from rich.console import Console

    from loadmon.cli.render import print_table

    con = Console(file=StringIO(), width=width)
    print_table(columns, rows, title="t", con=con)
    return con.file.getvalue()


def test_a_table_that_cannot_show_its_numbers_whole_is_stacked() -> None:
    from loadmon.cli.render import Col

    columns = [Col(f"n{i}", "number") for i in range(12)]
    rows = [[f"{1234567.891 + i:.3f}" for i in range(12)]]  # 12 x 11 digits: about 170 columns
    wide = _render(200, rows, columns)
    assert "┃" in wide and "n0:" not in wide
    narrow = _render(150, rows, columns)  # above STACK_BELOW, still too narrow for the numbers
    assert "n0:" in narrow and "┃" not in narrow
    for value in rows[0]:
        assert value in wide and value in narrow


def test_cells_are_literal_and_styled_cells_keep_their_style() -> None:
    from loadmon.cli.render import Col, styled

    out = _render(200, [["[bold]x[/bold]", styled("danger", "red")]], [Col("name"), Col("severity")])
    assert "[bold]x[/bold]" in out and "danger" in out
