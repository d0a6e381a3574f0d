"""Bad input is exit 2 whatever the option (README: exit codes), with a message naming what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest


def test_a_negative_limit_is_refused(cli) -> None:
    res = cli("alerts", "--limit", "-3")
    assert res.exit_code == 2 and "--limit" in res.output
    assert "no alerts" not in res.stdout


def test_adding_an_athlete_that_exists_says_so(cli) -> None:
    assert cli("athlete", "add", "me").exit_code == 0
    res = cli("athlete", "add", "me")
    assert res.exit_code == 2
    assert "athlete 'me' already exists" in res.stderr


@pytest.mark.parametrize("args", [
    ("status", "--date", "0001-01-01"),
    ("status", "--date", "9999-12-31"),
    ("activities", "--since", "0001-01-01"),
    ("club", "status", "--date", "9999-12-31"),
    ("symptom", "add", "--site", "knee", "--severity", "3", "--at", "0001-01-01 10:00"),
], ids=" ".join)
def test_dates_outside_the_accepted_range_are_refused(cli, args) -> None:
    res = cli(*args)
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "outside the dates loadmon accepts (1970-01-01 to 2100-12-31)" in res.stderr


@pytest.mark.parametrize("args", [
    ("status", "--date", "tomorrow"),
    ("symptom", "add", "--site", "elbow", "--severity", "3"),
    ("symptom", "resolve", "99"),
    ("--athlete", "nobody", "status"),
    ("club", "status", "--sort", "age"),
    ("athlete", "set", "--hr-max", "400"),
    ("import", "/nonexistent/folder"),
], ids=" ".join)
def test_bad_input_is_exit_2(cli, args) -> None:
    res = cli(*args)
    assert res.exit_code == 2, res.output


def test_sync_without_strava_credentials_says_so_before_anything_else(cli, tmp_path: Path) -> None:
    res = cli("sync")
    assert res.exit_code == 2
    assert "strava.client_id" in res.stderr and "strava.client_secret" in res.stderr
    assert not (tmp_path / "db.sqlite").exists()  # not even the database was opened
