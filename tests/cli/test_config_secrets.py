"""Issue 11.8: a secret given with the wrong type is not echoed; a world-readable config file holding
secrets gets one warning on stderr; athlete names are checked (length, control characters)."""

from __future__ import annotations

import pytest

from loadmon.config import load_config
from loadmon.errors import ConfigError

SECRET = "987654321"


@pytest.mark.parametrize(("text", "key"), [
    (f"[strava]\nclient_secret = {SECRET}\n", "strava.client_secret"),
    (f"[alerts.email]\npassword = {SECRET}\n", "alerts.email.password"),
    (f'[alerts]\npush_urls = "tgram://{SECRET}/chat"\n', "alerts.push_urls"),
    (f"[database]\nurl = {SECRET}\n", "database.url"),
    (f"[worker]\nbroker_url = [{SECRET}]\n", "worker.broker_url"),
])
def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path, text, key) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert err.value.key == key and key in str(err.value)
    assert SECRET not in str(err.value)


def test_an_ordinary_key_still_shows_the_bad_value(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[alerts.email]\nsmtp_port = \"twenty-five\"\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="twenty-five"):
        load_config(path, env={})


def test_the_cli_does_not_echo_it_either(cli) -> None:
    cli.write_config(f"[strava]\nclient_secret = {SECRET}\n")
    res = cli("config", "check")
    assert res.exit_code == 2 and "strava.client_secret" in res.stderr
    assert SECRET not in res.output


@pytest.mark.parametrize(("text", "shown"), [
    ('[strava]\nclient_secret = "s3cr3t-value"\n', "strava.client_secret"),
    ('[alerts.email]\npassword = "pw"\n', "alerts.email.password"),
    ('[worker]\nbroker_url = "redis://:pw@127.0.0.1:6379/0"\n', "worker.broker_url"),
])
def test_a_world_readable_config_with_secrets_warns_once_on_stderr(cli, text, shown) -> None:
    cli.write_config(text, mode=0o644)
    res = cli("athlete", "list")
    assert res.exit_code == 0, res.output
    assert res.stderr.count("every user of this machine can read it") == 1, res.stderr
    assert shown in res.stderr and "chmod 600" in res.stderr
    assert "s3cr3t-value" not in res.output and ":pw@" not in res.output
    assert "every user" not in res.stdout


def test_no_warning_for_a_private_file_or_one_without_secrets(cli) -> None:
    cli.write_config('[strava]\nclient_secret = "s3cr3t-value"\n', mode=0o600)
    assert "every user" not in cli("athlete", "list").stderr
    cli.write_config('[athlete]\ntimezone = "Europe/London"\n', mode=0o644)
    assert "every user" not in cli("athlete", "list").stderr


def test_a_database_url_without_a_password_is_no_secret(cli, tmp_path) -> None:
    """A user name is not a secret (PostgreSQL with trust or peer auth): no warning for it."""
    cli.write_config(f'[database]\nurl = "sqlite:///{tmp_path / "x.sqlite"}"\n[worker]\nbroker_url = "redis://cache@127.0.0.1:6379/0"\n',
                     mode=0o644)
    assert "every user" not in cli("athlete", "list").stderr


@pytest.mark.parametrize(("name", "problem"), [
    ("x" * 100_000, "at most 100"),
    ("bad\x1b[2Jname", "control characters"),
    ("tab\tname", "control characters"),
    ("   ", "must not be empty"),
])
def test_athlete_names_are_checked(cli, name, problem) -> None:
    res = cli("athlete", "add", name)
    assert res.exit_code == 2, res.output
    assert problem in res.stderr
    assert cli("athlete", "list").stdout.strip() == ""  # nothing stored


def test_a_100_character_name_is_fine(cli) -> None:
    res = cli("athlete", "add", "é" * 100)
    assert res.exit_code == 0, res.output
    assert "é" * 100 in cli("athlete", "list").stdout


def test_the_default_athlete_name_in_the_config_is_checked_too(tmp_path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[athlete]\ndefault_name = "a\\u001b[2Jb"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="control characters") as err:
        load_config(path, env={})
    assert err.value.key == "athlete.default_name"


@pytest.mark.parametrize(("value", "kind"), [(SECRET, "an integer"), ("true", "a boolean"), ("[1]", "a list"),
                                             ("1.5", "a number"), ("{a = 1}", "a table")])
def test_a_secret_of_the_wrong_type_is_named_in_words(tmp_path, value, kind) -> None:
    """The error says what was given in plain words ("got an integer"), not Python's "got a int"."""
    path = tmp_path / "c.toml"
    path.write_text(f"[alerts.email]\npassword = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path, env={})
    assert f"expected a string, got {kind} (value not shown: secret key)" in str(err.value)
