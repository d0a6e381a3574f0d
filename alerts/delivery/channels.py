"""Build the configured channels from the ``[alerts]`` / ``[alerts.email]`` settings."""

from __future__ import annotations

import ssl
from collections.abc import Sequence

from alerts.delivery.email import EmailChannel, EmailSettings, SmtpFactory, default_smtp_factory
from alerts.delivery.maildir import CONFIG_KEY as MAILDIR_KEY
from alerts.delivery.maildir import MaildirChannel
from alerts.delivery.policy import Channel
from alerts.delivery.push import CONFIG_KEY, AppriseFactory, build_push_channels, default_apprise_factory
from loadmon.errors import ConfigError


def build_channels(
    *,
    email: EmailSettings | None,
    push_urls: Sequence[str] = (),
    validate: bool = True,
    smtp_factory: SmtpFactory = default_smtp_factory,
    ssl_context: ssl.SSLContext | None = None,
    apprise_factory: AppriseFactory = default_apprise_factory,
    maildir: str = "",
) -> list[Channel]:
    """``[email]`` (when enabled) + one push channel per URL (``push[0]``, ``push[1]``, ...)
    + ``maildir`` (when a folder is given: the e-mail written to a local Maildir, with the
    ``[email]`` sender and recipients).

    With ``validate`` (the default, at start-up) every setting is checked first and a
    :class:`ConfigError` names the key (``alerts.email.security``, ``alerts.push_urls[2]``).
    """
    if isinstance(push_urls, str) or not isinstance(push_urls, Sequence):
        raise ConfigError(f"{CONFIG_KEY}: expected a list of URLs, got {type(push_urls).__name__}", key=CONFIG_KEY)
    channels: list[Channel] = []
    if email is not None:
        if validate:
            email.validate()
        if email.enabled:
            channels.append(EmailChannel(email, smtp_factory=smtp_factory, ssl_context=ssl_context))
    for push in build_push_channels(push_urls, apprise_factory=apprise_factory):
        if validate:
            push.validate()
        channels.append(push)
    if not isinstance(maildir, str):
        raise ConfigError(f"{MAILDIR_KEY}: expected a folder path, got {type(maildir).__name__}", key=MAILDIR_KEY)
    if maildir.strip():
        box = (MaildirChannel(maildir.strip(), from_addr=email.from_addr, to=email.to) if email
               else MaildirChannel(maildir.strip()))
        if validate:
            box.validate()
        channels.append(box)
    return channels
