"""``/alerts``: each alert's message, numbers, rule and evidence, and its delivery per channel;
``/alerts/{id}``: one alert, with its Acknowledge button (``POST /alerts/{id}/acknowledge``)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.service import alerting
from loadmon.web.context import WebContext, path_id
from loadmon.web.security import Session


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def alert_list(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        items = await run_in_threadpool(alerting.list_alerts, svc, athlete, limit=200)
        return ctx.render(request, session, "alerts.html", user=user, alerts=list(reversed(items)))

    async def alert_page(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        alert_id = path_id(request, "alert_id", "alert")
        item = await run_in_threadpool(alerting.get_alert, svc, athlete, alert_id)
        return ctx.render(request, session, "alert.html", user=user, a=item)

    async def alert_acknowledge(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        alert_id = path_id(request, "alert_id", "alert")
        await run_in_threadpool(alerting.acknowledge_alert, svc, athlete, alert_id)
        return RedirectResponse(f"/alerts/{alert_id}", status_code=303)

    return [
        Route("/alerts", ctx.guarded(alert_list)),
        Route("/alerts/{alert_id}", ctx.guarded(alert_page), methods=["GET"]),
        Route("/alerts/{alert_id}/acknowledge", ctx.guarded(alert_acknowledge), methods=["POST"]),
    ]
