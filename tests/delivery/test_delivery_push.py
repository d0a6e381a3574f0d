"""The push channel through real apprise to a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import pytest

from alerts.alert import Alert
from alerts.delivery.push import PushChannel, build_push_channels, mask_url
from alerts.delivery.render import IDEMPOTENCY_HEADER
from loadmon.errors import ConfigError, DeliveryError
from tests.receivers import HttpReceiver

KEY = "lm-push-key-1"


def test_json_webhook_gets_title_message_and_key(http_receiver: HttpReceiver, ramp_alert: Alert) -> None:
    PushChannel([f"json://127.0.0.1:{http_receiver.port}/hooks/loadmon"]).send(ramp_alert, KEY)

    [request] = http_receiver.requests
    assert (request.method, request.path) == ("POST", "/hooks/loadmon")
    assert request.json["title"] == "loadmon: weekly ramp +24% (38.2 km)"
    assert ramp_alert.message in request.json["message"]
    assert request.json["message"].endswith(f"ref: {KEY}")
    assert request.json["type"] == "warning"
    assert request.json["idempotency_key"] == KEY
    assert request.headers[IDEMPOTENCY_HEADER] == KEY


def test_ntfy_on_plain_http_gets_topic_title_message(http_receiver: HttpReceiver, ramp_alert: Alert) -> None:
    PushChannel([f"ntfy://127.0.0.1:{http_receiver.port}/loadmon"]).send(ramp_alert, KEY)

    [request] = http_receiver.requests
    assert request.method == "POST"
    assert request.json["topic"] == "loadmon"
    assert request.json["title"] == "loadmon: weekly ramp +24% (38.2 km)"
    assert "38.2 km, 24% more than the 7 days before (30.8 km)" in request.json["message"]
    assert KEY in request.json["message"]


def test_ntfy_token_is_sent_but_never_shown(http_receiver: HttpReceiver, ramp_alert: Alert) -> None:
    token = "tk_supersecrettoken123"
    channel = PushChannel([f"ntfy://{token}@127.0.0.1:{http_receiver.port}/loadmon"])
    channel.send(ramp_alert, KEY)
    assert http_receiver.requests[0].headers["Authorization"] == f"Bearer {token}"
    http_receiver.fail_next(1)
    with pytest.raises(DeliveryError) as caught:
        channel.send(ramp_alert, KEY)
    assert token not in str(caught.value) and token not in repr(channel)


def test_receiver_answering_500_is_a_delivery_error_then_works(http_receiver: HttpReceiver, ramp_alert: Alert) -> None:
    channel = PushChannel([f"json://127.0.0.1:{http_receiver.port}/hook"])
    http_receiver.fail_next(1, status=500)
    with pytest.raises(DeliveryError) as caught:
        channel.send(ramp_alert, KEY)
    message = str(caught.value)
    assert "500" in message and "alerts.push_urls[0]" in message
    channel.send(ramp_alert, KEY)
    assert [r.status for r in http_receiver.requests] == [500, 200]


def test_receiver_down_is_a_delivery_error(ramp_alert: Alert) -> None:
    receiver = HttpReceiver().start()
    channel = PushChannel([f"ntfy://127.0.0.1:{receiver.port}/loadmon"])
    receiver.stop()
    try:
        with pytest.raises(DeliveryError, match="(?i)connection"):
            channel.send(ramp_alert, KEY)
        receiver.start()
        channel.send(ramp_alert, KEY)
        assert len(receiver.requests) == 1
    finally:
        receiver.stop()


def test_one_failing_url_of_two_names_the_failing_one(http_receiver: HttpReceiver, ramp_alert: Alert) -> None:
    down = HttpReceiver()  # never started: connection refused
    channel = PushChannel([f"json://127.0.0.1:{http_receiver.port}/ok", f"json://127.0.0.1:{down.port}/down"])
    with pytest.raises(DeliveryError) as caught:
        channel.send(ramp_alert, KEY)
    assert "alerts.push_urls[1]" in str(caught.value) and "alerts.push_urls[0]" not in str(caught.value)
    assert len(http_receiver.requests) == 1


def test_one_channel_per_url_keeps_index_in_names_and_messages(ramp_alert: Alert) -> None:
    channels = build_push_channels(["json://127.0.0.1:9/a", "foo://secret-token@host"])
    assert [c.name for c in channels] == ["push[0]", "push[1]"]
    channels[0].validate()
    with pytest.raises(ConfigError) as caught:
        channels[1].validate()
    assert caught.value.key == "alerts.push_urls"
    assert "alerts.push_urls[1]" in str(caught.value) and "'foo'" in str(caught.value)
    assert "secret-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("not a url", "not an apprise URL"),
        ("json://", "not a valid json://"),
        ("bogus://abc/def", "unknown apprise scheme 'bogus'"),
        ("", "empty"),
    ],
)
def test_bad_urls_are_config_errors_naming_the_index(url: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PushChannel(["json://127.0.0.1:9/ok", url]).validate()
    assert "alerts.push_urls[1]" in str(caught.value) and problem in str(caught.value)


def test_validate_keeps_apprise_from_logging_the_secret_url(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError):
        PushChannel(["bogus://user:hunter22secret@example.org/x"]).validate()
    assert "hunter22secret" not in caplog.text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ntfy://127.0.0.1:8080/loadmon", "ntfy://127.0.0.1:8080/…"),
        ("ntfy://tk_abc@127.0.0.1:8080/loadmon", "ntfy://127.0.0.1:8080/…"),
        ("ntfys://ntfy.sh/my-secret-topic", "ntfys://ntfy.sh/…"),
        ("ntfy://my-secret-topic", "ntfy://***"),
        ("tgram://123456:ABC-bot-token/987654", "tgram://***/…"),
        ("mailto://user:pass@gmail.com", "mailto://gmail.com"),
        ("json://[::1]:8080/x", "json://[::1]:8080/…"),
    ],
)
def test_mask_url_hides_secrets(url: str, shown: str) -> None:
    assert mask_url(url) == shown


def test_apprise_debug_lines_with_the_token_are_not_logged(
    http_receiver: HttpReceiver, ramp_alert: Alert, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    token = "tk_debugsecret987654"
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("apprise").setLevel(logging.DEBUG)
        try:
            PushChannel([f"ntfy://{token}@127.0.0.1:{http_receiver.port}/loadmon"]).send(ramp_alert, KEY)
        finally:
            logging.getLogger("apprise").setLevel(logging.NOTSET)
    assert http_receiver.requests[0].headers["Authorization"] == f"Bearer {token}"
    assert token not in caplog.text


def test_secret_topic_on_the_public_server_is_scrubbed_from_reasons() -> None:
    from alerts.delivery.push import _scrub

    url = "ntfy://my-secret-topic-name"
    text = "Failed to send ntfy notification to topic 'my-secret-topic-name': error=500."
    assert "my-secret-topic-name" not in _scrub(text, url)
    url = "gotify://gotify.example.org/AbCdEfGhToken"
    assert "AbCdEfGhToken" not in _scrub("sent to gotify.example.org/AbCdEfGhToken", url)
