"""``/alerts``: each alert's message, numbers, rule and evidence, and its delivery per channel."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loadmon.service import alerting
from loadmon.web.context import WebContext
from loadmon.web.security import Session


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def alert_list(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        items = await run_in_threadpool(alerting.list_alerts, svc, athlete, limit=200)
        return ctx.render(request, session, "alerts.html", user=user, alerts=list(reversed(items)))

    return [Route("/alerts", ctx.guarded(alert_list))]
