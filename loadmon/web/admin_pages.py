"""``/admin/users`` (admins only; anyone else gets 404): list, add and remove web logins.

The CLI (`loadmon user ...`) stays the main tool; this page covers the everyday changes. An admin
cannot remove their own login here (it would lock them out mid-session): `loadmon user remove`.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.errors import NotFoundError, ValidationError
from loadmon.service import Service
from loadmon.service import users as user_service
from loadmon.web.context import WebContext, path_id
from loadmon.web.security import Session

ADMIN_ROLES = ("admin",)


def _remove(svc: Service, admin: Any, user_id: int) -> str:
    target = user_service.get_user(svc, user_id)
    if target.id == admin.id:
        raise ValidationError("you cannot remove your own login here (use `loadmon user remove NAME`)")
    user_service.remove_user(svc, target.name)
    return target.name


def routes(ctx: WebContext) -> list[BaseRoute]:
    svc = ctx.svc

    async def page(
        request: Request,
        session: Session,
        user: Any,
        *,
        status: int = 200,
        values: dict[str, str] | None = None,
        error: str | None = None,
        done: str | None = None,
    ) -> Response:
        users = await run_in_threadpool(user_service.list_users, svc)
        athletes = await run_in_threadpool(user_service.athlete_names, svc)
        return ctx.render(
            request,
            session,
            "admin_users.html",
            status,
            user=user,
            users=users,
            athletes=athletes,
            roles=user_service.ROLES,
            values=values or {"role": "athlete"},
            error=error,
            done=done,
        )

    async def user_list(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        done = request.query_params.get("done")
        return await page(request, session, user, done=done if done in ("added", "removed") else None)

    async def user_add(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items() if k in ("name", "athlete", "role", "password")}
        try:
            await run_in_threadpool(
                lambda: user_service.add_user(
                    svc,
                    form.get("name", ""),
                    athlete_name=form.get("athlete", ""),
                    role=form.get("role", ""),
                    password=form.get("password", ""),
                )
            )
        except (ValidationError, NotFoundError) as exc:
            form.pop("password", None)
            return await page(request, session, user, status=400, values=form, error=str(exc))
        return RedirectResponse("/admin/users?done=added", status_code=303)

    async def user_remove(request: Request, session: Session, user: Any, athlete: Any) -> Response:
        user_id = path_id(request, "user_id", "user")
        try:
            await run_in_threadpool(_remove, svc, user, user_id)
        except ValidationError as exc:
            return await page(request, session, user, status=400, error=str(exc))
        return RedirectResponse("/admin/users?done=removed", status_code=303)

    return [
        Route("/admin/users", ctx.guarded(user_list, roles=ADMIN_ROLES), methods=["GET"]),
        Route("/admin/users", ctx.guarded(user_add, roles=ADMIN_ROLES), methods=["POST"]),
        Route("/admin/users/{user_id}/remove", ctx.guarded(user_remove, roles=ADMIN_ROLES), methods=["POST"]),
    ]
