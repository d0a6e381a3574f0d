"""The push channel: alerts through apprise URLs (ntfy, Gotify, JSON webhooks, Telegram, ...).

URLs come from ``[alerts] push_urls``. They often carry tokens, so they never appear whole
in a message: :func:`mask_url` keeps the scheme, a host that looks like a real host
(``127.0.0.1``, ``ntfy.example.org``) and the port, and hides everything else.

Plain HTTP on 127.0.0.1 works with ``json://127.0.0.1:PORT/path`` (POSTs
``{"version","title","message","attachments","type"}`` to ``http://127.0.0.1:PORT/path``)
and ``ntfy://127.0.0.1:PORT/topic`` (private-server mode: POSTs
``{"topic","title","message"}`` as JSON to ``http://127.0.0.1:PORT/``). The ``s`` forms
(``jsons://``, ``ntfys://``) use HTTPS. A bare ``ntfy://topic`` means the public ntfy.sh.

Each send builds a fresh :class:`apprise.Apprise` (no state between sends: no throttling
left over from the previous send, no persistent storage: ``storage_mode="memory"``,
``async_mode=False``: the services of one channel are notified one after the other in the
calling thread). Apprise reports failure only as ``False``; the channel collects apprise's
warning log lines during the call and puts them, scrubbed of the URL's secret parts, in the
:class:`~loadmon.errors.DeliveryError`. No apprise log line written during our calls reaches
the log handlers (its debug lines can quote tokens, e.g. ntfy's ``Authorization`` header).
"""

from __future__ import annotations

import ipaddress
import logging
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import apprise

from alerts.alert import Alert
from alerts.delivery.render import IDEMPOTENCY_HEADER, as_group, render_push
from loadmon.domain import AlertSeverity
from loadmon.errors import ConfigError, DeliveryError, LoadmonError

CONFIG_KEY = "alerts.push_urls"
APPRISE_LOGGER = "apprise"

#: Builds an empty :class:`apprise.Apprise`; default :func:`default_apprise_factory`.
AppriseFactory = Callable[[], "apprise.Apprise"]

_NOTIFY_TYPES = {
    AlertSeverity.INFO: apprise.NotifyType.INFO,
    AlertSeverity.WARNING: apprise.NotifyType.WARNING,
    AlertSeverity.DANGER: apprise.NotifyType.FAILURE,
}
# Plugins whose payload can carry extra fields (custom JSON / form / XML webhooks).
_PAYLOAD_EXTRA_PROTOCOLS = frozenset({"json", "jsons", "form", "forms", "xml", "xmls"})
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_DNS_NAME = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_capture_lock = threading.Lock()


def default_apprise_factory() -> apprise.Apprise:
    """An :class:`apprise.Apprise` that sends synchronously and keeps nothing on disk."""
    try:
        asset = apprise.AppriseAsset(async_mode=False, storage_mode="memory")
    except Exception:  # apprise < 1.9 has no persistent storage (nothing to turn off)
        asset = apprise.AppriseAsset(async_mode=False)
    return apprise.Apprise(asset=asset)


def mask_url(url: str) -> str:
    """A secret-free label for an apprise URL: ``scheme://host[:port]`` plus ``/…`` if more.

    The host is shown only when it is an IP address, ``localhost`` or a dotted DNS name;
    otherwise it is often a token or a secret topic (``tgram://BOTTOKEN/...``,
    ``ntfy://secret-topic``) and shows as ``***``. User names and passwords never show.
    """
    if not isinstance(url, str) or "://" not in url:
        return "<not an apprise URL>"
    scheme, rest = url.split("://", 1)
    scheme = scheme if _SCHEME.fullmatch(scheme) else "?"
    split = re.match(r"([^/?#]*)(.*)", rest, re.DOTALL)
    assert split is not None  # the pattern matches any string
    netloc, tail = split.group(1), split.group(2)
    more = bool(tail.strip("/"))
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):
        host, _, port = hostport[1:].partition("]")
        port = port[1:] if port.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    shown = host if _host_is_safe(host) else "***"
    if shown == "***" and not host:
        shown = ""
    if ":" in shown:
        shown = f"[{shown}]"
    port_text = f":{port}" if port.isdigit() and shown not in ("", "***") else ""
    return f"{scheme}://{shown}{port_text}{'/…' if more else ''}"


def _host_is_safe(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return bool(_DNS_NAME.fullmatch(host))


class PushChannel:
    """Sends alerts to one or more apprise URLs (``name`` defaults to ``"push"``).

    Prefer one channel per URL (:func:`build_push_channels`): the outbox keeps one row per
    channel, so a failure on one URL does not make the others send again.
    ``first_index`` is the position of ``urls[0]`` in ``alerts.push_urls`` (for messages).
    """

    def __init__(
        self,
        urls: Sequence[str],
        *,
        name: str = "push",
        apprise_factory: AppriseFactory = default_apprise_factory,
        first_index: int = 0,
    ) -> None:
        if isinstance(urls, str):
            raise TypeError("urls must be a sequence of URLs, not one string")
        self.name = name
        self.urls: tuple[str, ...] = tuple(urls)
        self._factory = apprise_factory
        self._first_index = first_index

    def __repr__(self) -> str:
        return f"PushChannel(name={self.name!r}, urls={[mask_url(u) for u in self.urls]!r})"

    def labels(self) -> list[str]:
        """``alerts.push_urls[i] (masked URL)`` for each URL."""
        return [self._label(i) for i in range(len(self.urls))]

    def _label(self, offset: int) -> str:
        return f"{CONFIG_KEY}[{self._first_index + offset}] ({mask_url(self.urls[offset])})"

    def validate(self) -> None:
        """Check every URL at start-up: :class:`ConfigError` names its index (not its secrets)."""
        if not self.urls:
            raise ConfigError(f"{CONFIG_KEY}: no URL given for push channel {self.name!r}", key=CONFIG_KEY)
        for offset, url in enumerate(self.urls):
            self._load(url, offset, error=ConfigError)

    def _load(self, url: str, offset: int, *, error: type[ConfigError] | type[DeliveryError]) -> apprise.Apprise:
        label = self._label(offset)
        if not isinstance(url, str) or not url.strip():
            raise _make(error, f"{label}: empty or not a string")
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        apobj = self._factory()
        with _apprise_log() as lines:  # apprise logs the whole (secret) URL when it rejects one
            ok = apobj.add(url)
        del lines
        if not ok:
            if not scheme:
                problem = "is not an apprise URL (expected scheme://...)"
            elif scheme not in _known_schemes():
                problem = f"has an unknown apprise scheme {scheme!r}"
            else:
                problem = f"is not a valid {scheme}:// URL (a required part is missing or malformed)"
            raise _make(error, f"{label} {problem}")
        return apobj

    def send(self, alert: Alert | Sequence[Alert], idempotency_key: str) -> None:
        """Notify every URL (one alert, or a group as one push); raise :class:`DeliveryError`
        naming each URL that failed and why."""
        message = render_push(alert, idempotency_key)
        notify_type = _NOTIFY_TYPES.get(as_group(alert)[0].severity, apprise.NotifyType.INFO)
        failures: list[str] = []
        for offset, url in enumerate(self.urls):
            try:
                apobj = self._load(url, offset, error=DeliveryError)
            except DeliveryError as exc:
                failures.append(str(exc))
                continue
            for service in apobj:
                _tag_with_key(service, idempotency_key)
            with _apprise_log() as lines:
                result: object
                try:
                    result = apobj.notify(
                        body=message.body,
                        title=message.title,
                        notify_type=notify_type,
                        body_format=apprise.NotifyFormat.TEXT,
                    )
                except Exception as exc:  # a plugin bug must not crash the outbox
                    lines.append(f"apprise raised {type(exc).__name__}: {exc}")
                    result = False
            if not result:
                reason = "; ".join(dict.fromkeys(line for line in lines if line)) or "apprise reported a failure"
                failures.append(f"{self._label(offset)}: {_scrub(reason, url)}")
        if failures:
            raise DeliveryError(f"push {self.name!r} failed: " + " | ".join(failures))


def build_push_channels(
    urls: Sequence[str], *, apprise_factory: AppriseFactory = default_apprise_factory
) -> list[PushChannel]:
    """One :class:`PushChannel` per URL, named ``push[0]``, ``push[1]``, ... (by position)."""
    if isinstance(urls, str):
        raise ConfigError(f"{CONFIG_KEY}: expected a list of URLs, got one string", key=CONFIG_KEY)
    return [
        PushChannel([url], name=f"push[{index}]", apprise_factory=apprise_factory, first_index=index)
        for index, url in enumerate(urls)
    ]


def _tag_with_key(service: object, idempotency_key: str) -> None:
    """Carry the key as an HTTP header / payload field where the plugin allows it."""
    headers = getattr(service, "headers", None)
    if isinstance(headers, dict):
        headers.setdefault(IDEMPOTENCY_HEADER, idempotency_key)
    extras = getattr(service, "payload_extras", None)
    protocol = str(getattr(service, "secure_protocol" if getattr(service, "secure", False) else "protocol", ""))
    if isinstance(extras, dict) and protocol in _PAYLOAD_EXTRA_PROTOCOLS:
        extras.setdefault("idempotency_key", idempotency_key)


def _make(error: type[ConfigError] | type[DeliveryError], message: str) -> LoadmonError:
    if error is ConfigError:
        return ConfigError(message, key=CONFIG_KEY)
    return DeliveryError(message)


def _known_schemes() -> frozenset[str]:
    try:
        from apprise.manager_plugins import NotificationManager

        return frozenset(s.lower() for s in NotificationManager().schemas())
    except Exception:  # older/newer apprise layout: the generic message is still right
        return frozenset()


def _scrub(text: str, url: str) -> str:
    """Replace the URL and the parts of it that may be secret with masks in ``text``."""
    if not url:
        return text
    text = text.replace(url, mask_url(url))
    for secret in sorted(_secret_parts(url), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _secret_parts(url: str) -> set[str]:
    """User-info, a host that is not a plain host name, long path segments and query values."""
    if "://" not in url:
        return {url}
    rest = url.split("://", 1)[1]
    split = re.match(r"([^/?#]*)([^?#]*)\??([^#]*)", rest)
    assert split is not None
    netloc, path, query = split.groups()
    userinfo, _, hostport = netloc.rpartition("@")
    host = hostport.partition(":")[0]
    parts = {userinfo, *userinfo.split(":")}
    if not _host_is_safe(host):
        parts.add(host)
    parts.update(segment for segment in path.split("/") if len(segment) >= 8)
    parts.update(value for pair in query.split("&") for value in pair.split("=")[1:] if len(value) >= 8)
    return {part for part in parts if len(part) >= 3}


class _Collect(logging.Filter):
    """Keeps apprise's WARNING+ lines and lets no apprise line through.

    Apprise's debug lines can quote tokens (e.g. ntfy logs its request headers, with
    ``Authorization: Bearer ...``), so nothing it logs during our calls reaches the handlers.
    """

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            try:
                self.lines.append(record.getMessage().strip())
            except Exception:
                self.lines.append(str(record.msg))
        return False


@contextmanager
def _apprise_log() -> Iterator[list[str]]:
    """Collect apprise's warning/error log lines while the block runs."""
    logger = logging.getLogger(APPRISE_LOGGER)
    collect = _Collect()
    with _capture_lock:
        logger.addFilter(collect)
        old_level = logger.level
        if logger.getEffectiveLevel() > logging.WARNING:
            logger.setLevel(logging.WARNING)
    try:
        yield collect.lines
    finally:
        with _capture_lock:
            logger.removeFilter(collect)
            logger.setLevel(old_level)
