"""Connect Strava from Settings: ``POST /strava/connect`` (a new OAuth state in the signed session,
then Strava's authorisation page), ``GET /strava/callback`` (Strava's redirect: the state checked,
the code exchanged, the tokens stored for the logged-in user's athlete) and ``POST
/strava/disconnect`` (deauthorized at Strava, the tokens forgotten, the Strava-sourced activities
deleted). The state, the code and the tokens never appear in a page or an error."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.errors import ConfigError, LoadmonError, StravaAuthError, ValidationError
from loadmon.service.strava import web_connect
from loadmon.web import settings_page
from loadmon.web.context import WebContext
from loadmon.web.security import Session, with_strava_state


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc
    settings = settings_page.page_renderer(ctx)

    async def connect(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        try:
            start = await run_in_threadpool(web_connect.start_web_connect, svc, athlete)
        except ConfigError as exc:
            return await settings(request, session, user, athlete, status=400, strava_error=str(exc))
        response = RedirectResponse(start.url, status_code=303)
        ctx.sessions.write(request, response, with_strava_state(session, start.state))
        return response

    async def callback(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        params = {k: v for k, v in request.query_params.items()}
        expected = session.strava_state
        session = with_strava_state(session, None)  # one use, whatever happens
        try:
            await run_in_threadpool(web_connect.finish_web_connect, svc, athlete, expected_state=expected, params=params)
        except (ValidationError, StravaAuthError) as exc:  # state, refusal, scope: nothing stored
            return await settings(request, session, user, athlete, status=400, strava_error=str(exc))
        except LoadmonError as exc:  # Strava unreachable, the application's credentials refused...
            return await settings(request, session, user, athlete, status=502, strava_error=str(exc))
        response = RedirectResponse("/settings?strava=connected", status_code=303)
        ctx.sessions.write(request, response, session)
        return response

    async def disconnect(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        result = await run_in_threadpool(web_connect.disconnect_and_forget, svc, athlete)
        if result.disconnect.remote_error:
            n = result.deleted_activities
            note = f"{result.disconnect.remote_error}; {n} Strava activit{'y' if n == 1 else 'ies'} deleted here"
            return await settings(request, session, user, athlete, strava_error=note)
        return RedirectResponse(f"/settings?strava=disconnected&deleted={result.deleted_activities}", status_code=303)

    return [
        Route("/strava/connect", ctx.guarded(connect), methods=["POST"]),
        Route(web_connect.CALLBACK_PATH, ctx.guarded(callback), methods=["GET"]),
        Route("/strava/disconnect", ctx.guarded(disconnect), methods=["POST"]),
    ]
