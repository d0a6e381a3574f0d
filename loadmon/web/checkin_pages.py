"""The morning check-in page ``/checkin`` (one tap: the pain 0-10 of each open episode) and the
"How is it now?" reading on ``/symptoms``; both store a severity update and re-evaluate the alerts."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.errors import NotFoundError, ValidationError
from loadmon.service import checkin
from loadmon.web.context import WebContext, path_id
from loadmon.web.security import Session

#: The pain scale of the one-tap buttons.
SEVERITIES = tuple(range(11))


def form_id(value: object) -> int:
    """A symptom id from a form field; anything else is 404 (as a missing symptom is)."""
    text = value if isinstance(value, str) else ""
    if not text.strip().isdigit() or not 0 < int(text) < 2**63:
        raise NotFoundError("no such symptom")
    return int(text)


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    def page(request: Request, session: Session, user: Any, athlete: Any, status: int = 200, error: str | None = None) -> Response:
        items = checkin.checkin_items(svc, athlete)
        raw = request.query_params.get("recorded", "")
        recorded = next((i for i in items if raw.isdigit() and i["id"] == int(raw)), None)
        return ctx.render(
            request, session, "checkin.html", status, user=user, items=items, severities=SEVERITIES, recorded=recorded, error=error
        )

    async def checkin_page(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        return await run_in_threadpool(page, request, session, user, athlete)

    async def checkin_answer(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        form = await request.form()
        symptom_id = form_id(form.get("symptom_id"))
        try:
            await run_in_threadpool(checkin.record_checkin, svc, athlete, symptom_id, str(form.get("severity") or ""))
        except ValidationError as exc:
            return await run_in_threadpool(page, request, session, user, athlete, 400, str(exc))
        return RedirectResponse(f"/checkin?recorded={symptom_id}", status_code=303)

    async def symptom_reading(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        symptom_id = path_id(request, "symptom_id", "symptom")
        form = await request.form()
        try:
            await run_in_threadpool(checkin.record_checkin, svc, athlete, symptom_id, str(form.get("severity") or ""))
        except ValidationError as exc:
            return Response(str(exc), status_code=400)
        return RedirectResponse("/symptoms", status_code=303)

    return [
        Route("/checkin", ctx.guarded(checkin_page), methods=["GET"]),
        Route("/checkin", ctx.guarded(checkin_answer), methods=["POST"]),
        Route("/symptoms/{symptom_id}/updates", ctx.guarded(symptom_reading), methods=["POST"]),
    ]
