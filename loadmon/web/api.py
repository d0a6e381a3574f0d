"""The JSON API under ``/api/``: the same keys as the CLI's ``--json`` (the same service functions)."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.errors import NotFoundError, ValidationError
from loadmon.service import alerting, checkin, load
from loadmon.service import symptoms as symptom_service
from loadmon.web.context import WebContext, parse_local, path_id
from loadmon.web.security import Session
from loadmon.web.symptom_pages import add_symptom


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def api_status(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        raw = request.query_params.get("date")
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError:
            return JSONResponse({"error": f"date: {raw!r} is not a date (use YYYY-MM-DD)"}, status_code=400)
        data = await run_in_threadpool(lambda: load.status_json(load.status(svc, athlete, day=day)))
        return JSONResponse(data)

    async def api_session(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        """Who is logged in, and the CSRF token a script sends as ``X-CSRF-Token`` with its POSTs
        (None with a bearer token: it needs none)."""
        return JSONResponse({"user": user.name, "athlete": athlete.name, "role": user.role, "csrf_token": session.csrf or None})

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
            at = parse_local(form.get("at"), athlete.timezone)
            symptom, after = await run_in_threadpool(add_symptom, svc, athlete, form, at)
        except ValidationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"symptom": symptom_service.symptom_json(symptom, athlete.timezone), "alerts": after},
                            status_code=201)

    async def api_symptom_update(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        """POST (JSON ``{"severity": N, "at": optional ISO time, "note": optional}``, ``X-CSRF-Token``):
        `loadmon symptom update ID`; answers the symptom (its ``updates`` hold the new reading)."""
        symptom_id = path_id(request, "symptom_id", "symptom")
        ids = await run_in_threadpool(lambda: {s.id for s in symptom_service.list_symptoms(svc, athlete)})
        if symptom_id not in ids:  # another athlete's (or none): 404 before the body is read
            raise NotFoundError("no such symptom")
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        if not isinstance(body, dict) or "severity" not in body:
            return JSONResponse({"error": 'the body must be a JSON object with "severity" (0-10)'}, status_code=400)
        try:
            at = parse_local(str(body["at"]) if body.get("at") is not None else None, athlete.timezone)
            note = str(body["note"]) if body.get("note") is not None else None
            symptom, _counts = await run_in_threadpool(checkin.record_checkin, svc, athlete, symptom_id, body["severity"],
                                                       at, note)
        except ValidationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(symptom_service.symptom_json(symptom, athlete.timezone), status_code=201)

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

    return [
        Route("/api/session", ctx.guarded(api_session, api=True)),
        Route("/api/status", ctx.guarded(api_status, api=True)),
        Route("/api/symptoms", ctx.guarded(api_symptoms, api=True), methods=["GET"]),
        Route("/api/symptoms", ctx.guarded(api_symptom_add, api=True), methods=["POST"]),
        Route("/api/symptoms/{symptom_id}/updates", ctx.guarded(api_symptom_update, api=True), methods=["POST"]),
        Route("/api/alerts", ctx.guarded(api_alerts, api=True)),
    ]
