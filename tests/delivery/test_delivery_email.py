"""The e-mail channel against a real SMTP server (aiosmtpd) on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import logging
import ssl

import pytest

from alerts.alert import Alert
from alerts.delivery.email import EmailChannel, EmailSettings
from alerts.delivery.render import IDEMPOTENCY_HEADER
from loadmon.errors import ConfigError, DeliveryError
from tests.receivers import SmtpReceiver, TlsFiles

KEY = "lm-test-key-1"
PASSWORD = "s3cret-Pa55word!"


def settings_for(server: SmtpReceiver, **changes) -> EmailSettings:
    base = EmailSettings(
        enabled=True,
        smtp_host=server.host,
        smtp_port=server.port,
        security="none",
        from_addr="loadmon <alerts@example.org>",
        to=("ann@example.org",),
        timeout_s=5,
    )
    return dataclasses.replace(base, **changes)


@pytest.fixture
def auth_server():
    server = SmtpReceiver(credentials=("ann", PASSWORD)).start()
    yield server
    server.stop()


def test_message_reaches_the_server_with_everything(smtp_receiver: SmtpReceiver, ramp_alert: Alert) -> None:
    EmailChannel(settings_for(smtp_receiver, to=("ann@example.org", "Coach <coach@example.org>"))).send(ramp_alert, KEY)

    [mail] = smtp_receiver.messages
    assert mail.mail_from == "alerts@example.org"
    assert mail.rcpt_tos == ("ann@example.org", "coach@example.org")
    assert mail.message["Subject"] == "[loadmon] weekly ramp +24% (38.2 km)"
    assert mail.message[IDEMPOTENCY_HEADER] == KEY
    assert mail.message["Message-ID"].endswith("@example.org>")
    assert mail.message["Date"] is not None
    for content_type in ("text/plain", "text/html"):
        body = mail.part(content_type)
        assert "38.2 km" in body and "30.8 km" in body and "Last 7 days" in body
        assert "Nielsen" in body and "Weekly ramp above 10%" in body
    assert mail.authenticated_as is None and not mail.tls


def test_the_same_key_gives_the_same_message_id_on_a_resend(smtp_receiver: SmtpReceiver, ramp_alert: Alert) -> None:
    channel = EmailChannel(settings_for(smtp_receiver))
    channel.send(ramp_alert, KEY)
    channel.send(ramp_alert, KEY)
    channel.send(ramp_alert, "lm-other")
    ids = [m.message["Message-ID"] for m in smtp_receiver.messages]
    assert ids[0] == ids[1] != ids[2]


def test_login_uses_username_and_password(auth_server: SmtpReceiver, ramp_alert: Alert) -> None:
    EmailChannel(settings_for(auth_server, username="ann", password=PASSWORD)).send(ramp_alert, KEY)
    assert [(a.login, a.password, a.success) for a in auth_server.auth_attempts] == [("ann", PASSWORD, True)]
    assert auth_server.messages[0].authenticated_as == "ann"


def test_wrong_password_is_a_delivery_error_without_the_password(auth_server: SmtpReceiver, ramp_alert: Alert) -> None:
    wrong = "wrong-" + PASSWORD
    with pytest.raises(DeliveryError) as caught:
        EmailChannel(settings_for(auth_server, username="ann", password=wrong)).send(ramp_alert, KEY)
    text = str(caught.value)
    assert "login" in text and "'ann'" in text and "535" in text
    assert caught.value.permanent  # 5xx: retrying the same password cannot help
    assert wrong not in text and PASSWORD not in text
    assert auth_server.auth_attempts[-1].success is False
    assert auth_server.messages == []
    assert PASSWORD not in repr(settings_for(auth_server, username="ann", password=PASSWORD))


def test_server_down_then_back(ramp_alert: Alert) -> None:
    server = SmtpReceiver().start()
    channel = EmailChannel(settings_for(server))
    try:
        server.stop()
        with pytest.raises(DeliveryError, match="connection refused") as caught:
            channel.send(ramp_alert, KEY)
        assert f"127.0.0.1:{server.port}" in str(caught.value)
        assert not caught.value.permanent  # a server that is down may come back
        server.start()  # the same port again
        channel.send(ramp_alert, KEY)
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_temporary_refusal_of_the_data_then_success(smtp_receiver: SmtpReceiver, ramp_alert: Alert) -> None:
    channel = EmailChannel(settings_for(smtp_receiver))
    smtp_receiver.reject_next(1, "451 4.3.0 Mailbox busy, try later")
    with pytest.raises(DeliveryError, match="451") as caught:
        channel.send(ramp_alert, KEY)
    assert not caught.value.permanent  # 4xx: transient (RFC 5321)
    channel.send(ramp_alert, KEY)
    assert len(smtp_receiver.messages) == 1


def test_a_5xx_refusal_of_the_data_is_permanent(smtp_receiver: SmtpReceiver, ramp_alert: Alert) -> None:
    smtp_receiver.reject_next(1, "554 5.7.1 Message rejected as spam")
    with pytest.raises(DeliveryError, match="554") as caught:
        EmailChannel(settings_for(smtp_receiver)).send(ramp_alert, KEY)
    assert caught.value.permanent and smtp_receiver.messages == []


def test_all_recipients_refused_is_an_error(smtp_receiver: SmtpReceiver, ramp_alert: Alert) -> None:
    smtp_receiver.refuse_recipients = {"ann@example.org"}
    with pytest.raises(DeliveryError, match="recipients refused.*ann@example.org.*550") as caught:
        EmailChannel(settings_for(smtp_receiver)).send(ramp_alert, KEY)
    assert smtp_receiver.messages == [] and caught.value.permanent


def test_one_refused_recipient_of_two_is_logged_not_retried(
    smtp_receiver: SmtpReceiver, ramp_alert: Alert, caplog: pytest.LogCaptureFixture
) -> None:
    smtp_receiver.refuse_recipients = {"gone@example.org"}
    channel = EmailChannel(settings_for(smtp_receiver, to=("ann@example.org", "gone@example.org")))
    with caplog.at_level(logging.WARNING, logger="alerts.delivery.email"):
        channel.send(ramp_alert, KEY)  # no error: a retry would send ann a duplicate
    assert smtp_receiver.messages[0].rcpt_tos == ("ann@example.org",)
    assert "gone@example.org" in caplog.text and "550" in caplog.text


def test_starttls_required_but_not_offered(smtp_receiver: SmtpReceiver, ramp_alert: Alert) -> None:
    with pytest.raises(DeliveryError, match="STARTTLS") as caught:
        EmailChannel(settings_for(smtp_receiver, security="starttls")).send(ramp_alert, KEY)
    assert caught.value.permanent  # the setting must change first
    assert smtp_receiver.messages == []


def test_starttls_with_login(tls_files: TlsFiles, ramp_alert: Alert) -> None:
    server = SmtpReceiver(credentials=("ann", PASSWORD), starttls_context=tls_files.server_context()).start()
    try:
        settings = settings_for(server, security="starttls", username="ann", password=PASSWORD)
        EmailChannel(settings, ssl_context=tls_files.client_context()).send(ramp_alert, KEY)
        [mail] = server.messages
        assert mail.tls and mail.authenticated_as == "ann"
        # The default context does not trust a self-signed certificate: refused, not sent in clear.
        with pytest.raises(DeliveryError, match="certificate") as caught:
            EmailChannel(settings).send(ramp_alert, KEY)
        assert PASSWORD not in str(caught.value)
        assert len(server.messages) == 1
    finally:
        server.stop()


def test_implicit_tls(tls_files: TlsFiles, ramp_alert: Alert) -> None:
    server = SmtpReceiver(implicit_tls_context=tls_files.server_context()).start()
    try:
        EmailChannel(settings_for(server, security="ssl"), ssl_context=tls_files.client_context()).send(ramp_alert, KEY)
        assert server.messages[0].tls
        with pytest.raises(DeliveryError):  # plain SMTP to a TLS port fails cleanly (times out or closes)
            EmailChannel(settings_for(server, security="none", timeout_s=0.3)).send(ramp_alert, KEY)
    finally:
        server.stop()


# -- start-up validation: ConfigError names the key ----------------------------------------

GOOD = EmailSettings(
    enabled=True, smtp_host="smtp.example.org", smtp_port=587, security="starttls",
    username="ann", password=PASSWORD, from_addr="loadmon@example.org", to=("ann@example.org",), timeout_s=15,
)


def test_good_settings_pass_and_disabled_settings_are_not_checked() -> None:
    GOOD.validate()
    EmailSettings(enabled=False, security="bogus", smtp_port=0).validate()


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"security": "tls"}, "alerts.email.security"),
        ({"smtp_port": 70000}, "alerts.email.smtp_port"),
        ({"smtp_port": 0}, "alerts.email.smtp_port"),
        ({"smtp_host": "smtp example.org"}, "alerts.email.smtp_host"),
        ({"smtp_host": ""}, "alerts.email.smtp_host"),
        ({"from_addr": "loadmon"}, "alerts.email.from"),
        ({"from_addr": "a@b.org, c@d.org"}, "alerts.email.from"),
        ({"to": ()}, "alerts.email.to"),
        ({"to": "ann@example.org"}, "alerts.email.to"),
        ({"to": ("ann@example.org", "not an address")}, "alerts.email.to"),
        ({"to": ("ann@example.org\r\nBcc: x@y.org",)}, "alerts.email.to"),
        ({"password": ""}, "alerts.email.password"),
        ({"username": ""}, "alerts.email.username"),
        ({"timeout_s": 0}, "alerts.email.timeout_s"),
        ({"security": "none"}, "alerts.email.security"),  # a login in clear to a remote host
    ],
)
def test_bad_settings_name_the_key(changes: dict, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        dataclasses.replace(GOOD, **changes).validate()
    assert caught.value.key == key
    assert key in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_login_in_clear_is_allowed_on_localhost() -> None:
    dataclasses.replace(GOOD, smtp_host="127.0.0.1", security="none").validate()
    dataclasses.replace(GOOD, smtp_host="localhost", security="none").validate()


def test_a_list_of_recipients_from_the_config_file_is_accepted() -> None:
    settings = dataclasses.replace(GOOD, to=["ann@example.org", "coach@example.org"])
    assert settings.to == ("ann@example.org", "coach@example.org")
    settings.validate()


def test_default_port_follows_security() -> None:
    assert [EmailSettings(security=s).port for s in ("none", "starttls", "ssl")] == [25, 587, 465]
    assert isinstance(ssl.create_default_context(), ssl.SSLContext)


def test_non_ascii_names_and_text_arrive_intact(smtp_receiver: SmtpReceiver, ramp_alert: Alert) -> None:
    alert = dataclasses.replace(
        ramp_alert, athlete_name="José Müller", title="rampe hebdo +24 % (38,2 km) – attention",
        message="Tes 7 derniers jours : 38,2 km – 24 % de plus que les 7 précédents.",
    )
    EmailChannel(settings_for(smtp_receiver, from_addr="Lœadmon <alerts@example.org>")).send(alert, KEY)
    [mail] = smtp_receiver.messages
    assert mail.message["Subject"] == "[loadmon] rampe hebdo +24 % (38,2 km) – attention"
    assert mail.data.isascii()  # encoded for any 7-bit server
    for content_type in ("text/plain", "text/html"):
        assert "José Müller" in mail.part(content_type)
        assert "38,2 km – 24 % de plus" in mail.part(content_type)
