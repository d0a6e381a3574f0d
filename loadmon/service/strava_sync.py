"""Strava: connect, resumable backfill, incremental sync and reconciliation (service layer).

The connector (:mod:`connectors.strava`) talks to Strava; this module gives it the athlete's
tokens and the shared request budget, and stores what it reads:

* **Connect** (:func:`connect_url`, :class:`OAuthCallback`, :func:`complete_connect`): the
  OAuth authorization-code flow; the tokens are stored with ``store.save_strava_tokens``.
  :func:`disconnect` revokes the grant and forgets the tokens (locally even when Strava fails).
* **Tokens**: every refresh reported by the connector (``on_tokens``) is stored at once - a
  refresh may rotate the refresh token and the old one then stops working. A refused refresh
  (revoked access) marks the connection ``needs_reauth`` and raises :class:`StravaAuthError`
  with "run `loadmon strava connect` again".
* **Budget**: one :class:`RateBudget` per run over ``store.budget_store()`` (the ``rate_budget``
  table), so every process and worker of the installation shares Strava's per-application limits.
  The clock is ``svc.clock`` and the sleep ``svc.sleep``.
* **Backfill** (:func:`backfill`): pages of 200, oldest first, from the cursor stored in the
  sync state ``strava_backfill``. Each activity whose descent cost a streams request is stored
  right away, and each page's last records are stored together with the page's cursor in ONE
  transaction (``store.record_strava_page``): a process killed at any point loses at most the one
  request in flight, and a rerun continues from the cursor without fetching stored activities
  again (``known=``: stored with the same content hash). With ``wait=False`` a spent budget ends
  the run cleanly with ``resume_at``.
* **Sync** (:func:`sync`): the incremental listing (after the newest stored start minus
  ``overlap_hours``) together with the reconciliation of the last ``reconcile_days``: stored
  activities that Strava no longer lists are marked deleted, edited ones (sport, distance,
  privacy, name...) are updated, and activities started less than 48 h ago have their streams
  read again (at most every 12 h) so a later elevation correction is picked up. An unfinished
  backfill is continued afterwards, leaving a fifth of each window and day to the syncs of the
  other athletes. When something changed, the alert rules are evaluated and due alerts
  delivered. :func:`reconcile` is the nightly part alone.

Nothing here logs or returns a token or the client secret.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import requests

from connectors.strava import (
    DEFAULT_SCOPE,
    ActivityPage,
    RateBudget,
    StravaConnector,
    StravaTokens,
    authorize_url,
    deauthorize,
    estimated_descent,
    exchange_code,
    make_session,
)
from connectors.strava.mapping import activity_label
from loadmon.config import Config
from loadmon.domain import ActivityRecord, Athlete
from loadmon.errors import (
    ConfigError,
    LoadmonError,
    RateLimitExhausted,
    StravaAuthError,
    StravaError,
    ValidationError,
)
from loadmon.logs import get_logger
from loadmon.service.context import Service

log = get_logger("loadmon.strava")

__all__ = [
    "BACKFILL_KEY", "BackfillProgress", "ConnectResult", "OAuthCallback", "backfill", "budget_eta", "complete_connect",
    "connect_url", "connected_athletes", "disconnect", "format_resume", "new_oauth_state", "parse_redirect",
    "reconcile", "redirect_uri_for", "status", "sync",
]

SOURCE = "strava"
BACKFILL_KEY = "strava_backfill"  # {"cursor", "since", "first_start", "done", "listed", "errors", "requests", ...}
RECHECK_KEY = "strava_recheck"  # {"<activity id>": "<when its streams were last read>"}
LAST_SYNC_KEY = "strava_last_sync"
PER_PAGE = 200
FRESH_HOURS = 48  # activities younger than this have their streams re-read (elevation corrections)...
RECHECK_EVERY_HOURS = 12  # ... at most this often
READ_ALL = "activity:read_all"
PROGRESS_EVERY_S = 0.2  # progress callbacks between pages: at most this often (wall clock)


# ----------------------------------------------------------------------------- configuration
def _credentials(config: Config) -> tuple[str, str]:
    """``(client_id, client_secret)``, or a ConfigError naming the missing keys."""
    client_id = config.strava.client_id.strip()
    secret = config.strava.client_secret.strip()
    missing = [key for key, value in (("strava.client_id", client_id), ("strava.client_secret", secret)) if not value]
    if missing:
        raise ConfigError(
            "Strava API credentials are missing: set " + " and ".join(missing) + " (client_id / client_secret in the "
            "strava section of the config file, or LOADMON_STRAVA__CLIENT_ID / LOADMON_STRAVA__CLIENT_SECRET in the "
            "environment); "
            "create an application at https://www.strava.com/settings/api (docs/strava.md)",
            key=missing[0],
        )
    if not client_id.isdigit():
        raise ConfigError(f"config key strava.client_id: expected the numeric Client ID of your Strava application, "
                          f"got {client_id!r}", key="strava.client_id")
    return client_id, secret


def _session(svc: Service) -> requests.Session:
    """The HTTP session to ``[strava] api_url``, each request within ``request_deadline_s``."""
    cfg = svc.config.strava
    return make_session(cfg.api_url, deadline_s=cfg.request_deadline_s)


def _sleep(svc: Service) -> Callable[[float], None]:
    return svc.sleep


def _stop_requested(svc: Service) -> bool:
    return svc.stop.is_set()


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def _parse_iso(value: Any) -> datetime | None:
    if not value:
        return None
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def format_resume(resume_at: datetime, now: datetime | None = None) -> str:
    """``"resume after 10:15 UTC"`` (with the date when it is not today)."""
    when = resume_at.astimezone(UTC)
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    text = f"{when:%H:%M} UTC" if when.date() == today else f"{when:%Y-%m-%d %H:%M} UTC"
    return f"resume after {text}"


# ------------------------------------------------------------------------------------ connect
def redirect_uri_for(port: int) -> str:
    """The OAuth redirect URI of the local callback (Strava callback domain: 127.0.0.1)."""
    return f"http://127.0.0.1:{port}/"


def new_oauth_state() -> str:
    return secrets.token_urlsafe(24)


def connect_url(svc: Service, athlete: Athlete, *, redirect_uri: str, state: str) -> str:
    """The Strava authorisation page for ``athlete`` (scope ``read,activity:read_all``)."""
    client_id, _secret = _credentials(svc.config)
    return authorize_url(client_id, redirect_uri, state, svc.config.strava.api_url, scope=DEFAULT_SCOPE)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectResult:
    """What :func:`complete_connect` stored (never the tokens themselves)."""

    athlete: str
    strava_athlete_id: int
    scope: str  # as granted on the redirect ("" when unknown: a bare --code)
    expires_at: datetime
    private_activities: bool | None  # activity:read_all granted? None when the scope is unknown
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"athlete": self.athlete, "strava_athlete_id": self.strava_athlete_id, "scope": self.scope,
                "expires_at": _iso(self.expires_at), "private_activities": self.private_activities,
                "warnings": list(self.warnings)}


def _save_tokens(svc: Service, athlete: Athlete, tokens: StravaTokens) -> None:
    svc.store.save_strava_tokens(athlete.id, strava_athlete_id=tokens.athlete_id, access_token=tokens.access_token,
                                 refresh_token=tokens.refresh_token, expires_at=tokens.expires_at,
                                 scope=tokens.scope or None)


def complete_connect(svc: Service, athlete: Athlete, *, code: str, scope: str | None) -> ConnectResult:
    """Exchange the redirect's ``code`` for tokens and store them for ``athlete``.

    ``scope`` is the redirect's ``scope`` parameter; it must include ``activity:read`` or
    ``activity:read_all`` (without ``read_all`` private activities are not synced: a warning).
    """
    client_id, secret = _credentials(svc.config)
    code = (code or "").strip()
    if not code:
        raise ValidationError("--code: empty authorization code")
    session = _session(svc)
    try:
        tokens = exchange_code(session, client_id, secret, code, scope=scope, sleep=_sleep(svc))
    finally:
        session.close()
    previous = svc.store.get_strava_connection(athlete.id)
    if previous is not None and previous["strava_athlete_id"] != tokens.athlete_id:
        # another Strava account: its backfill position means nothing for this one
        svc.store.delete_state(athlete.id, BACKFILL_KEY)
        svc.store.delete_state(athlete.id, RECHECK_KEY)
    _save_tokens(svc, athlete, tokens)
    granted = {s.strip() for s in (scope or "").split(",") if s.strip()}
    warnings: list[str] = []
    private: bool | None = None
    if scope is None:
        warnings.append("the granted scope is unknown (a bare code): pass the whole redirected URL to --code to check "
                        "that 'View data about your private activities' was granted")
    else:
        private = READ_ALL in granted
        if not private:
            warnings.append("activity:read_all was not granted: private ('Only You') activities will not be synced; "
                            "run `loadmon strava connect` again and tick private activities to include them")
    log.info("strava.connect", athlete_id=athlete.id, strava_athlete_id=tokens.athlete_id, scope=tokens.scope)
    return ConnectResult(athlete=athlete.name, strava_athlete_id=tokens.athlete_id, scope=tokens.scope,
                         expires_at=tokens.expires_at, private_activities=private, warnings=tuple(warnings))


def parse_redirect(text: str) -> tuple[str, str | None, str | None]:
    """``--code`` input: a bare code, or the whole redirected URL -> ``(code, scope, state)``."""
    text = (text or "").strip()
    if "code=" not in text and "error=" not in text:
        return text, None, None
    query = urlsplit(text).query if "?" in text else text
    params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if params.get("error"):
        raise StravaAuthError(f"Strava authorization was not granted (error={params['error']}): run `loadmon strava "
                              "connect` again and click Authorize")
    code = params.get("code", "")
    if not code:
        raise ValidationError("--code: the URL has no code= parameter")
    return code, params.get("scope"), params.get("state")


class OAuthCallback:
    """A one-shot HTTP server on ``127.0.0.1:port`` that receives Strava's redirect.

    ``with OAuthCallback(port, state=s) as cb: ...; code, scope = cb.wait(timeout_s)``. The
    ``state`` of the redirect must match (else :class:`StravaAuthError`); requests for other
    paths (a browser's favicon) are ignored.
    """

    def __init__(self, port: int, *, state: str, host: str = "127.0.0.1") -> None:
        self._expected_state = state
        self._done = threading.Event()
        self._result: tuple[str, str | None] | None = None
        self._error: LoadmonError | None = None
        callback = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server API
                status, body = callback._handle(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet (the URL holds the code)
                pass

        try:
            self._server = HTTPServer((host, port), Handler)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} for the Strava redirect ({exc.strerror or exc}): set strava.redirect_port "
                "to a free port, or use `loadmon strava connect --code`", key="strava.redirect_port",
            ) from None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def redirect_uri(self) -> str:
        return redirect_uri_for(self.port)

    def _handle(self, raw_path: str) -> tuple[int, bytes]:
        parts = urlsplit(raw_path)
        params = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        if parts.path not in ("", "/") or not ({"code", "error", "state"} & set(params)):
            return 404, b"<p>Not found.</p>"
        if self._done.is_set():
            return 200, b"<p>loadmon already received the Strava authorization; you can close this tab.</p>"
        if params.get("state") != self._expected_state:
            self._error = StravaAuthError("the Strava redirect carried a different state than this connect attempt "
                                          "(an old tab, or a forged request): run `loadmon strava connect` again")
            status, page = 400, b"<p>loadmon: state mismatch; run <code>loadmon strava connect</code> again.</p>"
        elif params.get("error"):
            self._error = StravaAuthError(f"Strava authorization was not granted (error={params['error']}): run "
                                          "`loadmon strava connect` again and click Authorize")
            status, page = 200, b"<p>loadmon: authorization was not granted. You can close this tab.</p>"
        elif not params.get("code"):
            self._error = StravaAuthError("the Strava redirect carried no code: run `loadmon strava connect` again")
            status, page = 400, b"<p>loadmon: no code in the redirect.</p>"
        else:
            self._result = (params["code"], params.get("scope"))
            status, page = 200, b"<p>loadmon is connected to Strava. You can close this tab.</p>"
        self._done.set()
        return status, page

    def start(self) -> OAuthCallback:
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="strava-oauth-callback", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout_s: float | None = 300.0) -> tuple[str, str | None]:
        """``(code, scope)`` of the redirect; StravaAuthError on a refusal, a bad state or a timeout."""
        if not self._done.wait(timeout_s):
            raise StravaAuthError(f"no redirect from Strava within {timeout_s:g} s: run `loadmon strava connect` again "
                                  "(on a machine without a browser, open the URL elsewhere and pass the redirected "
                                  "URL to `loadmon strava connect --code`)")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> OAuthCallback:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def disconnect(svc: Service, athlete: Athlete) -> dict[str, Any]:
    """Revoke loadmon's access on Strava and delete the stored tokens.

    When Strava cannot be reached or refuses, the tokens are deleted locally all the same
    and ``remote_error`` says what happened (revoke the app at strava.com/settings/apps then).
    """
    row = svc.store.get_strava_connection(athlete.id)
    if row is None:
        return {"athlete": athlete.name, "was_connected": False, "deauthorized": False, "remote_error": None}
    tokens = StravaTokens(access_token=row["access_token"], refresh_token=row["refresh_token"],
                          expires_at=row["expires_at"], athlete_id=row["strava_athlete_id"], scope=row["scope"] or "")
    cfg = svc.config.strava
    remote_error: str | None = None
    session = _session(svc)
    try:
        deauthorize(session, tokens, client_id=cfg.client_id.strip() or None, client_secret=cfg.client_secret or None,
                    now=svc.clock(), sleep=_sleep(svc))
    except LoadmonError as exc:
        remote_error = f"{exc} (the tokens were deleted here; revoke loadmon at https://www.strava.com/settings/apps)"
    except requests.RequestException as exc:  # pragma: no cover - the connector translates these
        remote_error = f"Strava could not be reached ({type(exc).__name__}); the tokens were deleted here"
    finally:
        session.close()
    svc.store.delete_strava_connection(athlete.id)
    log.info("strava.disconnect", athlete_id=athlete.id, deauthorized=remote_error is None)
    return {"athlete": athlete.name, "was_connected": True, "deauthorized": remote_error is None,
            "remote_error": remote_error}


# ----------------------------------------------------------------------- connector + budget
def make_budget(svc: Service, *, sleep: Callable[[float], None] | None = None, prune: bool = False) -> RateBudget:
    """The application's request budget, shared through the database by every process."""
    cfg = svc.config.strava
    store = svc.store.budget_store()
    if prune:  # windows of past days can never matter again
        try:
            store.prune()
        except LoadmonError as exc:  # pragma: no cover - housekeeping only
            log.warning("strava.budget.prune_failed", error=str(exc))
    return RateBudget(store=store, clock=svc.clock, sleep=sleep or _sleep(svc),
                      read_limit_15min=cfg.read_limit_15min, read_limit_daily=cfg.read_limit_daily,
                      overall_limit_15min=max(200, 2 * cfg.read_limit_15min),
                      overall_limit_daily=max(2000, 2 * cfg.read_limit_daily), margin=cfg.budget_margin)


def _connector(svc: Service, athlete: Athlete, *, wait: bool, session: requests.Session | None = None,
               sleep: Callable[[float], None] | None = None) -> StravaConnector:
    """A connector for ``athlete``: stored tokens (every change stored at once), the SQL budget,
    ``svc.clock`` and the injected sleep."""
    client_id, secret = _credentials(svc.config)
    row = svc.store.get_strava_connection(athlete.id)
    if row is None:
        raise StravaAuthError(f"athlete {athlete.name!r} is not connected to Strava: run `loadmon strava connect`")
    if row["needs_reauth"]:
        raise StravaAuthError(f"Strava access of athlete {athlete.name!r} was revoked or refused: run "
                              "`loadmon strava connect` again")
    tokens = StravaTokens(access_token=row["access_token"], refresh_token=row["refresh_token"],
                          expires_at=row["expires_at"], athlete_id=row["strava_athlete_id"], scope=row["scope"] or "")
    cfg = svc.config.strava
    sleep = sleep or _sleep(svc)

    def on_tokens(new: StravaTokens) -> None:
        _save_tokens(svc, athlete, new)  # at once: the old refresh token may already be dead

    return StravaConnector(
        session if session is not None else _session(svc), client_id=client_id, client_secret=secret,
        tokens=tokens, budget=make_budget(svc, sleep=sleep, prune=True), on_tokens=on_tokens, clock=svc.clock, sleep=sleep,
        stream_sports=cfg.stream_sports, hysteresis_m=svc.config.fit.hysteresis_m, wait=wait,
    )


@contextmanager
def _strava(svc: Service, athlete: Athlete, *, wait: bool,
            sleep: Callable[[float], None] | None = None) -> Iterator[StravaConnector]:
    """A connector whose session is closed afterwards; a refused grant marks the connection."""
    session = _session(svc)
    try:
        conn = _connector(svc, athlete, wait=wait, session=session, sleep=sleep)
        try:
            yield conn
        except StravaAuthError as exc:
            raise _auth_failed(svc, athlete, exc) from None
    finally:
        session.close()


def _auth_failed(svc: Service, athlete: Athlete, exc: StravaAuthError) -> LoadmonError:
    text = str(exc)
    if "application credentials" in text:  # our client id/secret, not the athlete's grant
        return ConfigError(text, key="strava.client_secret")
    if "application is inactive" in text:  # the application's problem, not the athlete's grant
        return exc
    try:
        svc.store.mark_strava_needs_reauth(athlete.id)
    except LoadmonError:  # pragma: no cover - the auth error is what matters
        pass
    log.warning("strava.needs_reauth", athlete_id=athlete.id, error=text)
    return StravaAuthError(f"{text} (athlete {athlete.name!r} is marked as needing re-authorisation: "
                           "syncs skip it until it reconnects)")


def require_credentials(config: Config) -> None:
    """A :class:`ConfigError` naming the key when the Strava API credentials are missing or malformed."""
    _credentials(config)


def connected_athletes(svc: Service) -> list[Athlete]:
    """Athletes with a usable Strava connection (not waiting for re-authorisation)."""
    return [svc.store.get_athlete(athlete_id=i) for i in svc.store.strava_connected_athletes()]


# ---------------------------------------------------------------------------- page handling
@dataclass
class _Tally:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rechecked: int = 0
    listed: int = 0  # activities listed (pages read, finished or not)
    listed_done: int = 0  # activities on finished pages
    progressed: int = 0  # activities dealt with so far (for progress reports)
    pages: int = 0
    requests: int = 0
    error_messages: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # {"activity_id", "reason", "error"} per skipped item

    def skip(self, athlete: Athlete, activity_id: int | None, reason: str, message: str) -> None:
        """One activity skipped with a named error (logged, counted); the sync goes on past it."""
        self.error_messages.append(message)
        self.skipped.append({"activity_id": activity_id, "reason": reason, "error": message})
        log.warning("strava.activity.skipped", athlete_id=athlete.id, activity_id=activity_id, reason=reason,
                    error=message)

    @property
    def changed(self) -> bool:
        return bool(self.new or self.updated or self.deleted)

    def as_dict(self) -> dict[str, Any]:
        return {"new": self.new, "updated": self.updated, "deleted": self.deleted, "unchanged": self.unchanged,
                "errors": len(self.error_messages), "error_messages": list(self.error_messages),
                "skipped": [dict(x) for x in self.skipped],
                "requests": self.requests, "pages": self.pages, "listed": self.listed, "rechecked": self.rechecked}


def _with_descent(conn: StravaConnector, rec: ActivityRecord, tally: _Tally) -> ActivityRecord:
    """The record with its descent; a streams request Strava refuses (4xx) costs the estimate, not the sync."""
    try:
        return conn.with_descent(rec)
    except (StravaAuthError, RateLimitExhausted):
        raise
    except StravaError as exc:
        label = activity_label({"id": rec.source_id, "name": rec.name})
        tally.error_messages.append(f"{label}: streams not read ({exc}); stored with the estimated descent")
        d = estimated_descent(rec.elevation_gain_m, note="streams refused")
        return replace(rec, elevation_loss_m=d.loss_m, elevation_source=d.source,
                       extra={**rec.extra, "descent_note": "streams refused"})


def _consume(
    svc: Service,
    athlete: Athlete,
    conn: StravaConnector,
    pages: Iterator[ActivityPage],
    tally: _Tally,
    *,
    hashes: dict[int, str],
    state_key: str | None = None,
    state: dict[str, Any] | None = None,
    next_state: Callable[[ActivityPage, dict[str, Any] | None], dict[str, Any]] | None = None,
    seen: set[int] | None = None,
    on_change: Callable[[], None] | None = None,
    on_page: Callable[[ActivityPage], None] | None = None,
    pause: Callable[[], None] | None = None,
    recheck_state: Callable[[list[ActivityRecord]], dict[str, Any] | None] | None = None,
) -> bool:
    """Store what ``pages`` bring. Returns True when the listing was read to its end.

    An activity whose descent cost a request is stored at once (with the current, unchanged
    state); the rest of a page is stored with the page's new state in one transaction.
    ``recheck_state(records)``: the re-read record (``RECHECK_KEY``) to store in the same
    transaction, so a sync killed after storing a fresh activity does not read its streams again.
    """
    buffer: list[ActivityRecord] = []
    current = state

    def flush(value: dict[str, Any] | None) -> None:
        nonlocal buffer
        if not buffer and (state_key is None or value is None):
            return
        rechecks = recheck_state(buffer) if recheck_state is not None else None
        results = svc.store.record_strava_page(athlete.id, buffer, state_key, value,
                                               more_state={RECHECK_KEY: rechecks} if rechecks is not None else None)
        for rec, res in zip(buffer, results, strict=True):
            if res.error is not None:
                label = activity_label({"id": rec.source_id, "name": rec.name})
                tally.skip(athlete, rec.source_id, "StorageError", f"{label}: not stored, the database refused it "
                                                                   f"({res.error})")
                continue
            if res.created:
                tally.new += 1
            elif res.changed:
                tally.updated += 1
            else:
                tally.unchanged += 1
            hashes[rec.source_id] = rec.content_hash
        buffer = []
        if on_change is not None:
            on_change()

    try:
        for page in pages:
            for err in page.errors:
                tally.skip(athlete, err.activity_id, err.reason, err.message)
            tally.unchanged += len(page.unchanged_ids)
            tally.listed += len(page.records) + len(page.unchanged_ids) + len(page.errors)
            tally.progressed += len(page.unchanged_ids) + len(page.errors)
            if seen is not None:
                seen |= page.seen_ids
            for rec in page.records:
                if pause is not None:
                    pause()  # may raise RateLimitExhausted: what is buffered is stored below
                before = conn.requests_made
                buffer.append(_with_descent(conn, rec, tally))
                tally.progressed += 1
                if conn.requests_made > before:
                    flush(current)  # a request was spent on it: never spend it twice
            tally.pages += 1
            tally.listed_done += len(page.records) + len(page.unchanged_ids) + len(page.errors)
            current = next_state(page, current) if next_state is not None else current
            flush(current)
            if on_page is not None:
                on_page(page)
            if not page.done and _stop_requested(svc):
                log.info("strava.stopping", athlete_id=athlete.id, pages=tally.pages)
                return False
            if not page.done and pause is not None:
                pause()
        return True
    except BaseException:
        if buffer:
            try:
                flush(current)  # what was read and paid for is kept; the cursor stays behind it
            except LoadmonError:  # pragma: no cover - the original error matters more
                pass
        raise
    finally:
        tally.requests = conn.requests_made


# ------------------------------------------------------------------------------------ backfill
@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillProgress:
    """Reported after each stored activity or page, and before each wait for the budget."""

    listed: int  # activities dealt with so far by this backfill (over all its runs)
    new: int
    updated: int
    unchanged: int
    errors: int
    pages: int  # in this run
    requests: int  # API requests in this run
    cursor: datetime | None  # newest start time read so far
    fraction: float | None  # share of the time span (first activity .. now) covered
    estimated_total: int | None  # activities, extrapolated from the time span covered
    eta_s: float | None  # seconds to the end, within the request budget
    waiting_until: datetime | None = None  # set while sleeping for the next rate-limit window


def budget_eta(requests_left: float, budget: RateBudget, now: datetime, *, seconds_per_request: float = 0.0) -> float:
    """Seconds needed for ``requests_left`` reads within the budget's windows (15 min and day).

    What remains of the current window and day is used first, then each new window allows
    ``limit - margin`` reads until the day's allowance is spent, and so on (1 s grace per reset).
    """
    if requests_left <= 0:
        return 0.0
    read = next(s for s in budget.status() if s.kind == "read")
    per_window = max(1, read.window_limit - read.margin)
    per_day = max(1, read.day_limit - read.margin)
    left_window = max(0, per_window - read.window_used)
    left_day = max(0, per_day - read.day_used)
    t = now
    remaining = float(requests_left)
    for _ in range(100_000):
        n = min(remaining, left_window, left_day)
        remaining -= n
        t += timedelta(seconds=n * seconds_per_request)
        left_window -= n
        left_day -= n
        if remaining <= 0:
            break
        if left_day <= 0:
            t = budget.next_day(t) + timedelta(seconds=budget.grace_s)
            left_day, left_window = per_day, per_window
        else:
            t = budget.next_window(t) + timedelta(seconds=budget.grace_s)
            if t.date() != (t - timedelta(seconds=budget.window_s)).date():
                left_day = per_day
            left_window = per_window
    return max(0.0, (t - now).total_seconds())


def _since_datetime(since: date | None, athlete: Athlete) -> datetime | None:
    if since is None:
        return None
    return datetime.combine(since, datetime.min.time(), tzinfo=ZoneInfo(athlete.timezone)).astimezone(UTC)


def backfill(
    svc: Service,
    athlete: Athlete,
    *,
    since: date | None = None,
    wait: bool = True,
    progress: Callable[[BackfillProgress], None] | None = None,
    alerts: bool = True,
    reserve: bool = False,
) -> dict[str, Any]:
    """Read the athlete's Strava history (from ``since``, else all of it), oldest first; resumable.

    Continues from the stored cursor (``since`` differing from the stored one starts again
    from ``since``; activities already stored cost no streams request). With ``wait=False``
    a spent budget ends the run cleanly: ``done`` is False and ``resume_at`` says when to run
    again (nothing is raised). ``progress`` receives a :class:`BackfillProgress` after each
    page, at most every 0.2 s in between, and before each wait for the next window.
    ``reserve=True`` (a backfill continued by :func:`sync`) pauses while less than a fifth of
    the 15-minute window or of the day is left, so the other athletes' syncs still get requests.

    Returns: new, updated, unchanged, errors, error_messages, requests, pages, listed (this
    run), total_listed (all runs), done, stopped (stop flag), cursor, resume_at (+ message),
    waits, waited_s, and ``alerts`` when the rules ran (something was stored and ``alerts``).
    """
    now = svc.clock()
    since_dt = _since_datetime(since, athlete)
    state = svc.store.get_state(athlete.id, BACKFILL_KEY)
    if state is None or (since_dt is not None and state.get("since") != _iso(since_dt)):
        state = {"since": _iso(since_dt), "cursor": None, "first_start": _iso(since_dt), "done": False, "listed": 0,
                 "errors": 0, "requests": 0, "started_at": _iso(now)}
    base = dict(state)
    cursor = _parse_iso(state.get("cursor"))
    after = cursor or _parse_iso(state.get("since"))
    tally = _Tally()
    hashes = svc.store.source_hashes(athlete.id, SOURCE)
    base_sleep = _sleep(svc)
    holder: dict[str, Any] = {"conn": None, "t0": now, "reported": 0.0}

    def page_state(page: ActivityPage, current: dict[str, Any] | None) -> dict[str, Any]:
        value = dict(current or base)
        first = _parse_iso(value.get("first_start"))
        starts = [r.start_time for r in page.records]
        if first is None:
            first = min(starts) if starts else page.cursor
        value.update({"cursor": _iso(page.cursor) if page.cursor else value.get("cursor"), "first_start": _iso(first),
                      "done": page.done, "resume_at": None, "updated_at": _iso(svc.clock())})
        return value

    def snapshot(waiting_until: datetime | None = None) -> BackfillProgress:
        conn: StravaConnector | None = holder["conn"]
        requests_now = conn.requests_made if conn is not None else 0
        value = holder.get("state") or base
        listed = int(base.get("listed", 0)) + tally.progressed
        cur = _parse_iso(value.get("cursor"))
        first = _parse_iso(value.get("first_start"))
        clock_now = svc.clock()
        fraction = estimated = eta = None
        if value.get("done"):
            fraction, estimated, eta = 1.0, listed, 0.0
        elif cur is not None and first is not None and clock_now > first:
            fraction = min(1.0, max(0.0, (cur - first).total_seconds() / (clock_now - first).total_seconds()))
            if fraction > 0 and listed:
                estimated = max(listed, round(listed / fraction))
                all_requests = int(base.get("requests", 0)) + requests_now
                per_activity = all_requests / listed if listed else 1.0
                left_acts = estimated - listed
                left_requests = left_acts * per_activity + math.ceil(left_acts / PER_PAGE)
                elapsed = (clock_now - holder["t0"]).total_seconds() - (conn.budget.waited_s if conn else 0.0)
                spr = max(0.0, elapsed / requests_now) if requests_now else 0.0
                if conn is not None:
                    eta = budget_eta(left_requests, conn.budget, clock_now, seconds_per_request=spr)
        return BackfillProgress(listed=listed, new=tally.new, updated=tally.updated, unchanged=tally.unchanged,
                                errors=len(tally.error_messages), pages=tally.pages, requests=requests_now, cursor=cur,
                                fraction=fraction, estimated_total=estimated, eta_s=eta, waiting_until=waiting_until)

    def report() -> None:  # after each stored activity: at most every PROGRESS_EVERY_S (it reads the budget)
        if progress is not None and time.monotonic() - holder["reported"] >= PROGRESS_EVERY_S:
            holder["reported"] = time.monotonic()
            progress(snapshot())

    def page_done(page: ActivityPage) -> None:
        if progress is not None:
            holder["reported"] = time.monotonic()
            progress(snapshot())

    def sleep(seconds: float) -> None:
        if progress is not None and seconds >= 1:
            progress(snapshot(waiting_until=svc.clock() + timedelta(seconds=seconds)))
        base_sleep(seconds)

    def next_state(page: ActivityPage, current: dict[str, Any] | None) -> dict[str, Any]:
        value = page_state(page, current)
        value.update(_cumulative(base, tally, holder["conn"]))
        holder["state"] = value
        return value

    resume_at: datetime | None = None
    completed = False
    with _strava(svc, athlete, wait=wait, sleep=sleep) as conn:
        log.info("strava.backfill.start", athlete_id=athlete.id, after=_iso(after), wait=wait)
        holder["conn"] = conn
        pages = conn.iter_activity_pages(after=after, per_page=PER_PAGE, with_descent=False,
                                         known=lambda r: hashes.get(r.source_id) == r.content_hash)
        try:
            completed = _consume(svc, athlete, conn, pages, tally, hashes=hashes, state_key=BACKFILL_KEY,
                                 state=state if cursor is not None else None, next_state=next_state, on_change=report,
                                 on_page=page_done, pause=_reserve_check(svc, conn.budget) if reserve else None)
        except RateLimitExhausted as exc:
            resume_at = exc.resume_at
            value = dict(holder.get("state") or state)
            value.update(_cumulative(base, tally, conn))
            value.update({"resume_at": _iso(resume_at), "done": False, "updated_at": _iso(svc.clock())})
            svc.store.set_state(athlete.id, BACKFILL_KEY, value)
            holder["state"] = value
            log.info("strava.backfill.paused", athlete_id=athlete.id, resume_at=_iso(resume_at), **tally.as_dict())
        waits, waited_s = conn.budget.waits, conn.budget.waited_s
    final = holder.get("state") or state
    out = tally.as_dict()
    out.pop("rechecked")
    out.update({"athlete": athlete.name, "done": bool(completed and final.get("done")), "cursor": final.get("cursor"),
                "resume_at": _iso(resume_at), "waits": waits, "waited_s": round(waited_s, 1),
                "total_listed": int(final.get("listed", 0)), "stopped": not completed and resume_at is None})
    if resume_at is not None:
        out["message"] = f"Strava request budget spent: {format_resume(resume_at, svc.clock())}"
    log.info("strava.backfill.end", athlete_id=athlete.id,
             **{k: v for k, v in out.items() if k not in ("error_messages", "skipped")})
    if alerts and tally.changed:
        _evaluate(svc, athlete, out)
    return out


def _reserve_check(svc: Service, budget: RateBudget) -> Callable[[], None]:
    """Raise RateLimitExhausted while less than a fifth of the window or the day is left."""
    cfg = svc.config.strava
    window_reserve = max(10, cfg.read_limit_15min // 5)
    day_reserve = max(100, cfg.read_limit_daily // 5)

    def check() -> None:
        now = svc.clock()
        read = next(st for st in budget.status() if st.kind == "read")
        resume: datetime | None = None
        if read.day_limit - read.day_used <= min(day_reserve, read.day_limit // 2) + read.margin:
            resume = budget.next_day(now)
        elif read.window_limit - read.window_used <= min(window_reserve, read.window_limit // 2) + read.margin:
            resume = budget.next_window(now)
        if resume is not None:
            resume += timedelta(seconds=budget.grace_s)
            raise RateLimitExhausted(f"Strava request budget: the rest of this window is kept for syncs; "
                                     f"{format_resume(resume, now)}", resume_at=resume)
    return check


def _cumulative(base: dict[str, Any], tally: _Tally, conn: StravaConnector | None) -> dict[str, Any]:
    requests_now = conn.requests_made if conn is not None else tally.requests
    return {"listed": int(base.get("listed", 0)) + tally.listed_done,
            "errors": int(base.get("errors", 0)) + len(tally.error_messages),
            "requests": int(base.get("requests", 0)) + requests_now}


# ---------------------------------------------------------------------------- sync, reconcile
def sync(svc: Service, athlete: Athlete, *, wait: bool = False, alerts: bool = True) -> dict[str, Any]:
    """Incremental sync plus reconciliation of the last ``[strava] reconcile_days``.

    Lists from ``min(newest stored start - overlap_hours, now - reconcile_days)`` and stores new
    and edited activities; marks deleted what Strava no longer lists in the reconcile window;
    re-reads the streams of activities younger than 48 h (elevation corrections). An unfinished
    backfill then continues (never waiting, and leaving a fifth of each window and day to the
    other athletes' syncs). When something changed, the alert rules run
    (:func:`loadmon.service.alerting.evaluate_and_deliver`). The stop flag
    (``svc.stop``) is checked between pages; an interrupted listing marks nothing deleted.

    Returns counts: new, updated, deleted, unchanged, errors (+ error_messages naming each
    activity), requests, rechecked, pages, listed; ``backfill`` when one was continued; ``alerts``.
    Raises :class:`RateLimitExhausted` (with ``.counts``) when the budget is spent and
    ``wait`` is False; :class:`StravaAuthError` when access was revoked (connection marked).
    """
    now = svc.clock()
    cfg = svc.config.strava
    window_start = now - timedelta(days=cfg.reconcile_days)
    backfill_state = svc.store.get_state(athlete.id, BACKFILL_KEY)
    backfilling = backfill_state is not None and not backfill_state.get("done")
    after = window_start
    newest = svc.store.newest_start(athlete.id, SOURCE)
    if newest is not None and not backfilling:  # an unfinished backfill covers the older part itself
        after = min(window_start, newest - timedelta(hours=cfg.overlap_hours))
    out = _list_and_reconcile(svc, athlete, after=after, reconcile_from=window_start, wait=wait, job="sync")
    if backfilling and not _stop_requested(svc):
        try:
            out["backfill"] = backfill(svc, athlete, wait=False, alerts=False, reserve=True)
        except StravaAuthError:
            raise
        except LoadmonError as exc:  # the sync itself is done; the backfill resumes next time
            out["backfill"] = {"error": str(exc)}
        bf = out["backfill"]
        if bf.get("new") or bf.get("updated"):
            out["changed"] = True
        out["requests"] += int(bf.get("requests", 0))
    _finish(svc, athlete, out, alerts=alerts)
    return out


def reconcile(svc: Service, athlete: Athlete, *, days: int | None = None, alerts: bool = True) -> dict[str, Any]:
    """The nightly reconciliation alone: list the last ``days`` (default ``reconcile_days``),
    store new and edited activities, mark deleted what Strava no longer lists. Same counts as
    :func:`sync`."""
    days = svc.config.strava.reconcile_days if days is None else days
    if days < 1:
        raise ValidationError(f"reconcile days must be at least 1, got {days}")
    start = svc.clock() - timedelta(days=days)
    out = _list_and_reconcile(svc, athlete, after=start, reconcile_from=start, wait=False, job="reconcile")
    _finish(svc, athlete, out, alerts=alerts)
    return out


def _list_and_reconcile(svc: Service, athlete: Athlete, *, after: datetime, reconcile_from: datetime, wait: bool,
                        job: str) -> dict[str, Any]:
    now = svc.clock()
    fresh_after = now - timedelta(hours=FRESH_HOURS)
    recheck_every = timedelta(hours=RECHECK_EVERY_HOURS)
    hashes = svc.store.source_hashes(athlete.id, SOURCE, since=after - timedelta(days=1))
    checked = {int(k): t for k, v in (svc.store.get_state(athlete.id, RECHECK_KEY) or {}).items()
               if (t := _parse_iso(v)) is not None}
    rechecking: set[int] = set()

    def known(rec: ActivityRecord) -> bool:
        if hashes.get(rec.source_id) != rec.content_hash:
            return False
        if rec.start_time >= fresh_after:
            last = checked.get(rec.source_id)
            if last is None or now - last >= recheck_every:
                rechecking.add(rec.source_id)
                return False  # fresh: read its streams again (Strava may have corrected the elevation)
        return True

    def recheck_state(records: list[ActivityRecord]) -> dict[str, Any] | None:
        fresh = [r.source_id for r in records if _read_for_good(r, fresh_after)]
        if not fresh:
            return None
        checked.update(dict.fromkeys(fresh, now))
        return _recheck_value(checked, fresh_after)

    tally = _Tally()
    seen: set[int] = set()
    with _strava(svc, athlete, wait=wait) as conn:
        pages = conn.iter_activity_pages(after=after, per_page=PER_PAGE, with_descent=False, known=known)
        try:
            completed = _consume(svc, athlete, conn, pages, tally, hashes=hashes, seen=seen,
                                 recheck_state=recheck_state)
        except RateLimitExhausted as exc:
            _prune_rechecks(svc, athlete, checked, fresh_after)
            exc.counts = tally.as_dict()  # type: ignore[attr-defined]
            log.info(f"strava.{job}.paused", athlete_id=athlete.id, resume_at=_iso(exc.resume_at),
                     **{k: v for k, v in tally.as_dict().items() if k not in ("error_messages", "skipped")})
            raise
    tally.rechecked = len(rechecking)
    if completed:
        stored = svc.store.source_ids_between(athlete.id, SOURCE, reconcile_from, now + timedelta(days=1))
        gone = sorted(stored - seen)
        if gone:
            tally.deleted = svc.store.mark_deleted(athlete.id, SOURCE, gone)
            log.info("strava.deleted", athlete_id=athlete.id, activity_ids=gone)
    _prune_rechecks(svc, athlete, checked, fresh_after)
    out = tally.as_dict()
    out.update({"athlete": athlete.name, "window_start": _iso(reconcile_from), "listed_from": _iso(after),
                "complete": completed, "changed": tally.changed})
    return out


def _prune_rechecks(svc: Service, athlete: Athlete, checked: dict[int, datetime], fresh_after: datetime) -> None:
    """Drop the re-read times too old to matter (new ones are stored with their activities)."""
    value = _recheck_value(checked, fresh_after)
    if len(value) != len(checked):
        svc.store.set_state(athlete.id, RECHECK_KEY, value)


def _read_for_good(rec: ActivityRecord, fresh_after: datetime) -> bool:
    """A fresh activity whose streams were read (or need no reading) until its next re-check;
    one that got the estimate because Strava answered 5xx is read again at the next sync."""
    return rec.start_time >= fresh_after and not str(rec.extra.get("descent_note", "")).startswith("streams failed")


def _recheck_value(checked: dict[int, datetime], fresh_after: datetime) -> dict[str, Any]:
    """The stored form of ``checked`` without the entries too old to matter."""
    oldest = fresh_after - timedelta(hours=RECHECK_EVERY_HOURS)
    return {str(k): _iso(v) for k, v in checked.items() if v >= oldest}


def _finish(svc: Service, athlete: Athlete, out: dict[str, Any], *, alerts: bool) -> None:
    changed = bool(out.pop("changed", False))
    if alerts and changed:
        _evaluate(svc, athlete, out)
    summary = {k: v for k, v in out.items() if k not in ("error_messages", "skipped", "alerts", "backfill")}
    svc.store.set_state(athlete.id, LAST_SYNC_KEY, {"at": _iso(svc.clock()), "counts": summary})
    log.info("strava.sync", athlete_id=athlete.id, **{k: v for k, v in summary.items() if k != "athlete"})


def _evaluate(svc: Service, athlete: Athlete, out: dict[str, Any]) -> None:
    """Evaluate the alert rules for the athlete and deliver what is due (when alerting exists)."""
    try:
        from loadmon.service.after_store import after_change
    except ImportError:  # pragma: no cover - alerting lands with its own issue
        return
    try:
        out["alerts"] = after_change(svc, {athlete.id}).to_dict()
    except LoadmonError as exc:  # the activities are stored; say why the alerts did not run
        out["alerts_error"] = str(exc)
        log.error("strava.alerts_failed", athlete_id=athlete.id, error=str(exc))


# -------------------------------------------------------------------------------------- status
def status(svc: Service, athlete: Athlete) -> dict[str, Any]:
    """Connection, token expiry, backfill position, last sync and request budget (never a token)."""
    row = svc.store.get_strava_connection(athlete.id)
    now = svc.clock()
    cfg = svc.config.strava
    out: dict[str, Any] = {
        "athlete": athlete.name,
        "connected": row is not None,
        "credentials_configured": bool(cfg.client_id.strip() and cfg.client_secret.strip()),
        "api_url": cfg.api_url,
    }
    if row is not None:
        out.update({"strava_athlete_id": row["strava_athlete_id"], "scope": row["scope"],
                    "needs_reauth": bool(row["needs_reauth"]), "token_expires_at": _iso(row["expires_at"]),
                    "token_expired": row["expires_at"] <= now})
    out["backfill"] = svc.store.get_state(athlete.id, BACKFILL_KEY)
    out["last_sync"] = svc.store.get_state(athlete.id, LAST_SYNC_KEY)
    budget = make_budget(svc)
    out["budget"] = [{"kind": s.kind, "window_start": _iso(s.window_start), "window_used": s.window_used,
                      "window_limit": s.window_limit, "day": s.day, "day_used": s.day_used, "day_limit": s.day_limit,
                      "margin": s.margin} for s in budget.status()]
    return out
