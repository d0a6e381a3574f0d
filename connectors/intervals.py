"""intervals.icu (https://intervals.icu/api/v1): list an athlete's activities and download their files.

A hub that already receives Garmin, COROS, Suunto, Wahoo and Polar uploads: loadmon lists the
activities (``GET /api/v1/athlete/{id}/activities?oldest=&newest=``) and downloads each one's
original file (``GET /api/v1/activity/{id}/file``: the FIT, GPX or TCX the device wrote, often
gzipped), or, when there is none, the FIT file intervals.icu makes of it (``/fit-file``). Auth:
HTTP basic with the user name ``API_KEY`` and the API key as the password (the key never appears in
a URL, a log or an error).

Rate courtesy: at least ``min_interval_s`` between two requests; a 429 is waited out
(``Retry-After``, at most :data:`MAX_WAIT_S`) and retried twice. The HTTP session and the clock are
passed in (tests point them at a local intervals.icu-compatible server). Connectors never touch
the database: the service stores what this returns.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import requests

from loadmon.errors import IntervalsError

__all__ = ["IntervalsActivity", "IntervalsClient", "file_format", "MAX_WAIT_S"]

MAX_WAIT_S = 120.0
_TIMEOUT = (10.0, 60.0)


@dataclass(frozen=True, kw_only=True, slots=True)
class IntervalsActivity:
    activity_id: str  # "i12345678"
    start_time: datetime | None  # UTC
    activity_type: str | None  # "Run", "Ride", ...
    name: str | None
    source: str | None  # where intervals.icu got it: GARMIN_CONNECT, STRAVA, UPLOAD, ...
    distance_m: float | None


def file_format(data: bytes) -> str | None:
    """``fit``, ``gpx`` or ``tcx`` from the bytes (gunzipped); None when none of them."""
    if len(data) >= 12 and data[8:12] == b".FIT":
        return "fit"
    head = data[:2048].lstrip(b"\xef\xbb\xbf").lower()
    if b"<gpx" in head:
        return "gpx"
    if b"<trainingcenterdatabase" in head:
        return "tcx"
    return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(UTC)


class IntervalsClient:
    """One athlete's activities on intervals.icu (``session``, ``clock`` and ``sleep`` passed in)."""

    def __init__(
        self,
        *,
        api_url: str,
        athlete_id: str,
        api_key: str,
        session: requests.Session,
        min_interval_s: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._base = api_url.rstrip("/") + "/api/v1"
        self._athlete = athlete_id
        self._auth = ("API_KEY", api_key)
        self._session = session
        self._min_interval = min_interval_s
        self._sleep = sleep
        self._monotonic = monotonic
        self._last: float | None = None
        self.requests_made = 0

    def __repr__(self) -> str:  # never the key
        return f"IntervalsClient(athlete_id={self._athlete!r}, api_url={self._base!r})"

    def _get(self, path: str, params: dict[str, str] | None = None) -> requests.Response:
        for attempt in range(3):
            if self._last is not None:
                wait = self._min_interval - (self._monotonic() - self._last)
                if wait > 0:
                    self._sleep(wait)
            self._last = self._monotonic()
            self.requests_made += 1
            try:
                response = self._session.get(self._base + path, params=params, auth=self._auth, timeout=_TIMEOUT)
            except requests.RequestException as exc:
                raise IntervalsError(
                    f"intervals.icu could not be reached for {path} ({type(exc).__name__})", status=None, path=path, reason="network"
                ) from None
            if response.status_code == 429 and attempt < 2:
                try:
                    retry = float(response.headers.get("Retry-After", "10"))
                except ValueError:
                    retry = 10.0
                self._sleep(min(max(retry, 1.0), MAX_WAIT_S))
                continue
            if response.status_code in (401, 403):
                raise IntervalsError(
                    f"intervals.icu refused the API key for athlete {self._athlete} on {path} "
                    f"(HTTP {response.status_code}): check intervals.athlete_id and intervals.api_key",
                    status=response.status_code,
                    path=path,
                    reason="auth",
                )
            if response.status_code == 404:
                raise IntervalsError(f"intervals.icu has no {path} (HTTP 404)", status=404, path=path, reason="not_found")
            if response.status_code == 429:
                raise IntervalsError(
                    f"intervals.icu kept answering 429 (too many requests) on {path}", status=429, path=path, reason="rate_limited"
                )
            if response.status_code >= 400:
                raise IntervalsError(
                    f"intervals.icu answered HTTP {response.status_code} on {path}", status=response.status_code, path=path, reason="server"
                )
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def list_activities(self, oldest: date, newest: date) -> list[IntervalsActivity]:
        """The athlete's activities that started from ``oldest`` to ``newest`` (local days), oldest first."""
        path = f"/athlete/{self._athlete}/activities"
        try:
            items = self._get(path, {"oldest": oldest.isoformat(), "newest": newest.isoformat()}).json()
        except ValueError:
            raise IntervalsError(
                f"intervals.icu answered {path} with something that is not JSON", status=200, path=path, reason="server"
            ) from None
        if not isinstance(items, list):
            raise IntervalsError(
                f"intervals.icu answered {path} with a {type(items).__name__}, not a list", status=200, path=path, reason="server"
            )
        out = []
        for item in items:
            if not isinstance(item, dict) or not item.get("id"):
                continue
            distance = item.get("distance")
            out.append(
                IntervalsActivity(
                    activity_id=str(item["id"]),
                    start_time=_time(item.get("start_date")),
                    activity_type=item.get("type") if isinstance(item.get("type"), str) else None,
                    name=item.get("name") if isinstance(item.get("name"), str) else None,
                    source=item.get("source") if isinstance(item.get("source"), str) else None,
                    distance_m=float(distance) if isinstance(distance, (int, float)) else None,
                )
            )
        out.sort(key=lambda a: (a.start_time or datetime.min.replace(tzinfo=UTC), a.activity_id))
        return out

    def download(self, activity_id: str) -> bytes:
        """The activity's original file (gunzipped), else the FIT intervals.icu makes of it."""
        try:
            data = self._get(f"/activity/{activity_id}/file").content
        except IntervalsError as exc:
            if exc.reason != "not_found":
                raise
            data = self._get(f"/activity/{activity_id}/fit-file").content
        if data[:2] == b"\x1f\x8b":
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError) as exc:
                raise IntervalsError(
                    f"intervals.icu sent a broken gzip file for activity {activity_id} ({exc})",
                    status=200,
                    path=f"/activity/{activity_id}/file",
                    reason="server",
                ) from None
        return data
