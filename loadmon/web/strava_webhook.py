"""The Strava webhook callback, ``/strava/webhook`` (open: Strava has no login; no CSRF, no cookie).

``GET``: Strava's validation (``hub.challenge`` echoed when ``hub.verify_token`` is
``[strava] webhook_verify_token``, else 403). ``POST``: one event, recorded durably and answered
200 at once (Strava wants an answer within 2 s); the ``strava_events`` job does the rest
(:mod:`loadmon.service.strava.webhooks`). An event that does not name our subscription and a
connected athlete is answered 200 too (a forger learns nothing) and dropped.
"""

from __future__ import annotations

import json
import threading

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.service.strava import webhooks
from loadmon.web.context import WebContext

PATH = webhooks.WEBHOOK_PATH
PATHS = frozenset({PATH})
MAX_BODY = 64 * 1024  # an event is a few hundred bytes


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc
    if svc.config.strava.webhook_verify_token.strip():  # stravalib loads in ~0.5 s: not during Strava's 2 s
        threading.Thread(target=webhooks.warm_up, name="strava-webhook-warm-up", daemon=True).start()

    async def validate(request: Request) -> Response:
        answer = await run_in_threadpool(webhooks.answer_challenge, svc, dict(request.query_params))
        if answer is None:
            return JSONResponse({"error": "verify token missing or wrong"}, status_code=403)
        return JSONResponse(answer)

    async def event(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "too large"}, status_code=413)
        try:
            raw = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "not JSON"}, status_code=400)
        received = await run_in_threadpool(webhooks.receive_event, svc, raw)
        if received.malformed:
            return JSONResponse({"error": "not a Strava event"}, status_code=400)
        return JSONResponse({"ok": True})

    return [Route(PATH, validate, methods=["GET"]), Route(PATH, event, methods=["POST"])]
