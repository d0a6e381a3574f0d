"""What every page module of the web app shares: the service, the templates, the session and
the login requirement (:meth:`WebContext.guarded`), CSRF on every POST.

A page module exposes ``routes(ctx: WebContext) -> list[BaseRoute]``; :func:`loadmon.web.app.create_app`
collects them. A handler is ``async def handler(request, session, user, athlete) -> Response``:
``user`` is the logged-in :class:`loadmon.service.users.User` and ``athlete`` their athlete.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from loadmon.errors import NotFoundError, ValidationError
from loadmon.service import Service, api_tokens
from loadmon.service import users as user_service
from loadmon.web.security import Session, Sessions, csrf_ok

HERE = Path(__file__).parent
#: the ASGI scope key holding the connection's own address (set by :func:`loadmon.web.server.with_peer`)
PEER_KEY = "loadmon.peer"

Handler = Callable[[Request, Session, Any, Any], Awaitable[Response]]


@dataclass(frozen=True, kw_only=True)
class WebContext:
    svc: Service
    sessions: Sessions
    env: Environment

    @classmethod
    def create(cls, svc: Service) -> WebContext:
        cfg = svc.config.web
        sessions = Sessions(user_service.web_secret(svc), max_age_s=cfg.session_days * 86400,
                            https_only=cfg.public_url.lower().startswith("https://"))
        env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))
        return cls(svc=svc, sessions=sessions, env=env)

    def render(self, request: Request, session: Session, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        """A template with the session's CSRF token and the logged-in user (``user=``); the session cookie refreshed."""
        html = self.env.get_template(name).render(csrf_token=session.csrf, user=ctx.pop("user", None), **ctx)
        response = HTMLResponse(html, status_code=status)
        self.sessions.write(request, response, session)
        return response

    def guarded(self, handler: Handler, *, api: bool = False,
                roles: tuple[str, ...] | None = None) -> Callable[[Request], Awaitable[Response]]:
        """The route only for a logged-in user (else /login or 401); a POST only with the session's
        CSRF token; a :class:`NotFoundError` (another athlete's object too) is 404.

        ``api``: also ``Authorization: Bearer TOKEN`` (a personal token; no cookie, so no CSRF and
        no session cookie is set). ``roles``: only users with one of these roles (others: 404).
        ``[web] auth_header`` from a trusted proxy logs in as the user it names (see :meth:`_login`)."""
        svc = self.svc

        async def endpoint(request: Request) -> Response:
            found = await self._login(request, api)
            if isinstance(found, Response):
                return found
            session, user, how = found
            if request.method == "POST" and how != "bearer":
                token = request.headers.get("x-csrf-token")
                if token is None and _is_form(request):
                    form = await request.form()
                    value = form.get("csrf_token")
                    token = value if isinstance(value, str) else None
                if not csrf_ok(session, token):
                    return Response("CSRF token missing or wrong: reload the page and try again", status_code=403)
            try:
                if roles is not None and user.role not in roles:
                    raise NotFoundError("not for this role")
                athlete = await run_in_threadpool(svc.athlete, user.athlete_name)
                response = await handler(request, session, user, athlete)
            except NotFoundError:
                if api:
                    return JSONResponse({"error": "not found"}, status_code=404)
                return Response("not found", status_code=404)
            if how == "header-new" and "set-cookie" not in response.headers:
                self.sessions.write(request, response, session)
            return response
        return endpoint

    async def _login(self, request: Request, api: bool) -> tuple[Session, Any, str] | Response:
        """``(session, user, how)``, how: ``bearer`` (an API token), ``header`` / ``header-new`` (the
        proxy's header; ``-new``: a session cookie to set) or ``cookie``; else the answer to give."""
        svc, sessions = self.svc, self.sessions

        def refused(error: str) -> Response:
            if api:
                return JSONResponse({"error": error}, status_code=401)
            return RedirectResponse("/login", status_code=303)

        authorization = request.headers.get("authorization", "")
        if api and authorization[:7].lower() == "bearer ":
            user = await run_in_threadpool(api_tokens.user_for_token, svc, authorization[7:].strip())
            if user is None:
                return JSONResponse({"error": "token unknown or revoked"}, status_code=401)
            return Session(csrf="", user_id=user.id), user, "bearer"
        session = sessions.read(request)
        header = svc.config.web.auth_header
        if header and header in request.headers and _trusted(request, svc.config.web.trusted_proxies):
            user = await run_in_threadpool(user_service.find_user, svc, request.headers[header].strip())
            if user is None:
                return refused("unknown user")
            if session is not None and session.user_id == user.id:
                return session, user, "header"
            return Sessions.new(user.id), user, "header-new"
        user = None
        if session and session.user_id is not None:
            try:
                user = await run_in_threadpool(user_service.get_user, svc, session.user_id)
            except NotFoundError:  # removed since: the session is void
                user = None
        if session is None or user is None:
            return refused("login required")
        return session, user, "cookie"

    def now_local(self, timezone: str) -> str:
        """Now in the athlete's zone as a ``datetime-local`` input value."""
        return self.svc.clock().astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def peer_of(request: Request) -> str:
    """The address the connection came from (a proxy's, not the X-Forwarded-For one); empty when
    the app is not served through :func:`loadmon.web.server.with_peer` (then no proxy is trusted)."""
    peer = request.scope.get(PEER_KEY)
    return peer if isinstance(peer, str) else ""


def _trusted(request: Request, proxies: list[str]) -> bool:
    try:
        peer = ipaddress.ip_address(peer_of(request))
    except ValueError:
        return False
    for proxy in proxies:
        try:
            if peer in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind in ("application/x-www-form-urlencoded", "multipart/form-data")


def path_id(request: Request, key: str, what: str) -> int:
    """A path parameter as a 64-bit id; anything else is 404 (as a missing object is)."""
    try:
        value = int(request.path_params[key])
    except ValueError:
        raise NotFoundError(f"no such {what}") from None
    if not 0 < value < 2**63:
        raise NotFoundError(f"no such {what}")
    return value


def parse_local(value: str | None, tz: str) -> datetime | None:
    """A ``datetime-local`` value (or ISO text) in the athlete's zone; empty is None."""
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"at: {value!r} is not a date and time (use YYYY-MM-DD HH:MM)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(tz))
