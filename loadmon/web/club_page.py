"""``/club`` (coaches and admins; anyone else gets 404): `loadmon club status` as a page.

Strava's API Agreement lets a user's Strava data be shown only to that user: the rows of the
other athletes are computed without their Strava-sourced activities, and their alerts are left
out when they have any (:func:`loadmon.service.club.club_view`); the page says so per athlete.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from loadmon.service import club as club_service
from loadmon.web.context import WebContext
from loadmon.web.security import Session

#: the roles that see the club page
CLUB_ROLES = ("coach", "admin")


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def club(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        sort = "name" if request.query_params.get("sort") == "name" else "risk"
        rows = await run_in_threadpool(club_service.club_view, svc, athlete.id, sort=sort)
        return ctx.render(request, session, "club.html", user=user, rows=rows, sort=sort, own_id=athlete.id)

    return [Route("/club", ctx.guarded(club, roles=CLUB_ROLES))]
