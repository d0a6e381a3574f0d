"""Issue 11.7: text from outside (athlete and activity names, sports, symptom notes, file names in
errors) is shown literally: rich markup neither crashes a command nor styles it, and no control
character (ESC, a C1 CSI) reaches the terminal. The stored text is kept as it was."""

from __future__ import annotations

import pytest

from tests.cli.conftest import HOSTILE, SHOWN

COMMANDS = [
    ("status",),
    ("activities",),
    ("athlete", "list"),
    ("athlete", "show"),
    ("club", "status"),
    ("symptom", "list"),
    ("daemon", "status"),
    ("alerts",),
]


@pytest.mark.parametrize("columns", [None, 80], ids=["wide", "80-columns"])
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_markup_and_escapes_are_shown_literally(cli, stored, args, columns) -> None:
    res = cli(*args, columns=columns)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and "MarkupError" not in res.output
    assert res.exit_code in (0, 1), res.output  # daemon status: 1 (a job failed), which it reports
    out = res.stdout
    assert "\x1b" not in res.output and "\x9b" not in res.output
    # the name is there, with its markup as typed (rich folds long cells, so compare without line breaks)
    flat = " ".join(out.replace("│", " ").split())
    assert SHOWN in flat or all(part in flat for part in SHOWN.split()), out


def test_symptom_note_and_file_names_keep_their_markup(cli, stored) -> None:
    out = cli("symptom", "list").stdout
    assert "second line" in out and out.count("[bold]B[/bold]") >= 2  # location and note
    status = cli("daemon", "status").stdout
    assert f"cannot read /data/{SHOWN}.fit: bad CRC" in status


def test_the_stored_text_is_unchanged(cli, stored) -> None:
    import json

    (athlete,) = json.loads(cli("club", "status", "--json").stdout)
    assert athlete["athlete"] == HOSTILE  # JSON carries the real value (escaped by JSON itself)
    acts = json.loads(cli("activities", "--json").stdout)
    assert {a["name"] for a in acts} == {HOSTILE}


def test_errors_that_quote_user_text_do_not_crash(cli, stored) -> None:
    res = cli("--athlete", "[/nobody] \x1b[2J", "status")
    assert res.exit_code == 2
    assert "no athlete named '[/nobody]" in res.stderr and "\x1b" not in res.stderr
