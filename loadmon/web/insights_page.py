"""``GET /insights``: the personal back-test (exploratory; :mod:`loadmon.service.insights`, docs/insights.md).

Only the logged-in user's own athlete: the page takes no athlete from the request."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loadmon.service import insights
from loadmon.web.context import WebContext
from loadmon.web.security import Session


def value_text(value: float | int | None, reason: str | None, unit: str) -> str:
    """A measure for people: ``78.0 km``, ``+60%``, ``1.03``, or the reason it is missing."""
    if value is None:
        return reason or "-"
    if unit == "%":
        return f"{value:+.0f}%"
    if unit == "x":
        return f"{value:.2f}"
    if unit == "km":
        return f"{value:.1f} km"
    if unit == "m":
        return f"{value:.0f} m"
    return f"{value:g}"


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def insights_page(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        def gather() -> dict[str, Any]:
            return insights.insights_json(insights.insights(svc, athlete))

        data = await run_in_threadpool(gather)
        return ctx.render(request, session, "insights.html", user=user, data=data, value_text=value_text)

    return [Route("/insights", ctx.guarded(insights_page))]
