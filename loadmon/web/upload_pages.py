"""``/upload``: FIT files or zip archives from the browser, imported through the same service path as
``loadmon import`` (:func:`loadmon.service.uploads.import_uploads`), with the per-file results.

The request body is limited to ``[web] max_upload_mb`` while it streams in: a declared
``Content-Length`` over the limit is refused before anything is read, and a body that grows past
it is cut off as it arrives; both are a 413 and nothing is imported (the import starts only once
the whole body is in)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Message

from loadmon.service import alerting
from loadmon.service.uploads import UploadedFile, UploadOutcome, import_uploads
from loadmon.web.context import WebContext
from loadmon.web.security import Session

_WORDS = {
    "imported": "imported",
    "duplicate": "duplicate (already imported)",
    "skipped": "skipped",
    "failed": "error",
    "not_activity": "not an activity (monitoring, sleep, settings ...)",
}


class _TooLarge(Exception):
    """The request body passed the upload limit."""


def result_rows(outcome: UploadOutcome) -> list[dict[str, Any]]:
    """Each file's result in words (imported, duplicate, skipped, error with its reason)."""
    rows = []
    for f in outcome.summary.files:
        words = _WORDS.get(f.outcome, f.outcome)
        if f.outcome == "imported":
            words += f": {f.activities} new {'activity' if f.activities == 1 else 'activities'}"
            if f.replaced:
                words += f", {f.replaced} replaced"
        if f.reason:
            words += f": {f.reason}"
        rows.append({"name": f.name, "outcome": f.outcome, "words": words, "activity_ids": f.activity_ids, "notices": f.notices})
    return rows


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc
    limit = svc.config.web.max_upload_mb * 1024 * 1024

    def too_large() -> Response:
        mb = svc.config.web.max_upload_mb
        return Response(
            f"Upload too large: at most {mb} MB in one upload ([web] max_upload_mb). Nothing was imported; upload fewer files at a time.",
            status_code=413,
            media_type="text/plain; charset=utf-8",
        )

    async def upload_form(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        return ctx.render(request, session, "upload.html", user=user, max_mb=svc.config.web.max_upload_mb)

    async def upload(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        form = await request.form()
        try:
            files = [
                UploadedFile(name=item.filename or "", data=item.file)
                for item in form.getlist("files")
                if isinstance(item, UploadFile) and item.filename
            ]
            if not files:
                return ctx.render(
                    request,
                    session,
                    "upload.html",
                    400,
                    user=user,
                    max_mb=svc.config.web.max_upload_mb,
                    error="Choose one or more FIT files or zip archives to upload.",
                )
            outcome = await run_in_threadpool(import_uploads, svc, athlete, files)
        finally:
            await form.close()
        s = outcome.summary
        summary = (
            f"{s.count('imported')} imported ({s.new_activities} new activities), {s.count('duplicate')} "
            f"duplicate, {s.count('skipped')} skipped, {s.count('failed')} with an error."
        )
        alerts_line = alerting.summary_line(outcome.alerts) if outcome.alerts is not None and outcome.alerts.changed else None
        return ctx.render(
            request,
            session,
            "upload.html",
            200,
            user=user,
            max_mb=svc.config.web.max_upload_mb,
            results=result_rows(outcome),
            summary=summary,
            alerts_line=alerts_line,
        )

    guarded_upload = ctx.guarded(upload)

    async def limited_upload(request: Request) -> Response:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return too_large()
        received = 0
        receive = request.receive

        async def counting() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge
            return message

        try:
            return await guarded_upload(Request(request.scope, receive=counting))
        except _TooLarge:
            return too_large()

    return [
        Route("/upload", ctx.guarded(upload_form), methods=["GET"]),
        Route("/upload", limited_upload, methods=["POST"]),
    ]
