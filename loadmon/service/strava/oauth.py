"""Connecting an athlete's Strava account: the OAuth authorization-code flow, the one-shot
HTTP server on 127.0.0.1 that receives Strava's redirect (:class:`OAuthCallback`), and
:func:`disconnect` (revoke the grant; the tokens are forgotten locally even when Strava fails).
Nothing here logs or returns a token or the client secret."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from connectors.strava import DEFAULT_SCOPE, authorize_url, deauthorize, exchange_code
from loadmon.domain import Athlete
from loadmon.errors import ConfigError, LoadmonError, StravaAuthError, StravaAuthReason, ValidationError
from loadmon.service.context import Service
from loadmon.service.strava.common import BACKFILL_KEY, READ_ALL, RECHECK_KEY, iso, log, session_for, sleep_of
from loadmon.service.strava.credentials import credentials, save_tokens, stored_tokens
from loadmon.service.strava.records import DisconnectResult


def redirect_uri_for(port: int) -> str:
    """The OAuth redirect URI of the local callback (Strava callback domain: 127.0.0.1)."""
    return f"http://127.0.0.1:{port}/"


def new_oauth_state() -> str:
    return secrets.token_urlsafe(24)


def connect_url(svc: Service, athlete: Athlete, *, redirect_uri: str, state: str) -> str:
    """The Strava authorisation page for ``athlete`` (scope ``read,activity:read_all``)."""
    client_id, _secret = credentials(svc.config)
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
                "expires_at": iso(self.expires_at), "private_activities": self.private_activities,
                "warnings": list(self.warnings)}


def complete_connect(svc: Service, athlete: Athlete, *, code: str, scope: str | None) -> ConnectResult:
    """Exchange the redirect's ``code`` for tokens and store them for ``athlete``.

    ``scope`` is the redirect's ``scope`` parameter; it must include ``activity:read`` or
    ``activity:read_all`` (without ``read_all`` private activities are not synced: a warning).
    """
    client_id, secret = credentials(svc.config)
    code = (code or "").strip()
    if not code:
        raise ValidationError("--code: empty authorization code")
    session = session_for(svc)
    try:
        tokens = exchange_code(session, client_id, secret, code, scope=scope, sleep=sleep_of(svc))
    finally:
        session.close()
    previous = svc.store.get_strava_connection(athlete.id)
    if previous is not None and previous.strava_athlete_id != tokens.athlete_id:
        # another Strava account: its backfill position means nothing for this one
        svc.store.delete_state(athlete.id, BACKFILL_KEY)
        svc.store.delete_state(athlete.id, RECHECK_KEY)
    save_tokens(svc, athlete, tokens)
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
                              "connect` again and click Authorize", reason=StravaAuthReason.REDIRECT)
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
            def do_GET(self) -> None:
                status, body = callback._handle(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
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
                                          "(an old tab, or a forged request): run `loadmon strava connect` again",
                                          reason=StravaAuthReason.REDIRECT)
            status, page = 400, b"<p>loadmon: state mismatch; run <code>loadmon strava connect</code> again.</p>"
        elif params.get("error"):
            self._error = StravaAuthError(f"Strava authorization was not granted (error={params['error']}): run "
                                          "`loadmon strava connect` again and click Authorize",
                                          reason=StravaAuthReason.REDIRECT)
            status, page = 200, b"<p>loadmon: authorization was not granted. You can close this tab.</p>"
        elif not params.get("code"):
            self._error = StravaAuthError("the Strava redirect carried no code: run `loadmon strava connect` again",
                                          reason=StravaAuthReason.REDIRECT)
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
                                  "URL to `loadmon strava connect --code`)", reason=StravaAuthReason.REDIRECT)
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


def disconnect(svc: Service, athlete: Athlete) -> DisconnectResult:
    """Revoke loadmon's access on Strava and delete the stored tokens.

    When Strava cannot be reached or refuses, the tokens are deleted locally all the same
    and ``remote_error`` says what happened (revoke the app at strava.com/settings/apps then).
    """
    row = svc.store.get_strava_connection(athlete.id)
    if row is None:
        return DisconnectResult(athlete=athlete.name, was_connected=False, deauthorized=False, remote_error=None)
    tokens = stored_tokens(row)
    cfg = svc.config.strava
    remote_error: str | None = None
    session = session_for(svc)
    try:
        deauthorize(session, tokens, client_id=cfg.client_id.strip() or None, client_secret=cfg.client_secret or None,
                    now=svc.clock(), sleep=sleep_of(svc))
    except LoadmonError as exc:
        remote_error = f"{exc} (the tokens were deleted here; revoke loadmon at https://www.strava.com/settings/apps)"
    except requests.RequestException as exc:  # pragma: no cover - the connector translates these
        remote_error = f"Strava could not be reached ({type(exc).__name__}); the tokens were deleted here"
    finally:
        session.close()
    svc.store.delete_strava_connection(athlete.id)
    log.info("strava.disconnect", athlete_id=athlete.id, deauthorized=remote_error is None)
    return DisconnectResult(athlete=athlete.name, was_connected=True, deauthorized=remote_error is None,
                            remote_error=remote_error)

