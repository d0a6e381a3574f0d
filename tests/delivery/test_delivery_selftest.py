"""`loadmon alerts test`: one harmless message per configured channel, one result each."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alerts.delivery.channels import build_channels
from alerts.delivery.email import EmailSettings
from alerts.delivery.selftest import build_test_alert, send_test_message
from loadmon.errors import ConfigError
from tests.receivers import HttpReceiver, SmtpReceiver

NOW = datetime(2024, 5, 7, 6, 0, 12, 345678, tzinfo=UTC)


def test_every_channel_is_tried_and_reported(smtp_receiver: SmtpReceiver, http_receiver: HttpReceiver) -> None:
    down = HttpReceiver()  # never started
    email = EmailSettings(
        enabled=True, smtp_host="127.0.0.1", smtp_port=smtp_receiver.port, security="none",
        from_addr="loadmon@example.org", to=("ann@example.org",), timeout_s=5,
    )
    channels = build_channels(
        email=email,
        push_urls=[f"ntfy://127.0.0.1:{http_receiver.port}/loadmon", f"json://127.0.0.1:{down.port}/x"],
    )
    results = send_test_message(channels, now=NOW)

    assert [(r.channel, r.ok) for r in results] == [("email", True), ("push[0]", True), ("push[1]", False)]
    assert "alerts.push_urls[1]" in (results[2].error or "")
    assert "test message" in smtp_receiver.messages[0].message["Subject"]
    assert "test message from loadmon" in http_receiver.requests[0].json["message"]


def test_two_test_runs_are_not_duplicates_of_each_other(smtp_receiver: SmtpReceiver) -> None:
    email = EmailSettings(
        enabled=True, smtp_host="127.0.0.1", smtp_port=smtp_receiver.port, security="none",
        from_addr="loadmon@example.org", to=("ann@example.org",), timeout_s=5,
    )
    channels = build_channels(email=email)
    send_test_message(channels, now=NOW)
    send_test_message(channels, now=NOW.replace(second=13))
    ids = {m.message["Message-ID"] for m in smtp_receiver.messages}
    assert len(ids) == 2


def test_the_test_alert_says_it_is_a_test() -> None:
    alert = build_test_alert(NOW)
    assert alert.severity.value == "info" and "test" in alert.title


def test_build_channels_validates_everything_first() -> None:
    with pytest.raises(ConfigError) as caught:
        build_channels(email=EmailSettings(enabled=True, security="smtps"), push_urls=[])
    assert caught.value.key == "alerts.email.security"
    with pytest.raises(ConfigError) as caught:
        build_channels(email=None, push_urls=["json://127.0.0.1:9/x", "nope"])
    assert "alerts.push_urls[1]" in str(caught.value)
    assert build_channels(email=EmailSettings(enabled=False), push_urls=[]) == []
