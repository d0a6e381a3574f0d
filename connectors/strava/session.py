"""The HTTP session every Strava call goes through, pointed at ``[strava] api_url``.

stravalib builds ``https://www.strava.com/...`` URLs itself (OAuth token exchange, refresh,
deauthorisation and ``/api/v3`` calls). :func:`make_session` mounts a transport adapter on that
prefix which rewrites scheme, host and port (and prepends a path prefix, if any) to ``api_url``,
so a Strava-compatible server on ``http://127.0.0.1:PORT`` receives everything. It also gives
every request a timeout (stravalib sets none) and bypasses proxies for loopback targets.

The timeout of requests bounds each read only: a server that trickles one byte every 20 s
would keep a request going for hours. Every request therefore also has a **deadline** for the
whole exchange (connect, headers and body: ``deadline_s``, ``[strava] request_deadline_s``): a
watchdog shuts the connection's socket down when it passes, and the request fails with
:class:`RequestDeadlineExceeded` (a ``requests.Timeout``, retried like any network error).
"""

from __future__ import annotations

import socket
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
import urllib3.connection
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from loadmon.errors import ConfigError

STRAVA_URL = "https://www.strava.com"
DEFAULT_TIMEOUT_S: tuple[float, float] = (10.0, 60.0)  # connect, read
DEFAULT_DEADLINE_S = 60.0  # one whole request (connect, headers, body)
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _parse_api_url(api_url: str) -> tuple[str, str, str]:
    parts = urlsplit(api_url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"strava.api_url {api_url!r} is not an http(s) URL", key="strava.api_url")
    return parts.scheme, parts.netloc, parts.path.rstrip("/")


def rewrite_url(url: str, api_url: str) -> str:
    """``https://www.strava.com/<path>?<q>`` re-rooted at ``api_url`` (other URLs unchanged)."""
    parts = urlsplit(url)
    if parts.netloc.lower() not in {"www.strava.com", "strava.com"}:
        return url
    scheme, netloc, prefix = _parse_api_url(api_url)
    return urlunsplit((scheme, netloc, prefix + parts.path, parts.query, parts.fragment))


class RequestDeadlineExceeded(requests.exceptions.Timeout):
    """The whole request took longer than its deadline (the server trickled its answer)."""


class _Watchdog:
    """Shuts down the sockets of the connections a request uses once ``seconds`` have passed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._conns: list[Any] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, conn: Any) -> None:
        with self._lock:
            self._conns.append(conn)
            expired = self.expired
        if expired:
            self._fire()

    def cancel(self) -> None:
        with self._lock:
            self._timer.cancel()
            self._conns.clear()

    def _fire(self) -> None:
        with self._lock:
            self.expired = True
            for conn in self._conns:
                sock = getattr(conn, "sock", None)
                if sock is not None and sock.fileno() >= 0:
                    try:  # the plain socket's shutdown (also under TLS): a blocked read returns at once
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
                    except OSError:
                        pass


_current = threading.local()  # the watchdog of the request this thread is sending


class _WatchedMixin:
    """A urllib3 connection that hands itself to the current request's watchdog."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watchdog: _Watchdog | None = getattr(_current, "watchdog", None)
        if watchdog is not None:
            watchdog.watch(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_WatchedMixin, urllib3.connection.HTTPConnection):
    pass


class _HTTPSConnection(_WatchedMixin, urllib3.connection.HTTPSConnection):
    pass


class _HTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class StravaRewriteAdapter(HTTPAdapter):
    """Sends ``https://www.strava.com/...`` requests to ``api_url`` instead, with a default
    timeout per read and a deadline for each whole request."""

    def __init__(self, api_url: str, *, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT_S,
                 deadline_s: float = DEFAULT_DEADLINE_S, **kw: Any) -> None:
        _parse_api_url(api_url)  # validate early
        super().__init__(**kw)
        self.api_url = api_url
        self.timeout = timeout
        self.deadline_s = deadline_s

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        original = request.url or ""
        request.url = rewrite_url(original, self.api_url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if request.url != original:
            host = (urlsplit(request.url).hostname or "").lower()
            # Proxies were chosen for www.strava.com; choose again for the real target.
            kwargs["proxies"] = {} if host in _LOOPBACK else get_environ_proxies(request.url)
        stream = bool(kwargs.get("stream"))
        watchdog = _Watchdog(self.deadline_s)
        _current.watchdog = watchdog
        try:
            response = super().send(request, **{**kwargs, "stream": True})
            if not stream:
                response.content  # noqa: B018 - the body, read while the watchdog runs
        except Exception:
            if watchdog.expired:
                raise RequestDeadlineExceeded(self._late(request), request=request) from None
            raise
        finally:
            _current.watchdog = None
            watchdog.cancel()
        if watchdog.expired and not stream:  # cut short without an error (a body without Content-Length)
            raise RequestDeadlineExceeded(self._late(request), request=request)
        return response

    def _late(self, request: requests.PreparedRequest) -> str:
        path = urlsplit(request.url or "").path
        return f"no complete answer to {request.method} {path} within {self.deadline_s:g} s (strava.request_deadline_s)"


def make_session(api_url: str = STRAVA_URL, *, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT_S,
                 deadline_s: float = DEFAULT_DEADLINE_S) -> requests.Session:
    """A :class:`requests.Session` whose Strava requests go to ``api_url`` (default: the real Strava),
    each within ``deadline_s`` seconds as a whole."""
    session = requests.Session()
    adapter = StravaRewriteAdapter(api_url, timeout=timeout, deadline_s=deadline_s)
    session.mount("https://www.strava.com/", adapter)
    session.mount("https://strava.com/", adapter)
    session.headers["User-Agent"] = "loadmon"
    return session
