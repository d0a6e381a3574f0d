"""A Strava-compatible HTTP server for tests (standard library only; also runs as a subprocess).

In-memory state: one API application (client id/secret), athletes, OAuth codes and tokens,
activities (JSON shaped like the real responses in ``shared/fixtures/strava``) and their
streams. Endpoints:

* ``GET /oauth/authorize`` - auto-approves for ``authorize_athlete_id`` and redirects to
  ``redirect_uri?state=..&code=..&scope=..`` (no browser needed);
* ``POST /oauth/token`` - ``grant_type=authorization_code`` (single-use codes; the response
  carries the athlete) and ``refresh_token`` (rotates the refresh token: the old one stops
  working); an unknown refresh token answers ``invalid_refresh_status`` (Strava: 400);
* ``POST /oauth/deauthorize`` (and ``/api/v3/oauth/deauthorize``, where stravalib posts);
* ``GET /api/v3/athlete``, ``/api/v3/athlete/activities`` (``before``/``after``/``page``/
  ``per_page`` <= 200; ascending by start when ``after`` is given, otherwise newest first),
  ``/api/v3/activities/{id}``, ``/api/v3/activities/{id}/streams`` (``keys``, ``key_by_type``).

Push subscriptions (webhooks), like Strava's: ``POST /api/v3/push_subscriptions`` (client
id/secret in the body) first validates the callback with a GET carrying ``hub.mode``,
``hub.challenge`` and ``hub.verify_token`` (the answer must echo the challenge within 2 s), then
creates the application's one subscription; ``GET`` lists it, ``DELETE .../{id}`` removes it.
:meth:`StravaState.push_event` (``POST /_admin/push_event`` for a subprocess) POSTs an event
(``subscription_id``, ``owner_id``, ``object_type``, ``object_id``, ``aspect_type``,
``event_time``, ``updates``) to the callback URL over HTTP and returns the HTTP status.

Rate limits like Strava's: read (GET) and overall limits per window and per UTC day; windows
are computed from an injectable clock (``window_s``, default 900 = :00/:15/:30/:45); every API
response carries ``X-RateLimit-*`` and ``X-ReadRateLimit-*``; over the limit -> 429 (not
counted). The server counts requests per window and remembers the maximum, so tests can assert
the budget was never exceeded.

Fault injection: :meth:`StravaServer.inject` makes the next N matching API requests answer
500/503/429/401, 403 "application inactive", a malformed (non-JSON) body, drop the
connection, or ``trickle`` (the real answer, its body one byte at a time over ``trickle_s``
real seconds; ``trickles_cut`` counts the clients that hung up before its end);
``streams_missing`` ids answer 404 on streams; :meth:`StravaServer.expire_access_tokens` makes access tokens
expire at a given clock time (-> 401 with Strava's error JSON).

Use: ``with StravaServer(clock=sim.now) as server: ... server.url`` (or the pytest fixtures in
``tests/strava/conftest.py``), or ``python tests/strava_server.py --port 0 --state state.json``
(prints ``strava-test-server listening on http://127.0.0.1:PORT``; ``/_admin/*`` endpoints
inspect and change the state of a running subprocess).
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

DAY_S = 86_400
TOKEN_TTL_S = 6 * 3600
STREAM_TYPES = ("time", "latlng", "distance", "altitude", "velocity_smooth", "heartrate", "cadence", "watts",
                "temp", "moving", "grade_smooth")


def utcnow() -> datetime:
    return datetime.now(UTC)


class SimClock:
    """A simulated UTC clock: ``now()`` for the server and the connector, ``sleep()`` advances it."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs an aware start time")
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self._now += timedelta(seconds=max(0.0, seconds))

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when


# -- Strava-shaped data -----------------------------------------------------------------------

def iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summary_activity(
    activity_id: int,
    *,
    athlete_id: int,
    start: datetime,
    sport_type: str = "Run",
    type_: str | None = None,
    distance_m: float = 10_000.0,
    moving_time_s: int = 3_000,
    elapsed_time_s: int | None = None,
    total_elevation_gain: float = 50.0,
    utc_offset_s: float = 3600.0,
    name: str | None = None,
    manual: bool = False,
    private: bool = False,
    trainer: bool = False,
    average_heartrate: float | None = 150.2,
    max_heartrate: float | None = 171.0,
    device_name: str | None = None,
    external_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A SummaryActivity shaped like ``athlete_activities_30.json`` (2025 API)."""
    local = start + timedelta(seconds=utc_offset_s)
    act: dict[str, Any] = {
        "resource_state": 2,
        "athlete": {"id": athlete_id, "resource_state": 1},
        "name": name if name is not None else f"{sport_type} {activity_id}",
        "distance": distance_m,
        "moving_time": moving_time_s,
        "elapsed_time": elapsed_time_s if elapsed_time_s is not None else moving_time_s + 30,
        "total_elevation_gain": total_elevation_gain,
        "type": type_ or ("Run" if sport_type in {"Run", "TrailRun", "VirtualRun"} else sport_type),
        "sport_type": sport_type,
        "workout_type": None,
        "id": activity_id,
        "start_date": iso_z(start),
        "start_date_local": local.replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": "(GMT+01:00) Europe/Paris",
        "utc_offset": utc_offset_s,
        "location_city": None,
        "location_state": None,
        "location_country": None,
        "achievement_count": 0,
        "kudos_count": 0,
        "comment_count": 0,
        "athlete_count": 1,
        "photo_count": 0,
        "map": {"id": f"a{activity_id}", "summary_polyline": "" if manual else "ki{eFvqfiVqAWQIGEEKAYJgBVqDJ{BHa@jAkNJw@Pw@V{@",
                "resource_state": 2},
        "trainer": trainer,
        "commute": False,
        "manual": manual,
        "private": private,
        "visibility": "only_me" if private else "everyone",
        "flagged": False,
        "gear_id": None,
        "start_latlng": [] if manual else [45.1, 5.7],
        "end_latlng": [] if manual else [45.1, 5.7],
        "average_speed": round(distance_m / moving_time_s, 3) if moving_time_s else 0.0,
        "max_speed": 5.1,
        "has_heartrate": average_heartrate is not None,
        "heartrate_opt_out": False,
        "display_hide_heartrate_option": average_heartrate is not None,
        "elev_high": 400.0,
        "elev_low": 400.0 - total_elevation_gain,
        "upload_id": None if manual else activity_id * 10 + 1,
        "upload_id_str": None if manual else str(activity_id * 10 + 1),
        "external_id": external_id if external_id is not None else (None if manual else f"{activity_id}.fit"),
        "from_accepted_tag": False,
        "pr_count": 0,
        "total_photo_count": 0,
        "has_kudoed": False,
    }
    if average_heartrate is not None:
        act["average_heartrate"] = average_heartrate
        act["max_heartrate"] = max_heartrate
    if device_name is not None:
        act["device_name"] = device_name
    act.update(extra)
    return act


def hill_streams(points: int = 120, *, climb_m: float = 40.0, base_m: float = 300.0, step_m: float = 10.0,
                 hr: int = 140) -> dict[str, list[Any]]:
    """Synthetic streams of an out-and-back over a hill: up ``climb_m``, back down to the start."""
    half = points // 2
    altitude = [round(base_m + climb_m * (i / half if i <= half else (points - 1 - i) / (points - 1 - half)), 1)
                for i in range(points)]
    return {
        "time": [i * 5 for i in range(points)],
        "distance": [round(i * step_m, 1) for i in range(points)],
        "altitude": altitude,
        "heartrate": [hr + (i % 7) for i in range(points)],
    }


# -- server state -----------------------------------------------------------------------------

@dataclass
class _Token:
    athlete_id: int
    expires_at: int  # epoch
    scope: str


@dataclass
class _Activity:
    athlete_id: int
    start_epoch: float
    body: dict[str, Any]
    streams: dict[str, list[Any]] | None = None


@dataclass
class _Fault:
    kind: str  # "500" | "502" | "503" | "429" | "401" | "403_inactive" | "malformed" | "drop" | "trickle"
    remaining: int
    path: str | None  # regex matched against the request path; None = any API request


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int
    window: str
    at: str


@dataclass
class WindowCount:
    read: int = 0
    overall: int = 0
    rejected: int = 0


@dataclass
class Limits:
    read_15min: int = 100
    read_daily: int = 1000
    overall_15min: int = 200
    overall_daily: int = 2000
    window_s: int = 900


class StravaState:
    """Everything the fake Strava knows; all methods are thread-safe."""

    def __init__(self, *, client_id: int = 4242, client_secret: str = "test-client-secret",
                 clock: Callable[[], datetime] = utcnow, limits: Limits | None = None,
                 token_ttl_s: int = TOKEN_TTL_S, rotate_refresh_tokens: bool = True,
                 invalid_refresh_status: int = 400) -> None:
        self.lock = threading.RLock()
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.limits = limits or Limits()
        self.token_ttl_s = token_ttl_s
        self.rotate_refresh_tokens = rotate_refresh_tokens
        self.invalid_refresh_status = invalid_refresh_status
        self.athletes: dict[int, dict[str, Any]] = {}
        self.activities: dict[int, _Activity] = {}
        self.streams_missing: set[int] = set()
        self.codes: dict[str, tuple[int, str]] = {}
        self.access_tokens: dict[str, _Token] = {}
        self.refresh_tokens: dict[str, _Token] = {}
        self.authorize_athlete_id: int | None = None
        self.authorize_scope: str | None = None  # None: grant what was asked
        self.faults: list[_Fault] = []
        self.windows: dict[str, WindowCount] = {}
        self.days: dict[str, WindowCount] = {}
        self.log: list[RequestRecord] = []
        self.token_requests: list[str] = []  # grant types seen on /oauth/token
        self.trickle_s = 10.0  # how long a "trickle" fault takes to send its body (real seconds)
        self.trickles_cut = 0  # trickled answers the client hung up on before their end
        self.subscriptions: dict[int, dict[str, Any]] = {}  # push subscriptions (at most one, as on Strava)
        self.next_subscription_id = 120_475
        self.validations: list[dict[str, Any]] = []  # callback validations: {"url", "status", "ok"}
        self.pushed: list[dict[str, Any]] = []  # events POSTed: {"event", "status", "seconds"}

    # -- setup -------------------------------------------------------------------------------
    def add_athlete(self, athlete_id: int, firstname: str = "Test", lastname: str = "Runner") -> None:
        with self.lock:
            self.athletes[athlete_id] = {"id": athlete_id, "username": None, "resource_state": 2,
                                         "firstname": firstname, "lastname": lastname, "city": None,
                                         "state": None, "country": None, "sex": None, "premium": False,
                                         "summit": False, "created_at": "2020-01-01T00:00:00Z",
                                         "updated_at": "2020-01-01T00:00:00Z", "badge_type_id": 0,
                                         "weight": None, "profile_medium": "avatar/athlete/medium.png",
                                         "profile": "avatar/athlete/large.png", "friend": None, "follower": None}
            if self.authorize_athlete_id is None:
                self.authorize_athlete_id = athlete_id

    def add_activity(self, activity: dict[str, Any], *, athlete_id: int | None = None,
                     streams: dict[str, list[Any]] | None = None, start: datetime | None = None) -> None:
        """Store an activity (any JSON, even malformed: pass ``start`` when ``start_date`` is unusable)."""
        aid = activity["id"]
        owner = athlete_id if athlete_id is not None else activity.get("athlete", {}).get("id")
        if owner is None:
            raise ValueError("activity without athlete: pass athlete_id")
        if start is None:
            start = datetime.fromisoformat(activity["start_date"])
        with self.lock:
            if owner not in self.athletes:
                self.add_athlete(owner)
            self.activities[aid] = _Activity(owner, start.timestamp(), activity, streams)

    def delete_activity(self, activity_id: int) -> None:
        with self.lock:
            self.activities.pop(activity_id, None)

    def issue_code(self, athlete_id: int, scope: str = "read,activity:read_all") -> str:
        code = secrets.token_hex(12)
        with self.lock:
            self.codes[code] = (athlete_id, scope)
        return code

    def connect(self, store: Any, athlete_id: int, strava_athlete_id: int, *, expires_at: datetime | None = None) -> None:
        """Store in ``store`` the tokens this server issues for ``strava_athlete_id``, as `loadmon strava connect`
        would for loadmon's athlete ``athlete_id``."""
        raw = self.issue_tokens(strava_athlete_id, expires_at=expires_at)
        store.save_strava_tokens(athlete_id, strava_athlete_id=strava_athlete_id, access_token=raw["access_token"],
                                 refresh_token=raw["refresh_token"],
                                 expires_at=datetime.fromtimestamp(raw["expires_at"], UTC), scope="read,activity:read_all")

    def issue_tokens(self, athlete_id: int, *, scope: str = "read,activity:read_all",
                     expires_at: datetime | None = None) -> dict[str, Any]:
        """Tokens for an already connected athlete: ``{access_token, refresh_token, expires_at}``."""
        with self.lock:
            exp = int((expires_at or (self.clock() + timedelta(seconds=self.token_ttl_s))).timestamp())
            access, refresh = "a-" + secrets.token_hex(16), "r-" + secrets.token_hex(16)
            self.access_tokens[access] = _Token(athlete_id, exp, scope)
            self.refresh_tokens[refresh] = _Token(athlete_id, exp, scope)
            return {"token_type": "Bearer", "access_token": access, "refresh_token": refresh, "expires_at": exp,
                    "expires_in": max(0, exp - int(self.clock().timestamp()))}

    def expire_access_tokens(self, at: datetime | None = None, *, athlete_id: int | None = None) -> None:
        """Access tokens (of one athlete, or all) expire at ``at`` (default: now) on the server side."""
        when = int((at or self.clock()).timestamp())
        with self.lock:
            for tok in self.access_tokens.values():
                if athlete_id is None or tok.athlete_id == athlete_id:
                    tok.expires_at = min(tok.expires_at, when)

    def revoke(self, athlete_id: int) -> None:
        with self.lock:
            for table in (self.access_tokens, self.refresh_tokens):
                for key in [k for k, t in table.items() if t.athlete_id == athlete_id]:
                    del table[key]

    # -- push subscriptions ------------------------------------------------------------------
    def push_event(self, *, object_id: int, owner_id: int, object_type: str = "activity", aspect_type: str = "create",
                   updates: dict[str, Any] | None = None, subscription_id: int | None = None,
                   event_time: int | None = None, timeout_s: float = 2.0) -> int:
        """POST one event to the subscription's callback as Strava does; the HTTP status (0: no answer).
        ``subscription_id`` defaults to the current subscription's (pass another to forge one)."""
        with self.lock:
            subs = list(self.subscriptions.values())
        if not subs:
            raise RuntimeError("no push subscription: nothing to post events to")
        sub = subs[0]
        event = {"aspect_type": aspect_type, "event_time": int(event_time if event_time is not None else self.clock().timestamp()),
                 "object_id": object_id, "object_type": object_type, "owner_id": owner_id,
                 "subscription_id": sub["id"] if subscription_id is None else subscription_id, "updates": updates or {}}
        req = urllib.request.Request(sub["callback_url"], data=json.dumps(event).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "strava-test-server"})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout_s) as resp:
                status = resp.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, urllib.error.URLError):
            status = 0
        with self.lock:
            self.pushed.append({"event": event, "status": status, "seconds": round(time.monotonic() - t0, 4)})
        return status

    def _validate_callback(self, url: str, verify_token: str) -> bool:
        """Strava's validation GET: the answer must be 200 JSON echoing ``hub.challenge`` within 2 s."""
        challenge = secrets.token_urlsafe(12)
        query = urlencode({"hub.mode": "subscribe", "hub.challenge": challenge, "hub.verify_token": verify_token})
        status, ok = 0, False
        try:
            with urllib.request.urlopen(url + ("&" if "?" in url else "?") + query, timeout=2.0) as resp:
                status = resp.status
                ok = status == 200 and json.loads(resp.read() or b"{}").get("hub.challenge") == challenge
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (OSError, ValueError, urllib.error.URLError):
            pass
        with self.lock:
            self.validations.append({"url": url, "status": status, "ok": ok})
        return ok

    def inject(self, kind: str, count: int = 1, path: str | None = None) -> None:
        """The next ``count`` API requests whose path matches ``path`` (regex) fail with ``kind``."""
        if kind not in {"500", "502", "503", "429", "401", "403_inactive", "malformed", "drop", "trickle"}:
            raise ValueError(f"unknown fault {kind!r}")
        with self.lock:
            self.faults.append(_Fault(kind, count, path))

    def consume(self, n: int) -> None:
        """Count ``n`` reads in the current window/day, as another client of the app would."""
        with self.lock:
            w, d = self._counters()
            w.read += n
            w.overall += n
            d.read += n
            d.overall += n

    # -- stats ---------------------------------------------------------------------------------
    def window_key(self, now: datetime | None = None) -> str:
        epoch = int((now or self.clock()).timestamp())
        start = epoch - epoch % self.limits.window_s
        return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def day_key(self, now: datetime | None = None) -> str:
        return (now or self.clock()).astimezone(UTC).strftime("%Y-%m-%d")

    def _counters(self) -> tuple[WindowCount, WindowCount]:
        now = self.clock()
        return (self.windows.setdefault(self.window_key(now), WindowCount()),
                self.days.setdefault(self.day_key(now), WindowCount()))

    @property
    def max_read_per_window(self) -> int:
        with self.lock:
            return max((w.read for w in self.windows.values()), default=0)

    @property
    def max_overall_per_window(self) -> int:
        with self.lock:
            return max((w.overall for w in self.windows.values()), default=0)

    def requests(self, path_regex: str = r"^/api/v3/", *, status: int | None = None) -> list[RequestRecord]:
        with self.lock:
            return [r for r in self.log if re.search(path_regex, r.path) and (status is None or r.status == status)]

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "windows": {k: vars(v) for k, v in sorted(self.windows.items())},
                "days": {k: vars(v) for k, v in sorted(self.days.items())},
                "max_read_per_window": self.max_read_per_window,
                "max_overall_per_window": self.max_overall_per_window,
                "api_requests": len(self.requests()),
                "rejected_429": sum(w.rejected for w in self.windows.values()),
                "token_requests": list(self.token_requests),
                "limits": vars(self.limits),
            }

    # -- persistence (subprocess mode) ------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "limits": vars(self.limits),
                "token_ttl_s": self.token_ttl_s,
                "rotate_refresh_tokens": self.rotate_refresh_tokens,
                "invalid_refresh_status": self.invalid_refresh_status,
                "authorize_athlete_id": self.authorize_athlete_id,
                "authorize_scope": self.authorize_scope,
                "athletes": list(self.athletes.values()),
                "activities": [{"athlete_id": a.athlete_id, "start": datetime.fromtimestamp(a.start_epoch, UTC).isoformat(),
                                "activity": a.body, "streams": a.streams} for a in self.activities.values()],
                "streams_missing": sorted(self.streams_missing),
                "tokens": [{"athlete_id": t.athlete_id, "access_token": k, "expires_at": t.expires_at, "scope": t.scope}
                           for k, t in self.access_tokens.items()],
                "refresh_tokens": [{"athlete_id": t.athlete_id, "refresh_token": k, "scope": t.scope}
                                   for k, t in self.refresh_tokens.items()],
            }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, clock: Callable[[], datetime] = utcnow) -> StravaState:
        state = cls(client_id=int(data.get("client_id", 4242)), client_secret=data.get("client_secret", "test-client-secret"),
                    clock=clock, limits=Limits(**data.get("limits", {})), token_ttl_s=int(data.get("token_ttl_s", TOKEN_TTL_S)),
                    rotate_refresh_tokens=bool(data.get("rotate_refresh_tokens", True)),
                    invalid_refresh_status=int(data.get("invalid_refresh_status", 400)))
        for a in data.get("athletes", []):
            state.add_athlete(int(a["id"]), a.get("firstname", "Test"), a.get("lastname", "Runner"))
        state.authorize_athlete_id = data.get("authorize_athlete_id", state.authorize_athlete_id)
        state.authorize_scope = data.get("authorize_scope")
        for a in data.get("activities", []):
            start = datetime.fromisoformat(a["start"]) if a.get("start") else None
            state.add_activity(a["activity"], athlete_id=a.get("athlete_id"), streams=a.get("streams"), start=start)
        state.streams_missing = {int(x) for x in data.get("streams_missing", [])}
        for t in data.get("tokens", []):
            state.access_tokens[t["access_token"]] = _Token(int(t["athlete_id"]), int(t["expires_at"]), t.get("scope", ""))
        for t in data.get("refresh_tokens", []):
            state.refresh_tokens[t["refresh_token"]] = _Token(int(t["athlete_id"]), 0, t.get("scope", ""))
        return state


# -- HTTP ---------------------------------------------------------------------------------------

@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    trickle_s: float = 0.0  # > 0: the body goes out one byte at a time, spread over this many (real) seconds


def _json(status: int, obj: Any, headers: dict[str, str] | None = None) -> _Reply:
    return _Reply(status, json.dumps(obj).encode(), {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def _error(status: int, resource: str, field_: str, code: str, message: str = "Bad Request",
           headers: dict[str, str] | None = None) -> _Reply:
    """Strava's error body: ``{"message": ..., "errors": [{"resource", "field", "code"}]}``."""
    return _json(status, {"message": message, "errors": [{"resource": resource, "field": field_, "code": code}]}, headers)


AUTH_ERROR = {"message": "Authorization Error", "errors": [{"resource": "Athlete", "field": "access_token", "code": "invalid"}]}
RATE_ERROR = {"message": "Rate Limit Exceeded", "errors": [{"resource": "Application", "field": "rate limit", "code": "exceeded"}]}
INACTIVE_APP = {"message": "Forbidden", "errors": [{"resource": "Application", "field": "Status", "code": "Inactive"}]}
NOT_FOUND = {"message": "Record Not Found", "errors": [{"resource": "Activity", "field": "id", "code": "invalid"}]}


class StravaApp:
    """Request routing on top of :class:`StravaState` (independent of the HTTP server)."""

    def __init__(self, state: StravaState) -> None:
        self.state = state

    # rate limiting -------------------------------------------------------------------------
    def _rate_headers(self) -> dict[str, str]:
        s = self.state
        w, d = s._counters()
        lim = s.limits
        return {"X-RateLimit-Limit": f"{lim.overall_15min},{lim.overall_daily}", "X-RateLimit-Usage": f"{w.overall},{d.overall}",
                "X-ReadRateLimit-Limit": f"{lim.read_15min},{lim.read_daily}", "X-ReadRateLimit-Usage": f"{w.read},{d.read}"}

    def _admit(self, method: str) -> bool:
        """Count the request, or return False (-> 429) when a limit is reached."""
        s = self.state
        w, d = s._counters()
        lim = s.limits
        over = w.overall >= lim.overall_15min or d.overall >= lim.overall_daily
        if method == "GET":
            over = over or w.read >= lim.read_15min or d.read >= lim.read_daily
        if over:
            w.rejected += 1
            d.rejected += 1
            return False
        w.overall += 1
        d.overall += 1
        if method == "GET":
            w.read += 1
            d.read += 1
        return True

    def _take_fault(self, path: str) -> _Fault | None:
        for f in self.state.faults:
            if f.remaining > 0 and (f.path is None or re.search(f.path, path)):
                f.remaining -= 1
                if f.remaining == 0:
                    self.state.faults.remove(f)
                return f
        return None

    def _token(self, headers: dict[str, str], params: dict[str, str]) -> _Token | None:
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else params.get("access_token", "")
        tok = self.state.access_tokens.get(token)
        if tok is None or tok.expires_at <= int(self.state.clock().timestamp()):
            return None
        return tok

    # dispatch --------------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers: dict[str, str], body: bytes) -> _Reply:
        parts = urlsplit(raw_path)
        path = parts.path.rstrip("/") or "/"
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if body and "json" in headers.get("content-type", ""):
            try:
                params.update({k: str(v) for k, v in json.loads(body).items()})
            except (ValueError, AttributeError):
                pass
        elif body:
            params.update({k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()})
        if path.startswith("/api/v3/push_subscriptions"):  # not under the lock: creating one calls back
            return self._record_locked(method, path, params, self._push_subscriptions(method, path, params))
        if path == "/_admin/push_event" and method == "POST":
            return _json(200, {"status": self.state.push_event(**json.loads(body))})
        with self.state.lock:
            if path.startswith("/_admin/"):
                return self._admin(method, path, body)
            if path in {"/oauth/deauthorize", "/api/v3/oauth/deauthorize"} and method == "POST":
                return self._record(method, path, params, self._deauthorize(headers, params))
            if path.startswith("/oauth/"):
                return self._record(method, path, params, self._oauth(method, path, params))
            if path.startswith("/api/v3/"):
                return self._record(method, path, params, self._api(method, path, headers, params))
            return self._record(method, path, params, _json(404, NOT_FOUND))

    def _record_locked(self, method: str, path: str, params: dict[str, str], reply: _Reply) -> _Reply:
        with self.state.lock:
            return self._record(method, path, params, reply)

    def _push_subscriptions(self, method: str, path: str, params: dict[str, str]) -> _Reply:
        """Strava's push subscription endpoints (application credentials, no athlete token, no rate limit)."""
        s = self.state
        if str(params.get("client_id")) != str(s.client_id) or params.get("client_secret") != s.client_secret:
            return _error(401, "Application", "client_id", "invalid", "Authorization Error")
        m = re.fullmatch(r"/api/v3/push_subscriptions(?:/(\d+))?", path)
        if m is None:
            return _json(404, NOT_FOUND)
        if method == "GET" and m.group(1) is None:
            if int(params.get("page") or 1) > 1:
                return _json(200, [])
            with s.lock:
                return _json(200, list(s.subscriptions.values()))
        if method == "DELETE" and m.group(1) is not None:
            with s.lock:
                gone = s.subscriptions.pop(int(m.group(1)), None)
            return _Reply(204) if gone is not None else _json(404, NOT_FOUND)
        if method == "POST" and m.group(1) is None:
            url = params.get("callback_url", "")
            with s.lock:
                if s.subscriptions:
                    return _error(400, "PushSubscription", "callback_url", "already exists")
            if not url or not s._validate_callback(url, params.get("verify_token", "")):
                return _error(400, "PushSubscription", "callback_url", "GET to callback URL does not return 200")
            now = iso_z(s.clock())
            with s.lock:
                sid = s.next_subscription_id
                s.next_subscription_id += 1
                s.subscriptions[sid] = {"id": sid, "resource_state": 2, "application_id": s.client_id, "callback_url": url,
                                        "created_at": now, "updated_at": now}
                return _json(201, s.subscriptions[sid])
        return _json(405, {"message": "Method Not Allowed", "errors": []})

    def _record(self, method: str, path: str, params: dict[str, str], reply: _Reply) -> _Reply:
        shown = {k: v for k, v in params.items() if k not in {"client_secret", "refresh_token", "code", "access_token",
                                                                     "verify_token"}}
        self.state.log.append(RequestRecord(method, path, shown, 0 if reply.drop else reply.status,
                                            self.state.window_key(), self.state.clock().isoformat()))
        return reply

    def _api(self, method: str, path: str, headers: dict[str, str], params: dict[str, str]) -> _Reply:
        fault = self._take_fault(path)
        if fault is not None and fault.kind == "trickle":  # the real answer, one byte at a time
            reply = self._answer(method, path, headers, params, None)
            reply.trickle_s = self.state.trickle_s
            return reply
        return self._answer(method, path, headers, params, fault)

    def _answer(self, method: str, path: str, headers: dict[str, str], params: dict[str, str],
                fault: _Fault | None) -> _Reply:
        if fault is not None and fault.kind == "429":
            self.state._counters()[0].rejected += 1
            return _json(429, RATE_ERROR, self._rate_headers())
        if not self._admit(method):
            return _json(429, RATE_ERROR, self._rate_headers())
        rate = self._rate_headers()
        if fault is not None:
            if fault.kind == "drop":
                return _Reply(0, drop=True)
            if fault.kind == "malformed":
                return _Reply(200, b'{"this is": not json', {"Content-Type": "application/json; charset=utf-8", **rate})
            if fault.kind == "401":
                return _json(401, AUTH_ERROR, rate)
            if fault.kind == "403_inactive":  # the app owner's subscription lapsed
                return _json(403, INACTIVE_APP, rate)
            return _json(int(fault.kind), {"message": "Internal Server Error", "errors": []}, rate)
        tok = self._token(headers, params)
        if tok is None:
            return _json(401, AUTH_ERROR, rate)
        if method != "GET":
            return _json(405, {"message": "Method Not Allowed", "errors": []}, rate)
        if path == "/api/v3/athlete":
            return _json(200, self.state.athletes.get(tok.athlete_id, {}), rate)
        if path == "/api/v3/athlete/activities":
            return self._list(tok, params, rate)
        m = re.fullmatch(r"/api/v3/activities/(\d+)(/streams)?", path)
        if m:
            act = self.state.activities.get(int(m.group(1)))
            if act is None or act.athlete_id != tok.athlete_id:
                return _json(404, NOT_FOUND, rate)
            if m.group(2):
                return self._streams(act, params, rate)
            return _json(200, {**act.body, "resource_state": 3}, rate)
        return _json(404, NOT_FOUND, rate)

    def _list(self, tok: _Token, params: dict[str, str], rate: dict[str, str]) -> _Reply:
        def num(name: str, default: float | None) -> float | None:
            v = params.get(name)
            if v in (None, ""):
                return default
            return float(v)

        try:
            after, before = num("after", None), num("before", None)
            page = int(num("page", 1) or 1)
            per_page = int(num("per_page", 30) or 30)
        except ValueError:
            return _error(400, "Application", "params", "invalid", headers=rate)
        per_page = max(1, min(per_page, 200))
        acts = [a for a in self.state.activities.values() if a.athlete_id == tok.athlete_id
                and (after is None or a.start_epoch > after) and (before is None or a.start_epoch < before)]
        # Strava: with `after` the list is ascending (oldest first), otherwise newest first.
        acts.sort(key=lambda a: (a.start_epoch, a.body.get("id", 0) if isinstance(a.body.get("id"), int) else 0),
                  reverse=after is None)
        chunk = acts[(page - 1) * per_page: page * per_page]
        return _json(200, [a.body for a in chunk], rate)

    def _streams(self, act: _Activity, params: dict[str, str], rate: dict[str, str]) -> _Reply:
        aid = act.body.get("id")
        if aid in self.state.streams_missing or act.body.get("manual") or not act.streams:
            return _Reply(404, b"", {"Content-Type": "application/json; charset=utf-8", **rate})
        keys = [k for k in params.get("keys", "").split(",") if k] or ["distance"]
        wanted = [k for k in keys if k in act.streams]
        if "distance" in act.streams and "distance" not in wanted:
            wanted.append("distance")
        by_type = params.get("key_by_type", "").lower() in {"true", "1"}
        size = max((len(v) for v in act.streams.values()), default=0)
        objs = {k: {"data": act.streams[k], "series_type": "distance", "original_size": size, "resolution": "high"}
                for k in wanted}
        if by_type:
            return _json(200, objs, rate)
        return _json(200, [{"type": k, **v} for k, v in objs.items()], rate)

    # OAuth -----------------------------------------------------------------------------------
    def _oauth(self, method: str, path: str, params: dict[str, str]) -> _Reply:
        s = self.state
        if path == "/oauth/authorize" and method == "GET":
            redirect = params.get("redirect_uri", "")
            if not redirect or str(params.get("client_id")) != str(s.client_id):
                return _error(400, "Application", "client_id", "invalid")
            query = {"state": params.get("state", "")}
            if s.authorize_athlete_id is None:
                query["error"] = "access_denied"
            else:
                scope = s.authorize_scope if s.authorize_scope is not None else params.get("scope", "read")
                query.update({"code": s.issue_code(s.authorize_athlete_id, scope), "scope": scope})
            sep = "&" if "?" in redirect else "?"
            return _Reply(302, b"", {"Location": redirect + sep + urlencode(query)})
        if path != "/oauth/token" or method != "POST":
            return _json(404, NOT_FOUND)
        grant = params.get("grant_type", "")
        s.token_requests.append(grant)
        fault = self._take_fault(path)
        if fault is not None:
            if fault.kind == "drop":
                return _Reply(0, drop=True)
            if fault.kind == "401":
                return _error(401, "RefreshToken", "refresh_token", "invalid", "Authorization Error")
            if fault.kind == "malformed":
                return _Reply(200, b"<html>oops", {"Content-Type": "text/html"})
            return _json(int(fault.kind), {"message": "Error", "errors": []})
        if str(params.get("client_id")) != str(s.client_id) or params.get("client_secret") != s.client_secret:
            return _error(401, "Application", "client_id", "invalid")
        now = int(s.clock().timestamp())
        if grant == "authorization_code":
            entry = s.codes.pop(params.get("code", ""), None)
            if entry is None:
                return _error(400, "AuthorizationCode", "code", "invalid")
            athlete_id, scope = entry
            tokens = s.issue_tokens(athlete_id, scope=scope)
            return _json(200, {**tokens, "athlete": s.athletes.get(athlete_id, {"id": athlete_id})})
        if grant == "refresh_token":
            old = params.get("refresh_token", "")
            tok = s.refresh_tokens.get(old)
            if tok is None:
                return _error(s.invalid_refresh_status, "RefreshToken", "refresh_token", "invalid")
            # Strava returns the current access token while it has more than an hour left.
            current = [(k, t) for k, t in s.access_tokens.items()
                       if t.athlete_id == tok.athlete_id and t.expires_at - now > 3600]
            if current:
                access, atok = max(current, key=lambda kt: kt[1].expires_at)
                exp = atok.expires_at
            else:
                access, exp = "a-" + secrets.token_hex(16), now + s.token_ttl_s
                s.access_tokens[access] = _Token(tok.athlete_id, exp, tok.scope)
            refresh = old
            if s.rotate_refresh_tokens:
                del s.refresh_tokens[old]
                refresh = "r-" + secrets.token_hex(16)
                s.refresh_tokens[refresh] = _Token(tok.athlete_id, exp, tok.scope)
            return _json(200, {"token_type": "Bearer", "access_token": access, "expires_at": exp,
                               "expires_in": exp - now, "refresh_token": refresh})
        return _error(400, "Application", "grant_type", "invalid")

    def _deauthorize(self, headers: dict[str, str], params: dict[str, str]) -> _Reply:
        tok = self._token(headers, params)
        if tok is None:
            return _json(401, AUTH_ERROR)
        auth = headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else params.get("access_token", "")
        self.state.revoke(tok.athlete_id)
        return _json(200, {"access_token": token})

    # admin (subprocess mode) ------------------------------------------------------------
    def _admin(self, method: str, path: str, body: bytes) -> _Reply:
        s = self.state
        data = json.loads(body) if body else {}
        if path == "/_admin/stats":
            return _json(200, s.stats())
        if path == "/_admin/state":
            return _json(200, s.to_json())
        if path == "/_admin/requests":
            return _json(200, [vars(r) for r in s.log])
        if method == "POST" and path == "/_admin/fault":
            s.inject(data["kind"], int(data.get("count", 1)), data.get("path"))
            return _json(200, {"ok": True})
        if method == "POST" and path == "/_admin/activities":
            start = datetime.fromisoformat(data["start"]) if data.get("start") else None
            s.add_activity(data["activity"], athlete_id=data.get("athlete_id"), streams=data.get("streams"), start=start)
            return _json(200, {"ok": True})
        if method == "POST" and path == "/_admin/delete_activity":
            s.delete_activity(int(data["id"]))
            return _json(200, {"ok": True})
        if method == "POST" and path == "/_admin/expire_tokens":
            s.expire_access_tokens(datetime.fromisoformat(data["at"]) if data.get("at") else None,
                                   athlete_id=data.get("athlete_id"))
            return _json(200, {"ok": True})
        if method == "POST" and path == "/_admin/tokens":
            return _json(200, s.issue_tokens(int(data["athlete_id"]), scope=data.get("scope", "read,activity:read_all")))
        if method == "POST" and path == "/_admin/code":
            return _json(200, {"code": s.issue_code(int(data["athlete_id"]), data.get("scope", "read,activity:read_all"))})
        return _json(404, NOT_FOUND)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms delayed-ACK stalls
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        reply = self.server.app.handle(self.command, self.path, headers, body)
        if reply.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(2)
            except OSError:
                pass
            return
        self.send_response(reply.status, "OK" if reply.status == 429 else None)  # Strava's 429 says "OK"
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if reply.trickle_s > 0:
            self._trickle(reply)
        else:
            self.wfile.write(reply.body)

    def _trickle(self, reply: _Reply) -> None:
        """Send the body one byte at a time over ``reply.trickle_s`` seconds: every read of the
        client gets data in time, only a deadline on the whole request ends it early."""
        pause = reply.trickle_s / max(1, len(reply.body))
        try:
            for i in range(len(reply.body)):
                self.wfile.write(reply.body[i:i + 1])
                self.wfile.flush()
                time.sleep(pause)
        except OSError:  # the client hung up
            self.close_connection = True
            with self.server.app.state.lock:
                self.server.app.state.trickles_cut += 1

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    app: StravaApp


class StravaServer:
    """The fake Strava on ``127.0.0.1:<port>`` (0 = any free port); a context manager.

    Attribute access falls through to :class:`StravaState` (``server.add_activity(...)``,
    ``server.inject("500", 2)``, ``server.max_read_per_window``...).
    """

    def __init__(self, state: StravaState | None = None, *, host: str = "127.0.0.1", port: int = 0, **state_kw: Any) -> None:
        self.state = state or StravaState(**state_kw)
        self.app = StravaApp(self.state)
        self._httpd = _Server((host, port), _Handler)
        self._httpd.app = self.app
        self._thread: threading.Thread | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["state"], name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in {"state", "app", "_httpd", "_thread"}:
            object.__setattr__(self, name, value)
        else:
            setattr(self.state, name, value)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StravaServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="strava-test-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> StravaServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()



class ServerProcess:
    """This server as a subprocess (its own process: a loaded test process does not slow it, and
    the request counts come from the server itself), started from a JSON state, with its
    ``/_admin`` API."""

    def __init__(self, state: dict[str, Any], folder: Path) -> None:
        import subprocess

        path = folder / "strava-state.json"
        path.write_text(json.dumps(state), encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--port", "0", "--state", str(path)],
                                     cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip() if self.proc.stdout else ""
        if not line.startswith("strava-test-server listening on "):
            self.stop()
            raise RuntimeError(f"the Strava test server did not start: {line!r}")
        self.url = line.rsplit(" ", 1)[1]

    def admin(self, path: str, data: dict[str, Any] | None = None) -> Any:
        import urllib.request

        body = json.dumps(data).encode() if data is not None else None
        req = urllib.request.Request(self.url + "/_admin/" + path, data=body, method="POST" if body else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        return self.admin("stats")

    def requests(self) -> list[dict[str, Any]]:
        return self.admin("requests")

    def fault(self, kind: str, count: int, path: str) -> None:
        self.admin("fault", {"kind": kind, "count": count, "path": path})

    def stop(self) -> None:
        import subprocess

        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Strava-compatible test server")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--state", type=Path, help="JSON state to load (see StravaState.to_json)")
    ap.add_argument("--save-state", type=Path, help="write the state here on exit")
    ap.add_argument("--port-file", type=Path, help="write the bound port here once listening")
    ap.add_argument("--read-limit-15min", type=int)
    ap.add_argument("--read-limit-daily", type=int)
    ap.add_argument("--window-s", type=int)
    ap.add_argument("--token-ttl-s", type=int)
    args = ap.parse_args(list(argv) if argv is not None else None)
    data = json.loads(args.state.read_text()) if args.state else {}
    limits = data.setdefault("limits", {})
    for opt, key in (("read_limit_15min", "read_15min"), ("read_limit_daily", "read_daily"), ("window_s", "window_s")):
        if getattr(args, opt) is not None:
            limits[key] = getattr(args, opt)
    if args.token_ttl_s is not None:
        data["token_ttl_s"] = args.token_ttl_s
    server = StravaServer(StravaState.from_json(data), host=args.host, port=args.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    if args.port_file:
        args.port_file.write_text(str(server.port))
    print(f"strava-test-server listening on {server.url}", flush=True)
    stop.wait()
    server.stop()
    if args.save_state:
        args.save_state.write_text(json.dumps(server.state.to_json(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
