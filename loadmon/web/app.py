"""The ASGI app: routes, the login requirement, CSRF on every POST; every read and write goes through the service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from loadmon.domain import SYMPTOM_SIDES, SYMPTOM_SITES
from loadmon.errors import LoadmonError, NotFoundError, ValidationError
from loadmon.service import Service, alerting, load
from loadmon.service import symptoms as symptom_service
from loadmon.service import users as user_service
from loadmon.service.after_store import after_change
from loadmon.web.security import Session, Sessions, csrf_ok
from loadmon.web.today import today_view

HERE = Path(__file__).parent
OPEN_PATHS = frozenset({"/login", "/healthz"})


def create_app(svc: Service, *, throttle: user_service.LoginThrottle | None = None) -> Starlette:
    """The web app on ``svc``; ``throttle`` (default: one on the service clock) counts failed logins."""
    cfg = svc.config.web
    sessions = Sessions(user_service.web_secret(svc), max_age_s=cfg.session_days * 86400,
                        https_only=cfg.public_url.lower().startswith("https://"))
    throttle = throttle or user_service.LoginThrottle(clock=svc.clock)
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True))

    def render(request: Request, session: Session, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        html = env.get_template(name).render(csrf_token=session.csrf, user=ctx.pop("user", None), **ctx)
        response = HTMLResponse(html, status_code=status)
        sessions.write(request, response, session)
        return response

    def guarded(handler: Callable, *, api: bool = False) -> Callable:
        """The route only for a logged-in user (else /login or 401); a POST only with the session's CSRF token."""
        async def endpoint(request: Request) -> Response:
            session = sessions.read(request)
            user = None
            if session and session.user_id is not None:
                try:
                    user = await run_in_threadpool(user_service.get_user, svc, session.user_id)
                except NotFoundError:  # removed since: the session is void
                    user = None
            if user is None:
                if api:
                    return JSONResponse({"error": "login required"}, status_code=401)
                return RedirectResponse("/login", status_code=303)
            if request.method == "POST":
                form = await request.form()
                token = request.headers.get("x-csrf-token") or form.get("csrf_token")
                if not csrf_ok(session, token if isinstance(token, str) else None):
                    return Response("CSRF token missing or wrong: reload the page and try again", status_code=403)
            try:
                athlete = await run_in_threadpool(svc.athlete, user.athlete_name)
                return await handler(request, session, user, athlete)
            except NotFoundError:
                if api:
                    return JSONResponse({"error": "not found"}, status_code=404)
                return Response("not found", status_code=404)
        return endpoint

    # -- open routes ------------------------------------------------------------------------------
    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def login_page(request: Request) -> Response:
        return render(request, sessions.read(request) or Sessions.new(), "login.html")

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
                resp = render(request, session, "login.html", 429, username=name,
                              error=f"Too many failed logins: try again in {wait} seconds.")
                resp.headers["Retry-After"] = str(wait)
                return resp
            return render(request, session, "login.html", 401, username=name, error="Wrong user name or password.")
        response = RedirectResponse("/", status_code=303)
        sessions.write(request, response, Sessions.new(result.user.id))
        return response

    # -- pages -------------------------------------------------------------------------------------
    async def logout(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        response = RedirectResponse("/login", status_code=303)
        sessions.clear(response)
        return response

    async def today(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        def gather() -> tuple[dict, list]:
            data = load.status_json(load.status(svc, athlete))
            since = date.fromisoformat(data["date"]) - timedelta(days=14)
            alerts = [a for a in alerting.list_alerts(svc, athlete, since=since) if a.get("state", "active") == "active"]
            return data, alerts
        data, alerts = await run_in_threadpool(gather)
        return render(request, session, "today.html", user=user, view=today_view(data, alerts))

    async def symptom_list(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        items = await run_in_threadpool(lambda: [symptom_service.symptom_json(s, athlete.timezone)
                                                 for s in symptom_service.list_symptoms(svc, athlete)])
        return render(request, session, "symptoms.html", user=user, symptoms=list(reversed(items)))

    def _now_local(athlete: Any) -> str:
        return svc.clock().astimezone(ZoneInfo(athlete.timezone)).strftime("%Y-%m-%dT%H:%M")

    async def symptom_form(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        return render(request, session, "symptom_new.html", user=user, sites=SYMPTOM_SITES, sides=SYMPTOM_SIDES,
                      values={"at": _now_local(athlete), "side": "none", "severity": "3"})

    async def symptom_add(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
        try:
            at = _parse_local(form.get("at"), athlete.timezone)
            await run_in_threadpool(_add_symptom, svc, athlete, form, at)
        except ValidationError as exc:
            return render(request, session, "symptom_new.html", 400, user=user, sites=SYMPTOM_SITES,
                          sides=SYMPTOM_SIDES, values=form, error=str(exc))
        return RedirectResponse("/symptoms", status_code=303)

    async def symptom_resolve(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        try:
            symptom_id = int(request.path_params["symptom_id"])
        except ValueError:
            raise NotFoundError("no such symptom") from None
        try:
            await run_in_threadpool(symptom_service.resolve_symptom, svc, athlete, symptom_id)
            await run_in_threadpool(after_change, svc, [athlete.id],
                                    reason=f"symptom {symptom_id} was resolved")
        except ValidationError as exc:
            return Response(str(exc), status_code=400)
        return RedirectResponse("/symptoms", status_code=303)

    async def alert_list(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        items = await run_in_threadpool(alerting.list_alerts, svc, athlete, limit=200)
        return render(request, session, "alerts.html", user=user, alerts=list(reversed(items)))

    # -- API ---------------------------------------------------------------------------------------
    async def api_status(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        raw = request.query_params.get("date")
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            return JSONResponse({"error": f"date: {raw!r} is not a date (use YYYY-MM-DD)"}, status_code=400)
        data = await run_in_threadpool(lambda: load.status_json(load.status(svc, athlete, day=day)))
        return JSONResponse(data)

    async def api_session(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        """Who is logged in, and the CSRF token a script sends as ``X-CSRF-Token`` with its POSTs."""
        return JSONResponse({"user": user.name, "athlete": athlete.name, "role": user.role, "csrf_token": session.csrf})

    async def api_symptoms(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        """GET: `loadmon symptom list --json` (``?active=1``: the unresolved ones)."""
        items = await run_in_threadpool(lambda: [symptom_service.symptom_json(s, athlete.timezone)
                                                 for s in symptom_service.list_symptoms(svc, athlete)])
        if request.query_params.get("active") in ("1", "true"):
            items = [s for s in items if s["active"]]
        return JSONResponse(items)

    async def api_symptom_add(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        """POST (JSON, ``X-CSRF-Token``): `loadmon symptom add --json`: ``{"symptom": ..., "alerts": ...}``."""
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
        form = {k: str(v) for k, v in body.items() if v is not None}
        try:
            at = _parse_local(form.get("at"), athlete.timezone)
            symptom, after = await run_in_threadpool(_add_symptom, svc, athlete, form, at)
        except ValidationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"symptom": symptom_service.symptom_json(symptom, athlete.timezone), "alerts": after},
                            status_code=201)

    async def api_alerts(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        """`loadmon --athlete NAME alerts --json` (``?limit=`` default 50, 0 all; ``?since=YYYY-MM-DD``)."""
        try:
            limit = int(request.query_params.get("limit", "50"))
            raw = request.query_params.get("since")
            since = date.fromisoformat(raw) if raw else None
            if limit < 0:
                raise ValueError
        except ValueError:
            return JSONResponse({"error": "limit: a whole number 0 or more; since: YYYY-MM-DD"}, status_code=400)
        items = await run_in_threadpool(alerting.list_alerts, svc, athlete, limit=limit or None, since=since)
        return JSONResponse(items)

    routes = [
        Route("/healthz", healthz),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", guarded(logout), methods=["POST"]),
        Route("/", guarded(today)),
        Route("/symptoms", guarded(symptom_list), methods=["GET"]),
        Route("/symptoms", guarded(symptom_add), methods=["POST"]),
        Route("/symptoms/new", guarded(symptom_form)),
        Route("/symptoms/{symptom_id}/resolve", guarded(symptom_resolve), methods=["POST"]),
        Route("/alerts", guarded(alert_list)),
        Route("/api/session", guarded(api_session, api=True)),
        Route("/api/status", guarded(api_status, api=True)),
        Route("/api/symptoms", guarded(api_symptoms, api=True), methods=["GET"]),
        Route("/api/symptoms", guarded(api_symptom_add, api=True), methods=["POST"]),
        Route("/api/alerts", guarded(api_alerts, api=True)),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={LoadmonError: _loadmon_error})
    return app


async def _loadmon_error(request: Request, exc: Exception) -> Response:
    """A loadmon error names what went wrong; never a traceback."""
    return Response(f"error: {exc}", status_code=404 if isinstance(exc, NotFoundError) else 500)


def _parse_local(value: str | None, tz: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(f"at: {value!r} is not a date and time (use YYYY-MM-DD HH:MM)") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=ZoneInfo(tz))


def _add_symptom(svc: Service, athlete: Any, form: dict[str, str], at: datetime | None) -> tuple[Any, dict[str, Any]]:
    symptom = symptom_service.add_symptom(svc, athlete, form.get("site", ""), form.get("side", "none"),
                                          form.get("location"), form.get("severity", ""), at=at, note=form.get("note"))
    return symptom, after_change(svc, [athlete.id]).to_dict()
