"""``GET /plan``: check a planned run before you go (``loadmon plan check`` on the web), and the day's limits;
``GET /api/plan`` answers the same JSON as ``loadmon plan check --json``. Nothing is stored (GET only)."""

from __future__ import annotations

from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.errors import ValidationError
from loadmon.service import plan as plan_service
from loadmon.web.context import WebContext
from loadmon.web.security import Session


def _day(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationError(f"date {raw!r} is not a date (use YYYY-MM-DD)") from None


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def plan_page(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        q = request.query_params
        values = {"distance_km": q.get("distance_km", ""), "descent_m": q.get("descent_m", ""), "date": q.get("date", "")}
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            day = _day(values["date"])
            if values["distance_km"]:
                checked = await run_in_threadpool(
                    plan_service.check, svc, athlete, distance_km=values["distance_km"], descent_m=values["descent_m"] or None, day=day
                )
            else:
                checked = await run_in_threadpool(plan_service.day_limits, svc, athlete, day)
            result = plan_service.plan_json(checked)
        except ValidationError as exc:
            error = str(exc)
        status = 400 if error else 200
        return ctx.render(
            request,
            session,
            "plan.html",
            user=user,
            values=values,
            result=result,
            error=error,
            checked=bool(values["distance_km"]) and result is not None,
            status=status,
        )

    async def api_plan(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        """``?distance_km=&descent_m=&date=``: the JSON of `loadmon plan check --json`."""
        q = request.query_params
        if not q.get("distance_km"):
            return JSONResponse({"error": "distance_km: give the planned distance in km"}, status_code=400)
        try:
            checked = await run_in_threadpool(
                plan_service.check,
                svc,
                athlete,
                distance_km=q.get("distance_km"),
                descent_m=q.get("descent_m") or None,
                day=_day(q.get("date")),
            )
        except ValidationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(plan_service.plan_json(checked))

    return [Route("/plan", ctx.guarded(plan_page)), Route("/api/plan", ctx.guarded(api_plan, api=True))]
