"""``/activities`` (the list, newest first, paged), ``/activities/{id}`` (one run: its numbers, spike
band, alerts and elevation profile), ``/api/activities`` (``loadmon activities --json``)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.errors import NotFoundError
from loadmon.service import activity_views
from loadmon.web.context import WebContext, path_id
from loadmon.web.profile_svg import profile_svg
from loadmon.web.security import Session


def duration(seconds: float | None) -> str:
    """``h:mm:ss`` (as ``loadmon activities`` shows it); ``-`` when unknown."""
    if seconds is None:
        return "-"
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _num(value: float | None, div: float = 1.0, nd: int = 0, unit: str = "") -> str:
    return "-" if value is None else f"{value / div:.{nd}f}{(' ' + unit) if unit else ''}"


def row_view(a: dict[str, Any]) -> dict[str, Any]:
    """One list row: the activity's JSON in words."""
    marks = []
    if a["excluded"]:
        marks.append("excluded")
    if a["duplicate_of"] is not None:
        marks.append(f"duplicate of {a['duplicate_of']}")
    if a["truncated"]:
        marks.append("truncated")
    return {
        "id": a["id"],
        "date": a["local_date"],
        "sport": a["sport"],
        "name": a["name"],
        "km": _num(a["distance_m"], 1000, 2, "km"),
        "moving": duration(a["moving_time_s"]),
        "descent": _num(a["elevation_loss_m"], unit="m"),
        "steep": _num(a["steep_descent_m"], unit="m"),
        "source": a["source"],
        "marks": marks,
    }


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    try:
        return int(raw)
    except ValueError:
        raise NotFoundError(f"no page {raw!r} of activities") from None


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def activity_list(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        page = await run_in_threadpool(activity_views.activity_page, svc, athlete, _page_number(request))
        return ctx.render(request, session, "activities.html", user=user, page=page, rows=[row_view(a) for a in page.rows])

    async def activity_page(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        activity_id = path_id(request, "activity_id", "activity")
        detail = await run_in_threadpool(activity_views.activity_detail, svc, athlete, activity_id)
        a = detail.activity
        title = f"{a['sport'].capitalize()} on {a['local_date']}"
        svg = profile_svg(detail.profile, title=title) if detail.profile else None
        return ctx.render(
            request,
            session,
            "activity.html",
            user=user,
            a=a,
            row=row_view(a),
            detail=detail,
            title=title,
            svg=svg,
            elapsed=duration(a["elapsed_time_s"]),
        )

    async def api_activities(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        """`loadmon --athlete NAME activities --json` (every activity, oldest first)."""
        return JSONResponse(await run_in_threadpool(activity_views.list_activities_json, svc, athlete))

    return [
        Route("/activities", ctx.guarded(activity_list)),
        Route("/activities/{activity_id}", ctx.guarded(activity_page)),
        Route("/api/activities", ctx.guarded(api_activities, api=True)),
    ]
