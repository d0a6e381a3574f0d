"""``GET /``: the Today page (the view itself is :func:`loadmon.web.today.today_view`)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loadmon.service import alerting, load, plan
from loadmon.web.context import WebContext
from loadmon.web.security import Session
from loadmon.web.today import TODAY_CHANNELS, today_view


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def today(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        def gather() -> tuple[dict, list, dict | None]:
            data = load.status_json(load.status(svc, athlete, channels=TODAY_CHANNELS))
            since = date.fromisoformat(data["date"]) - timedelta(days=14)
            alerts = [a for a in alerting.list_alerts(svc, athlete, since=since) if a.get("state", "active") == "active"
                      and not a.get("acknowledged_at") and a["rule"] not in alerting.NOTICE_RULES]  # a notice is no warning
            # in a comeback, today's limits are the comeback's (one more engine pass, only then)
            comeback = plan.limits_json(plan.day_limits(svc, athlete)) if plan.in_comeback(svc, athlete) else None
            return data, alerts, comeback
        data, alerts, comeback = await run_in_threadpool(gather)
        return ctx.render(request, session, "today.html", user=user, view=today_view(data, alerts), comeback=comeback)

    return [Route("/", ctx.guarded(today))]
