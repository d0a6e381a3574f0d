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
