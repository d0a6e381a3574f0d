"""``/settings``: the athlete's settings (time zone, heart rate, sex), the alert channels with a
"Send test" button, and the Strava connection state (never a token or a secret)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.errors import ConfigError
from loadmon.service import settings as settings_service
from loadmon.web.context import WebContext
from loadmon.web.security import Session

SEXES = ("", "male", "female")


def _values(athlete: Any) -> dict[str, str]:
    return {
        "timezone": athlete.timezone,
        "hr_rest": "" if athlete.hr_rest is None else str(athlete.hr_rest),
        "hr_max": "" if athlete.hr_max is None else str(athlete.hr_max),
        "sex": athlete.sex or "",
    }


PageRenderer = Callable[..., Awaitable[Response]]


def page_renderer(ctx: WebContext) -> PageRenderer:
    """The Settings page as ``await page(request, session, user, athlete, *, status=200, ...)``
    (also for the Strava connect routes: ``strava_error`` is their message)."""
    svc = ctx.svc

    async def page(
        request: Request,
        session: Session,
        user: Any,
        athlete: Any,
        *,
        status: int = 200,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        results: list[dict[str, Any]] | None = None,
        test_error: str | None = None,
        strava_error: str | None = None,
    ) -> Response:
        channels = await run_in_threadpool(settings_service.alert_channels, svc)
        strava = await run_in_threadpool(settings_service.strava_state, svc, athlete)
        notice = request.query_params.get("strava")
        deleted = request.query_params.get("deleted", "")
        return ctx.render(
            request,
            session,
            "settings.html",
            status,
            user=user,
            athlete=athlete,
            values=values or _values(athlete),
            errors=errors or {},
            sexes=SEXES,
            channels=channels,
            results=results,
            test_error=test_error,
            strava=strava,
            strava_error=strava_error,
            strava_notice=notice if notice in ("connected", "disconnected") else None,
            strava_deleted=int(deleted) if deleted.isdigit() else 0,
            saved=request.query_params.get("saved") == "1",
        )

    return page


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc
    page = page_renderer(ctx)

    async def settings_get(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        return await page(request, session, user, athlete)

    async def settings_post(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items() if k in settings_service.FIELDS}
        _, errors = await run_in_threadpool(settings_service.save_athlete_settings, svc, athlete, form)
        if errors:
            return await page(request, session, user, athlete, status=400, values=form, errors=errors)
        return RedirectResponse("/settings?saved=1", status_code=303)

    async def send_test(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        try:
            results = await run_in_threadpool(settings_service.send_test, svc)
        except ConfigError as exc:
            return await page(request, session, user, athlete, status=500, test_error=str(exc))
        return await page(request, session, user, athlete, results=results)

    return [
        Route("/settings", ctx.guarded(settings_get), methods=["GET"]),
        Route("/settings", ctx.guarded(settings_post), methods=["POST"]),
        Route("/settings/test-alert", ctx.guarded(send_test), methods=["POST"]),
    ]
