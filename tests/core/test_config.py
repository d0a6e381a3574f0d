from __future__ import annotations

import tomllib

import pytest

from loadmon.config import Config, iter_keys, load_config
from loadmon.errors import ConfigError
from tests.conftest import REPO_ROOT


def write(tmp_path, text: str):
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_a_file(tmp_path) -> None:
    cfg = load_config(tmp_path / "absent-default.toml" if False else None, env={"LOADMON_CONFIG": ""})
    assert isinstance(cfg, Config)
    assert cfg.database_url.startswith("sqlite:///")
    assert cfg.alerts.notify_window_hours == 48


def test_file_values_and_environment_overrides(tmp_path) -> None:
    p = write(tmp_path, '[strava]\nclient_id = "123"\n[alerts.email]\nsmtp_port = 8025\nto = ["a@example.org"]\n')
    env = {"LOADMON_DATABASE_URL": "postgresql://u@127.0.0.1/db", "LOADMON_ALERTS__EMAIL__SMTP_PORT": "2525",
           "LOADMON_ALERTS__PUSH_URLS": "json://127.0.0.1:9/x,ntfy://127.0.0.1:9/t"}
    cfg = load_config(p, env=env)
    assert cfg.strava.client_id == "123"
    assert cfg.alerts.email.smtp_port == 2525
    assert cfg.alerts.email.to == ["a@example.org"]
    assert cfg.alerts.push_urls == ["json://127.0.0.1:9/x", "ntfy://127.0.0.1:9/t"]
    assert cfg.database_url == "postgresql://u@127.0.0.1/db"


@pytest.mark.parametrize(
    ("text", "env", "key"),
    [
        ("[strava]\nclient_idd = 1\n", {}, "strava.client_idd"),
        ("[alerts.email]\nsmtp_port = \"x\"\n", {}, "alerts.email.smtp_port"),
        ("[alerts]\nnotify_window_hours = true\n", {}, "alerts.notify_window_hours"),
        ("[database]\nurl = \"mysql://x\"\n", {}, "database.url"),
        ("[strava]\napi_url = \"ftp://x\"\n", {}, "strava.api_url"),
        ("", {"LOADMON_ALERTS__EMAIL__SMTP_PORT": "many"}, "alerts.email.smtp_port"),
        ("", {"LOADMON_NOPE__X": "1"}, "nope"),
        ("bogus = 1\n", {}, "bogus"),
        ("[alerts.email]\nsecurity = \"tls\"\n", {}, "alerts.email.security"),
        ("[alerts]\ndelivery_lease_s = 10\n", {}, "alerts.delivery_lease_s"),  # shorter than one batch of sends
    ],
)
def test_bad_config_names_the_key(tmp_path, text, env, key) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), env=env)
    assert info.value.key == key
    assert key in str(info.value)


@pytest.mark.parametrize("value", ["12345", '"12345"'])
def test_strava_client_id_as_a_number_or_a_string(tmp_path, value) -> None:
    cfg = load_config(write(tmp_path, f"[strava]\nclient_id = {value}\n"), env={})
    assert cfg.strava.client_id == "12345"
    assert load_config(write(tmp_path, ""), env={"LOADMON_STRAVA__CLIENT_ID": "12345"}).strava.client_id == "12345"


@pytest.mark.parametrize("value", ["12345.0", "true", "-3", "[12345]"])
def test_strava_client_id_refuses_a_float_a_boolean_or_a_negative_number(tmp_path, value) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, f"[strava]\nclient_id = {value}\n"), env={})
    assert info.value.key == "strava.client_id" and "strava.client_id" in str(info.value)


def test_missing_explicit_file_is_an_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml", env={})


def test_example_lists_every_key_with_its_default() -> None:
    example = tomllib.loads((REPO_ROOT / "config.example.toml").read_text(encoding="utf-8"))
    text = (REPO_ROOT / "config.example.toml").read_text(encoding="utf-8")
    missing = []
    for key, default, doc, _meta in iter_keys():
        node = example
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.get(part, {})
        if parts[-1] not in node:
            missing.append(key)
            continue
        assert node[parts[-1]] == default, f"{key}: example says {node[parts[-1]]!r}, default is {default!r}"
        assert doc and doc.split(" (")[0][:20] in text, f"{key}: comment missing"
    assert missing == []
    # and the example itself is a valid configuration
    load_config(REPO_ROOT / "config.example.toml", env={})
