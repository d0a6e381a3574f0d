"""The HTTP session every Strava call goes through, pointed at ``[strava] api_url``.

stravalib builds ``https://www.strava.com/...`` URLs itself (OAuth token exchange, refresh,
deauthorisation and ``/api/v3`` calls). :func:`make_session` mounts a transport adapter on that
prefix which rewrites scheme, host and port (and prepends a path prefix, if any) to ``api_url``,
so a Strava-compatible server on ``http://127.0.0.1:PORT`` receives everything. It also gives
every request a timeout (stravalib sets none) and bypasses proxies for loopback targets.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

from loadmon.errors import ConfigError

STRAVA_URL = "https://www.strava.com"
DEFAULT_TIMEOUT_S: tuple[float, float] = (10.0, 60.0)  # connect, read
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


class StravaRewriteAdapter(HTTPAdapter):
    """Sends ``https://www.strava.com/...`` requests to ``api_url`` instead, with a default timeout."""

    def __init__(self, api_url: str, *, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT_S, **kw: Any) -> None:
        _parse_api_url(api_url)  # validate early
        super().__init__(**kw)
        self.api_url = api_url
        self.timeout = timeout

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        original = request.url or ""
        request.url = rewrite_url(original, self.api_url)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if request.url != original:
            host = (urlsplit(request.url).hostname or "").lower()
            # Proxies were chosen for www.strava.com; choose again for the real target.
            kwargs["proxies"] = {} if host in _LOOPBACK else get_environ_proxies(request.url)
        return super().send(request, **kwargs)


def make_session(api_url: str = STRAVA_URL, *, timeout: tuple[float, float] | float = DEFAULT_TIMEOUT_S) -> requests.Session:
    """A :class:`requests.Session` whose Strava requests go to ``api_url`` (default: the real Strava)."""
    session = requests.Session()
    adapter = StravaRewriteAdapter(api_url, timeout=timeout)
    session.mount("https://www.strava.com/", adapter)
    session.mount("https://strava.com/", adapter)
    session.headers["User-Agent"] = "loadmon"
    return session
