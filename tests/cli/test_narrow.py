"""Issue 10.6: at 80 columns no number or date is cut (`456…`, `202…`) and no message is squeezed into a
10-character column: below 120 columns (or when a table cannot show every number whole) each row is a
block of `label: value` lines."""

from __future__ import annotations

import json
import re

import pytest

TABLE_COMMANDS = [("activities",), ("status",), ("symptom", "list"), ("alerts",), ("club", "status"),
                  ("daemon", "status")]
# numbers, decimals, dates, times and ranges: 456.78, 2026-11-30, 3:45:12, 0.8-1.3, -33.5
NUMBER = re.compile(r"\d[\d.:\-]*\d|\d")


def _numbers(text: str) -> set[str]:
    """The number tokens of the output (without `daemon status`'s "jobs at <now>", which differs per run)."""
    return set(NUMBER.findall(re.sub(r"jobs at [\d\- :]+ UTC", "", text)))


@pytest.mark.slow
@pytest.mark.parametrize("columns", [80, 100, 130])
@pytest.mark.parametrize("args", TABLE_COMMANDS, ids=" ".join)
def test_every_number_and_date_is_whole(cli, plain, args, columns) -> None:
    wide = cli(*args)  # not a terminal: 160 columns
    narrow = cli(*args, columns=columns)
    assert narrow.exit_code == wide.exit_code, narrow.output
    assert len(_numbers(wide.stdout)) >= 3, wide.output  # the command printed its table
    assert "…" not in wide.stdout and "…" not in narrow.stdout, narrow.stdout
    missing = _numbers(wide.stdout) - _numbers(narrow.stdout)
    assert not missing, f"cut or lost at {columns} columns: {sorted(missing)}\n{narrow.stdout}"


def test_activities_at_80_columns_show_each_value_on_its_own_line(cli, plain) -> None:
    out = cli("activities", columns=80).stdout
    for act in json.loads(cli("activities", "--json").stdout):
        assert f"date:         {act['local_date']}" in out
        assert f"km:           {act['distance_m'] / 1000:.2f}" in out
    assert "456.78" in out


def test_the_alert_message_is_readable_at_80_columns(cli, plain) -> None:
    out = cli("alerts", columns=80).stdout
    assert max(len(ln) for ln in out.splitlines()) <= 80
    flat = " ".join(out.split())  # the message folds between words, at the full width left of its label
    assert "message: Ann Example: your week jumped 118.4 %: 612.34 km after 281.07 km" in flat


def test_a_wide_terminal_still_gets_a_table(cli, plain) -> None:
    out = cli("activities", columns=160).stdout
    assert "┃ id ┃ date" in out and "date:" not in out
