"""What every page module of the web app shares: the service, the templates, the session and
the login requirement (:meth:`WebContext.guarded`), CSRF on every POST.

A page module exposes ``routes(ctx: WebContext) -> list[BaseRoute]``; :func:`loadmon.web.app.create_app`
collects them. A handler is ``async def handler(request, session, user, athlete) -> Response``:
``user`` is the logged-in :class:`loadmon.service.users.User` and ``athlete`` their athlete.
"""

from __future__ import annotations

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
from loadmon.service import Service
from loadmon.service import users as user_service
from loadmon.web.security import Session, Sessions, csrf_ok

HERE = Path(__file__).parent

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

    def guarded(self, handler: Handler, *, api: bool = False) -> Callable[[Request], Awaitable[Response]]:
        """The route only for a logged-in user (else /login or 401); a POST only with the session's
        CSRF token; a :class:`NotFoundError` (another athlete's object too) is 404."""
        svc, sessions = self.svc, self.sessions

        async def endpoint(request: Request) -> Response:
            session = sessions.read(request)
            user = None
            if session and session.user_id is not None:
                try:
                    user = await run_in_threadpool(user_service.get_user, svc, session.user_id)
                except NotFoundError:  # removed since: the session is void
                    user = None
            if session is None or user is None:
                if api:
                    return JSONResponse({"error": "login required"}, status_code=401)
                return RedirectResponse("/login", status_code=303)
            if request.method == "POST":
                token = request.headers.get("x-csrf-token")
                if token is None and _is_form(request):
                    form = await request.form()
                    value = form.get("csrf_token")
                    token = value if isinstance(value, str) else None
                if not csrf_ok(session, token):
                    return Response("CSRF token missing or wrong: reload the page and try again", status_code=403)
            try:
                athlete = await run_in_threadpool(svc.athlete, user.athlete_name)
                return await handler(request, session, user, athlete)
            except NotFoundError:
                if api:
                    return JSONResponse({"error": "not found"}, status_code=404)
                return Response("not found", status_code=404)
        return endpoint

    def now_local(self, timezone: str) -> str:
        """Now in the athlete's zone as a ``datetime-local`` input value."""
        return self.svc.clock().astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


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
