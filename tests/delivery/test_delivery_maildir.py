"""The maildir channel: the alert e-mail written to a local Maildir, whole, once per key."""

from __future__ import annotations

import stat
from email import policy
from email.parser import BytesParser

import pytest

from alerts.delivery.channels import build_channels
from alerts.delivery.email import EmailSettings
from alerts.delivery.maildir import MaildirChannel
from alerts.delivery.render import IDEMPOTENCY_HEADER
from loadmon.errors import ConfigError, DeliveryError

KEY = "lm-0123456789abcdef"


def read(path):
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle)


def test_send_writes_the_rendered_email_into_new(tmp_path, ramp_alert) -> None:
    box = MaildirChannel(tmp_path / "mail", from_addr="loadmon <alerts@example.org>", to=("ann@example.org",))
    box.send(ramp_alert, KEY)
    (written,) = (tmp_path / "mail" / "new").iterdir()
    assert written == box.path_for(KEY) and written.name == f"{KEY}.eml"
    assert list((tmp_path / "mail" / "tmp").iterdir()) == []  # nothing half-written left behind
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert {stat.S_IMODE(p.stat().st_mode) for p in (box.folder, *box.folder.iterdir())} == {0o700}
    message = read(written)
    assert message["Subject"] == "[loadmon] weekly ramp +24% (38.2 km)"
    assert message["To"] == "ann@example.org" and message[IDEMPOTENCY_HEADER] == KEY
    assert "38.2 km, 24% more than the 7 days before" in message.get_body(("plain",)).get_content()
    assert message.get_body(("html",)) is not None


def test_a_retry_never_makes_a_second_copy(tmp_path, ramp_alert) -> None:
    box = MaildirChannel(tmp_path / "mail")
    box.send(ramp_alert, KEY)
    box.send(ramp_alert, KEY)  # the outbox re-sends after a crash before it marked the row sent
    assert len(list((tmp_path / "mail" / "new").iterdir())) == 1
    # the reader opened it: a mail reader moves it to cur/ with its flags
    box.path_for(KEY).rename(tmp_path / "mail" / "cur" / f"{KEY}.eml:2,S")
    box.send(ramp_alert, KEY)
    assert list((tmp_path / "mail" / "new").iterdir()) == []
    box.send(ramp_alert, "lm-another-key")
    assert [p.name for p in (tmp_path / "mail" / "new").iterdir()] == ["lm-another-key.eml"]


def test_a_write_failure_is_a_retryable_delivery_error(tmp_path, ramp_alert) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    (folder / "new").write_text("not a folder", encoding="utf-8")
    box = MaildirChannel(folder)
    with pytest.raises(DeliveryError) as caught:
        box.send(ramp_alert, KEY)
    assert not caught.value.permanent and str(folder) in str(caught.value)
    (folder / "new").unlink()  # fixed: the retry delivers
    box.send(ramp_alert, KEY)
    assert box.path_for(KEY).exists()


def test_validate_refuses_a_file_as_the_folder(tmp_path) -> None:
    MaildirChannel(tmp_path / "not-yet").validate()  # created at the first send
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        MaildirChannel(tmp_path / "file").validate()
    assert caught.value.key == "alerts.maildir" and "file" in str(caught.value)


def test_build_channels_adds_maildir_with_the_email_addresses(tmp_path) -> None:
    email = EmailSettings(enabled=False, from_addr="loadmon <alerts@example.org>", to=("ann@example.org",))
    channels = build_channels(email=email, maildir=str(tmp_path / "mail"))
    (box,) = channels
    assert isinstance(box, MaildirChannel) and box.name == "maildir"
    assert (box.from_addr, box.to) == ("loadmon <alerts@example.org>", ("ann@example.org",))
    assert build_channels(email=email, maildir="") == []
    with pytest.raises(ConfigError) as caught:
        build_channels(email=email, maildir=42)  # type: ignore[arg-type]
    assert caught.value.key == "alerts.maildir"
