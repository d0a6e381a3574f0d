"""The symptom pages: ``/symptoms/new`` (log one in seconds), ``/symptoms`` (the log, with resolve)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.domain import SYMPTOM_SIDES, SYMPTOM_SITES
from loadmon.errors import ValidationError
from loadmon.service import Service
from loadmon.service import symptoms as symptom_service
from loadmon.service.after_store import after_change
from loadmon.web.context import WebContext, parse_local, path_id
from loadmon.web.security import Session


def add_symptom(svc: Service, athlete: Any, form: dict[str, str], at: datetime | None) -> tuple[Any, dict[str, Any]]:
    """Store a symptom from form or JSON fields, then evaluate and deliver (as `loadmon symptom add`)."""
    symptom = symptom_service.add_symptom(svc, athlete, form.get("site", ""), form.get("side", "none"),
                                          form.get("location"), form.get("severity", ""), at=at, note=form.get("note"))
    return symptom, after_change(svc, [athlete.id]).to_dict()


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def symptom_list(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        items = await run_in_threadpool(lambda: [symptom_service.symptom_json(s, athlete.timezone)
                                                 for s in symptom_service.list_symptoms(svc, athlete)])
        return ctx.render(request, session, "symptoms.html", user=user, symptoms=list(reversed(items)))

    async def symptom_form(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        return ctx.render(request, session, "symptom_new.html", user=user, sites=SYMPTOM_SITES, sides=SYMPTOM_SIDES,
                          values={"at": ctx.now_local(athlete.timezone), "side": "none", "severity": "3"},
                          rendered_ms=int(svc.clock().timestamp() * 1000))  # app.js: a cached form's time moves on

    async def symptom_add(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
        try:
            at = parse_local(form.get("at"), athlete.timezone)
            await run_in_threadpool(add_symptom, svc, athlete, form, at)
        except ValidationError as exc:
            return ctx.render(request, session, "symptom_new.html", 400, user=user, sites=SYMPTOM_SITES,
                              sides=SYMPTOM_SIDES, values=form, error=str(exc))
        return RedirectResponse("/symptoms", status_code=303)

    async def symptom_resolve(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        symptom_id = path_id(request, "symptom_id", "symptom")
        try:
            await run_in_threadpool(symptom_service.resolve_symptom, svc, athlete, symptom_id)
            await run_in_threadpool(after_change, svc, [athlete.id], reason=f"symptom {symptom_id} was resolved")
        except ValidationError as exc:
            return Response(str(exc), status_code=400)
        return RedirectResponse("/symptoms", status_code=303)

    return [
        Route("/symptoms", ctx.guarded(symptom_list), methods=["GET"]),
        Route("/symptoms", ctx.guarded(symptom_add), methods=["POST"]),
        Route("/symptoms/new", ctx.guarded(symptom_form)),
        Route("/symptoms/{symptom_id}/resolve", ctx.guarded(symptom_resolve), methods=["POST"]),
    ]
