"""``GET /charts`` (the page: a shell that ``static/charts.js`` fills with uPlot charts) and
``GET /api/charts`` (its data: :func:`loadmon.service.charts.chart_data`)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.service import charts
from loadmon.web.context import WebContext
from loadmon.web.security import Session


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def charts_page(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        return ctx.render(request, session, "charts.html", user=user, athlete=athlete.name)

    async def api_charts(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        data = await run_in_threadpool(charts.chart_data, svc, athlete)
        return JSONResponse(data)

    return [
        Route("/charts", ctx.guarded(charts_page)),
        Route("/api/charts", ctx.guarded(api_charts, api=True)),
    ]
