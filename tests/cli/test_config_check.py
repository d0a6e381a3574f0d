"""Issue 10.4: `loadmon config check` refuses exactly what the other commands (and the daemon) refuse:
one validation (loadmon.service.diagnostics.check_config) runs for every command."""

from __future__ import annotations

import pytest

BAD_CONFIGS = {
    "email enabled without recipients": ('[alerts.email]\nenabled = true\nsmtp_host = "127.0.0.1"\n', "alerts.email.to"),
    "a push URL apprise rejects": ('[alerts]\npush_urls = ["nosuchservice://example.org/x"]\n', "alerts.push_urls"),
    "a rule threshold out of range": ("[alerts.rules]\nacwr_caution = 2.0\nacwr_danger = 1.5\n", "alerts.rules."),
}


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=str)
def test_config_check_exits_2_naming_the_key(cli, case) -> None:
    text, key = BAD_CONFIGS[case]
    cli.write_config(text)
    res = cli("config", "check")
    assert res.exit_code == 2, res.output
    assert key in res.stderr and "Traceback" not in res.output


@pytest.mark.parametrize("case", BAD_CONFIGS, ids=str)
@pytest.mark.parametrize("args", [("status",), ("athlete", "list"), ("daemon", "--once")], ids=" ".join)
def test_every_command_refuses_the_same_config(cli, case, args) -> None:
    text, key = BAD_CONFIGS[case]
    cli.write_config(text)
    res = cli(*args)
    assert res.exit_code == 2, res.output
    assert key in res.stderr


def test_a_good_config_passes(cli) -> None:
    cli.write_config('[alerts.email]\nenabled = true\nto = ["ann@example.org"]\n'
                     '[alerts]\npush_urls = ["json://127.0.0.1:9/hook"]\n')
    res = cli("config", "check")
    assert res.exit_code == 0, res.output
    assert "email: enabled" in res.stdout and "push urls: 1" in res.stdout
