"""The ASGI app: the open routes (login, health) and every page module's routes; each page
module calls only the service (see :mod:`loadmon.web.context` for the login and CSRF guard)."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from loadmon.errors import LoadmonError, NotFoundError
from loadmon.service import Service
from loadmon.service import users as user_service
from loadmon.web import (
    activity_pages,
    admin_pages,
    alert_pages,
    api,
    chart_pages,
    checkin_pages,
    club_page,
    insights_page,
    plan_page,
    pwa,
    settings_page,
    strava_connect_pages,
    strava_webhook,
    symptom_pages,
    today_page,
    upload_pages,
)
from loadmon.web.context import HERE, WebContext
from loadmon.web.security import Session, Sessions, csrf_ok

#: The routes that answer without a login (the app manifest, its icons and the service worker hold no user data;
#: Strava's webhook callback has no login: it checks the verify token and the event's subscription and owner).
OPEN_PATHS = frozenset({"/login", "/healthz"}) | pwa.PATHS | strava_webhook.PATHS
#: The page modules, each with ``routes(ctx)``.
PAGE_MODULES = (today_page, plan_page, symptom_pages, checkin_pages, alert_pages, activity_pages, upload_pages,
                chart_pages, insights_page, api, settings_page, strava_connect_pages, club_page, admin_pages, pwa,
                strava_webhook)


def create_app(svc: Service, *, throttle: user_service.LoginThrottle | None = None) -> Starlette:
    """The web app on ``svc``; ``throttle`` (default: one on the service clock) counts failed logins."""
    ctx = WebContext.create(svc)
    sessions = ctx.sessions
    throttle = throttle or user_service.LoginThrottle(clock=svc.clock)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def login_page(request: Request) -> Response:
        return ctx.render(request, sessions.read(request) or Sessions.new(), "login.html")

    async def login(request: Request) -> Response:
        session = sessions.read(request)
        form = await request.form()
        token = form.get("csrf_token")
        if session is None or not csrf_ok(session, token if isinstance(token, str) else None):
            return Response("CSRF token missing or wrong: reload the login page and try again", status_code=403)
        name, password = str(form.get("username") or ""), str(form.get("password") or "")
        address = request.client.host if request.client else "unknown"
        result = await run_in_threadpool(user_service.authenticate, svc, throttle, name, password, address)
        if result.user is None:
            if result.reason == "throttled":
                wait = int(result.retry_after_s + 0.999)
                resp = ctx.render(request, session, "login.html", 429, username=name,
                                  error=f"Too many failed logins: try again in {wait} seconds.")
                resp.headers["Retry-After"] = str(wait)
                return resp
            return ctx.render(request, session, "login.html", 401, username=name, error="Wrong user name or password.")
        response = RedirectResponse("/", status_code=303)
        sessions.write(request, response, Sessions.new(result.user.id))
        return response

    async def logout(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        response = RedirectResponse("/login", status_code=303)
        sessions.clear(response)
        return response

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", ctx.guarded(logout), methods=["POST"]),
    ]
    for module in PAGE_MODULES:
        routes.extend(module.routes(ctx))
    routes.append(Mount("/static", StaticFiles(directory=HERE / "static"), name="static"))
    return Starlette(routes=routes, exception_handlers={LoadmonError: _loadmon_error})


async def _loadmon_error(request: Request, exc: Exception) -> Response:
    """A loadmon error names what went wrong; never a traceback."""
    return Response(f"error: {exc}", status_code=404 if isinstance(exc, NotFoundError) else 500)
