"""The e-mail channel: one multipart message per alert over SMTP (plain, STARTTLS or SSL).

:class:`EmailSettings` holds the ``[alerts.email]`` keys; :meth:`EmailSettings.validate`
checks them at start-up (:class:`~loadmon.errors.ConfigError` naming the key).
:class:`EmailChannel` sends; every failure (connection refused, timeout, TLS, login,
refused sender/recipients/data) becomes a :class:`~loadmon.errors.DeliveryError` whose message
names the server and what went wrong and never contains the password.

Delivery is complete when the server answers 250 to the message data. A failure after that
point (e.g. on QUIT) is ignored: the message was accepted, retrying would send it twice.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import logging
import math
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses
from typing import Any

from alerts.alert import Alert
from alerts.delivery.render import envelope_address, render_email
from loadmon.errors import ConfigError, DeliveryError

log = logging.getLogger(__name__)

SECURITY_VALUES: tuple[str, ...] = ("none", "starttls", "ssl")
DEFAULT_PORTS: dict[str, int] = {"none": 25, "starttls": 587, "ssl": 465}
KEY_PREFIX = "alerts.email"
WATCHDOG_FIRST_S = 1.0  # socket timeouts exceed the deadlines by this: the watchdog ends a send first

#: Builds a connected (not yet logged-in) SMTP client for the settings; the default is
#: :func:`default_smtp_factory`. Tests or special set-ups pass their own.
SmtpFactory = Callable[["EmailSettings", "ssl.SSLContext | None"], smtplib.SMTP]

_LOCAL = r"[^\s@<>(),;:\"\[\]\\]+"
_LABEL = r"[^\s@<>(),;:\"\[\]\\.]+"
_ADDRESS = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*")
_HOST = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?|\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:]+")


@dataclass(frozen=True, kw_only=True, slots=True)
class EmailSettings:
    """The ``[alerts.email]`` keys (``from`` is ``from_addr`` here; ``to`` a tuple)."""

    enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: int | None = None  # None: 25 / 587 / 465 by ``security``
    security: str = "starttls"  # "none" | "starttls" | "ssl"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    from_addr: str = ""
    to: tuple[str, ...] = ()
    timeout_s: float = 30.0  # the whole conversation up to the end of the message data (and each read)
    data_timeout_s: float = 300.0  # the server's reply after the message data (RFC 5321 4.5.3.2.6: 10 min)

    @property
    def send_deadline_s(self) -> float:
        """The longest one send can take: ``timeout_s`` + ``data_timeout_s``."""
        return self.timeout_s + self.data_timeout_s

    def __post_init__(self) -> None:
        if isinstance(self.to, list):  # the config file gives a list
            object.__setattr__(self, "to", tuple(self.to))

    @property
    def port(self) -> int:
        """The port to connect to (``smtp_port`` or the default for ``security``)."""
        if self.smtp_port is not None:
            return self.smtp_port
        return DEFAULT_PORTS.get(self.security, 25)

    def describe(self) -> str:
        """``host:port (security)`` - secret-free, for messages."""
        return f"{self.smtp_host}:{self.port} ({self.security})"

    def validate(self) -> None:
        """Check the settings at start-up; raise :class:`ConfigError` naming the key.

        Nothing is checked when ``enabled`` is false (placeholders may stay in the file).
        """
        if not isinstance(self.enabled, bool):
            raise _config("enabled", f"expected true or false, got {self.enabled!r}")
        if not self.enabled:
            return
        if not isinstance(self.security, str) or self.security not in SECURITY_VALUES:
            raise _config("security", f"{self.security!r} is not one of {', '.join(SECURITY_VALUES)}")
        if not isinstance(self.smtp_host, str) or not _HOST.fullmatch(self.smtp_host.strip() or "-"):
            raise _config("smtp_host", f"{self.smtp_host!r} is not a host name or IP address")
        if self.smtp_port is not None and (
            isinstance(self.smtp_port, bool)
            or not isinstance(self.smtp_port, int)
            or not 1 <= self.smtp_port <= 65535
        ):
            raise _config("smtp_port", f"{self.smtp_port!r} is not a port number (1-65535)")
        if (
            isinstance(self.timeout_s, bool)
            or not isinstance(self.timeout_s, (int, float))
            or not math.isfinite(self.timeout_s)
            or not 0 < self.timeout_s <= 600
        ):
            raise _config("timeout_s", f"{self.timeout_s!r} is not a number of seconds in (0, 600]")
        if (
            isinstance(self.data_timeout_s, bool)
            or not isinstance(self.data_timeout_s, (int, float))
            or not math.isfinite(self.data_timeout_s)
            or not 0 < self.data_timeout_s <= 600
        ):
            raise _config("data_timeout_s", f"{self.data_timeout_s!r} is not a number of seconds in (0, 600]")
        if not isinstance(self.from_addr, str) or not looks_like_address(self.from_addr):
            raise _config("from", f"{self.from_addr!r} does not look like an e-mail address")
        if not isinstance(self.to, tuple):
            raise _config("to", f"expected a list of addresses, got {type(self.to).__name__}")
        if not self.to:
            raise _config("to", "needs at least one address when alerts.email.enabled is true")
        for index, address in enumerate(self.to):
            if not isinstance(address, str) or not looks_like_address(address):
                raise _config("to", f"entry {index} ({address!r}) does not look like an e-mail address")
        if self.username is not None and not isinstance(self.username, str):
            raise _config("username", "expected a string")
        if self.password is not None and not isinstance(self.password, str):
            raise _config("password", "expected a string (the value is not shown)")
        if self.username and not self.password:
            raise _config("password", f"is missing: username {self.username!r} is set, so a password is needed")
        if self.password and not self.username:
            raise _config("username", "is missing: a password is set but no username")
        if self.username and self.security == "none" and not _is_loopback(self.smtp_host):
            raise _config(
                "security",
                f"'none' would send the password unencrypted to {self.smtp_host}; "
                "use 'starttls' or 'ssl' ('none' with a login is allowed only for localhost)",
            )


def looks_like_address(text: str) -> bool:
    """``user@host`` or ``Name <user@host>``: exactly one address, no line breaks."""
    if "\n" in text or "\r" in text:
        return False
    parsed = getaddresses([text])
    return len(parsed) == 1 and bool(_ADDRESS.fullmatch(parsed[0][1]))


def default_smtp_factory(settings: EmailSettings, ssl_context: ssl.SSLContext | None) -> smtplib.SMTP:
    """``smtplib.SMTP_SSL`` for ``security = "ssl"``, ``smtplib.SMTP`` otherwise (connected).

    ``ssl_context`` is None only for ``security = "none"``.
    """
    return _connect(settings, ssl_context, None)


def _connect(settings: EmailSettings, ssl_context: ssl.SSLContext | None, watch: _Deadline | None) -> smtplib.SMTP:
    """The default factory; ``watch`` learns the socket as soon as it exists, so a server that
    drips its greeting (or the TLS handshake) is cut off at the deadline too."""

    def get_socket(smtp: smtplib.SMTP, host: str, port: int, timeout: float) -> socket.socket:
        sock = socket.create_connection((host, port), timeout, smtp.source_address)
        if watch is not None:
            watch.attach(sock)
        if settings.security == "ssl":
            assert ssl_context is not None
            return ssl_context.wrap_socket(sock, server_hostname=settings.smtp_host)
        return sock

    # with a watchdog, it ends the conversation (with a clear error) before a read times out
    timeout = settings.timeout_s + (WATCHDOG_FIRST_S if watch is not None else 0.0)
    smtp: Any = (smtplib.SMTP_SSL(timeout=timeout, context=ssl_context) if settings.security == "ssl"
                 else smtplib.SMTP(timeout=timeout))
    smtp._get_socket = functools.partial(get_socket, smtp)
    smtp._host = settings.smtp_host  # what smtplib passes as server_hostname to STARTTLS (set by __init__ otherwise)
    smtp.connect(settings.smtp_host, settings.port)
    return smtp


class _Deadline:
    """A watchdog for one SMTP conversation: when ``seconds`` have passed it shuts the socket
    down, so a blocked read returns at once however slowly the server drips its bytes (the
    socket timeout alone only bounds each read). :meth:`restart` gives the reply after the
    message data its own time."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = seconds
        self.what = what  # for the error message: which time ran out
        self.expired = False
        self._fd = -1
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.restart(seconds, what)

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._fd = sock.fileno()  # TLS wrapping keeps the descriptor
            expired = self.expired
        if expired:
            self._shutdown()

    def restart(self, seconds: float, what: str) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self.seconds, self.what = seconds, what
            self._timer = threading.Timer(seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        """Before the socket is closed: the descriptor must never be shut down once reused."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._fd = -1

    def _fire(self) -> None:
        self.expired = True
        self._shutdown()

    def _shutdown(self) -> None:
        with self._lock:
            if self._fd < 0:
                return
            sock = socket.socket(fileno=self._fd)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            finally:
                sock.detach()


def _watch_data_reply(smtp: smtplib.SMTP, watch: _Deadline, data_timeout_s: float) -> None:
    """Once the message data (ending ``CRLF . CRLF``) is sent, the reply gets ``data_timeout_s``."""
    send = smtp.send

    def send_then_wait(data: bytes | str) -> None:
        send(data)
        if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n"):
            watch.restart(data_timeout_s, f"the reply to the message data ({KEY_PREFIX}.data_timeout_s)")
            if smtp.sock is not None:
                smtp.sock.settimeout(data_timeout_s + WATCHDOG_FIRST_S)

    smtp.send = send_then_wait  # type: ignore[method-assign,assignment]


class EmailChannel:
    """Sends alerts by e-mail. ``name`` is ``"email"``."""

    def __init__(
        self,
        settings: EmailSettings,
        *,
        smtp_factory: SmtpFactory = default_smtp_factory,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], datetime] | None = None,
        name: str = "email",
    ) -> None:
        self.settings = settings
        self.name = name
        self._smtp_factory = smtp_factory
        self._ssl_context = ssl_context
        self._clock = clock or (lambda: datetime.now(UTC))

    def __repr__(self) -> str:
        return f"EmailChannel(name={self.name!r}, server={self.settings.describe()!r}, to={len(self.settings.to)})"

    def validate(self) -> None:
        """Same as :meth:`EmailSettings.validate`."""
        self.settings.validate()

    def send(self, alert: Alert | Sequence[Alert], idempotency_key: str) -> None:
        """Send one alert (or a group as one message); return when the server accepted it, else
        raise :class:`DeliveryError`."""
        s = self.settings
        message = render_email(alert, idempotency_key=idempotency_key, from_addr=s.from_addr, to=s.to, now=self._clock())
        sender = envelope_address(s.from_addr)
        recipients = [envelope_address(address) for address in s.to]
        # A verifying context (system CAs, host name checked) unless one was given; none for plain.
        context = self._ssl_context or (ssl.create_default_context() if s.security != "none" else None)
        step = "connect"
        smtp: smtplib.SMTP | None = None
        watch = _Deadline(s.timeout_s, f"the conversation up to the message data ({KEY_PREFIX}.timeout_s)")
        try:
            if self._smtp_factory is default_smtp_factory:
                smtp = _connect(s, context, watch)
            else:
                smtp = self._smtp_factory(s, context)
                if smtp.sock is not None:
                    watch.attach(smtp.sock)
            _watch_data_reply(smtp, watch, s.data_timeout_s)
            if s.security == "starttls":
                step = "starttls"
                smtp.ehlo()
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(self._describe_error("the server does not offer STARTTLS (not sending in clear)"),
                                        permanent=True)
                smtp.starttls(context=context or ssl.create_default_context())
                smtp.ehlo()
            if s.username:
                step = "login"
                smtp.login(s.username, s.password or "")
            step = "send"
            refused = smtp.send_message(message, from_addr=sender, to_addrs=recipients)
        except DeliveryError:
            watch.cancel()
            _close(smtp)
            raise
        except (smtplib.SMTPException, OSError, ValueError, UnicodeError) as exc:
            watch.cancel()  # always before closing: a closed descriptor may be reused at once
            _close(smtp)
            if watch.expired:
                raise DeliveryError(self._describe_error(
                    f"deadline exceeded during {step}: {watch.what} took longer than {watch.seconds:g} s")) from None
            if step == "login" and isinstance(exc, UnicodeError):  # a setting, not the message: never retried
                key = f"{KEY_PREFIX}.{'username' if not (s.username or '').isascii() else 'password'}"
                raise DeliveryError(self._describe_error(
                    f"login impossible: config key {key} has non-ASCII characters, which SMTP AUTH cannot send "
                    "(the value is not shown); change it, then `loadmon alerts deliver --retry-failed`"),
                    permanent=True, key=key) from None
            raise DeliveryError(self._describe_error(self._explain(exc, step)), permanent=_permanent(exc)) from None
        except BaseException:  # anything unexpected: the watchdog must not outlive the socket
            watch.cancel()
            _close(smtp)
            raise
        # The message is accepted (250 after DATA): from here on, nothing is an error.
        watch.cancel()
        _quit(smtp)
        if refused:
            # Some recipients took it, so a retry would duplicate it for them: report, don't raise.
            log.warning(
                "email %s accepted by %s but refused for %s",
                idempotency_key,
                s.describe(),
                ", ".join(f"{addr} ({code} {_text(msg)})" for addr, (code, msg) in refused.items()),
            )

    # -- error messages -------------------------------------------------------------------

    def _describe_error(self, reason: str) -> str:
        return self._scrub(f"email via {self.settings.describe()}: {reason}")

    def _explain(self, exc: BaseException, step: str) -> str:
        s = self.settings
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return f"login as {s.username!r} rejected: {exc.smtp_code} {_text(exc.smtp_error)}"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            details = ", ".join(f"{addr} ({code} {_text(msg)})" for addr, (code, msg) in exc.recipients.items())
            return f"all recipients refused: {details}"
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return f"sender {exc.sender!r} refused: {exc.smtp_code} {_text(exc.smtp_error)}"
        if isinstance(exc, smtplib.SMTPDataError):
            return f"message refused: {exc.smtp_code} {_text(exc.smtp_error)}"
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return f"not supported by the server during {step}: {exc}"
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return f"the server closed the connection during {step}: {exc or 'no reason given'}"
        if isinstance(exc, smtplib.SMTPResponseException):
            return f"{step} failed: {exc.smtp_code} {_text(exc.smtp_error)}"
        if isinstance(exc, ConnectionRefusedError):
            return "connection refused (is the SMTP server running and the port right?)"
        if isinstance(exc, socket.gaierror):
            return f"cannot resolve host {s.smtp_host!r} ({exc.strerror or exc})"
        if isinstance(exc, (TimeoutError, socket.timeout)):
            return f"timed out after {s.timeout_s:g} s during {step}"
        if isinstance(exc, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted during {step}: {exc.verify_message or exc}"
        if isinstance(exc, ssl.SSLError):
            if exc.reason == "WRONG_VERSION_NUMBER":
                return (
                    f"TLS failed during {step}: the server did not answer with TLS "
                    "(a plain or STARTTLS port? then use security = \"starttls\" or \"none\")"
                )
            return f"TLS failed during {step}: {exc.reason or exc}"
        if isinstance(exc, OSError):
            return f"network error during {step}: {exc.strerror or exc}"
        if isinstance(exc, UnicodeError):
            return f"the message or an address cannot be encoded for this server: {exc}"
        return f"{step} failed: {type(exc).__name__}: {exc}"

    def _scrub(self, text: str) -> str:
        """Remove the password (and its AUTH PLAIN/LOGIN encodings) from ``text``."""
        password = self.settings.password
        if not password:
            return text
        user = self.settings.username or ""
        secrets = {
            password,
            base64.b64encode(password.encode()).decode(),
            base64.b64encode(f"\0{user}\0{password}".encode()).decode(),
            base64.b64encode(f"{user}\0{user}\0{password}".encode()).decode(),
        }
        for secret in sorted(secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass
    finally:
        _close(smtp)


def _close(smtp: smtplib.SMTP | None) -> None:
    if smtp is None:
        return
    try:
        smtp.close()
    except OSError:
        pass


def _is_loopback(host: str) -> bool:
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _config(key: str, problem: str) -> ConfigError:
    full_key = f"{KEY_PREFIX}.{key}"
    return ConfigError(f"{full_key}: {problem}", key=full_key)


def _permanent(exc: BaseException) -> bool:
    """An SMTP 5xx reply is a permanent refusal (RFC 5321 4.2.1); 4xx, timeouts and network
    errors are transient. All recipients refused counts as permanent only when every one was 5xx."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(500 <= int(code) <= 599 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= int(exc.smtp_code) <= 599
    return False
