"""The maildir channel: each alert e-mail written as a file into a local Maildir folder.

For a machine without an SMTP server, for testing and for the demo: the message is the same
one the e-mail channel sends (:func:`~alerts.delivery.render.render_email`), written to
``<folder>/new/<idempotency key>.eml`` the Maildir way (written under ``tmp/``, flushed, then
renamed into ``new/``), so a mail reader pointed at the folder (``mutt -f``, Thunderbird, or
any text viewer) sees only whole messages.

Delivery guarantee (as for every channel): ``send`` returns only once the message is on
disk; a failure (no permission, disk full) raises :class:`~loadmon.errors.DeliveryError` and
the outbox retries it. The file name comes from the idempotency key, so a retry after a crash
replaces the same file instead of adding a second copy, and a message the reader already
moved to ``cur/`` is not written again.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from alerts.alert import Alert
from alerts.delivery.render import render_email
from loadmon.errors import ConfigError, DeliveryError

CONFIG_KEY = "alerts.maildir"
DEFAULT_FROM = "loadmon <loadmon@localhost>"
DEFAULT_TO = ("you@localhost",)


class MaildirChannel:
    """Writes alerts into a Maildir folder. ``name`` is ``"maildir"``."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        from_addr: str = DEFAULT_FROM,
        to: Sequence[str] = DEFAULT_TO,
        clock: Callable[[], datetime] | None = None,
        name: str = "maildir",
    ) -> None:
        self.folder = Path(folder).expanduser()
        self.from_addr = from_addr or DEFAULT_FROM
        self.to = tuple(to) or DEFAULT_TO
        self.name = name
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"MaildirChannel(name={self.name!r}, folder={str(self.folder)!r})"

    def validate(self) -> None:
        """The folder must be a directory or not exist yet (it and its ``tmp/``, ``new/`` and
        ``cur/`` are created at the first send; a problem inside it is a send error, retried)."""
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(f"{CONFIG_KEY}: {self.folder} exists and is not a folder", key=CONFIG_KEY)

    def path_for(self, idempotency_key: str) -> Path:
        """Where the message of ``idempotency_key`` is written (``new/<key>.eml``)."""
        return self.folder / "new" / f"{_safe(idempotency_key)}.eml"

    def send(self, alert: Alert | Sequence[Alert], idempotency_key: str) -> None:
        """Write one alert e-mail (or a group's, as one message); return once it is on disk, else
        raise :class:`DeliveryError`."""
        message = render_email(alert, idempotency_key=idempotency_key, from_addr=self.from_addr, to=self.to,
                               now=self._clock())
        target = self.path_for(idempotency_key)
        if any((self.folder / "cur").glob(f"{_safe(idempotency_key)}.eml:*")):
            return  # already delivered and read: never a second copy
        tmp = self.folder / "tmp" / f"{target.name}.{os.getpid()}"
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            for sub in ("tmp", "new", "cur"):
                (self.folder / sub).mkdir(mode=0o700, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(message.as_bytes())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise DeliveryError(f"maildir {self.folder}: cannot write the message: {exc.strerror or exc}") from None


def _safe(key: str) -> str:
    """The key as a file name (Maildir names must not hold '/' or ':')."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
