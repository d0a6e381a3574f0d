"""`loadmon web` (the web app) and `loadmon user add | list | passwd | remove` (its logins).

The web stack (Starlette, uvicorn, Jinja2) is imported only inside ``loadmon web``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from loadmon.cli.app import EXIT_BAD_INPUT, app, fail, get_config, get_service, handled, lazy, print_json
from loadmon.cli.render import Col, print_table, say

user_service = lazy("loadmon.service.users")
token_service = lazy("loadmon.service.api_tokens")

user_app = typer.Typer(help="Web app logins: each is one athlete's, with a role (athlete, coach, admin).",
                       no_args_is_help=True)
app.add_typer(user_app, name="user")


@app.command("web")
def web_cmd(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default [web] host, 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on (default [web] port, 8080).")] = None,
) -> None:
    """Serve the web app (Today, symptom log, JSON API) on uvicorn; see docs/web.md for HTTPS behind a proxy."""
    cfg = get_config().web
    port = cfg.port if port is None else port
    if not 0 < port < 65536:
        fail(f"--port: {port} is not a port (allowed: 1 to 65535)", EXIT_BAD_INPUT)
    with handled():
        from loadmon.web.server import serve

        serve(get_service(), host=host or cfg.host, port=port)


def _read_password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=True)


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="The login name.")],
    athlete: Annotated[str, typer.Option("--athlete", help="The athlete this login belongs to (`loadmon athlete list`).")],
    role: Annotated[str, typer.Option("--role", help="athlete | coach | admin.")] = "athlete",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (else prompt).")] = False,
) -> None:
    """Add a web login for an athlete (the password is stored as an Argon2id hash)."""
    with handled():
        svc = get_service()
        password = _read_password(password_stdin, "Password")
        user = user_service.add_user(svc, name, athlete_name=athlete, role=role, password=password)
        say(f"user {user.name} added ({user.role} of athlete {user.athlete_name})")


@user_app.command("list")
def user_list(json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False) -> None:
    """List the web logins (never their passwords)."""
    with handled():
        users = [{"name": u.name, "athlete": u.athlete_name, "role": u.role, "created_at": u.created_at.isoformat()}
                 for u in user_service.list_users(get_service())]
        if json_out:
            print_json(users)
            return
        print_table([Col("name"), Col("athlete"), Col("role"), Col("created", "date")],
                    [(u["name"], u["athlete"], u["role"], u["created_at"][:16].replace("T", " ")) for u in users],
                    title=f"{len(users)} user(s)")


@user_app.command("passwd")
def user_passwd(
    name: Annotated[str, typer.Argument(help="The login name.")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin (else prompt).")] = False,
) -> None:
    """Set a new password for a login."""
    with handled():
        svc = get_service()
        user_service.set_password(svc, name, _read_password(password_stdin, "New password"))
        say(f"password of {name} changed")


@user_app.command("remove")
def user_remove(name: Annotated[str, typer.Argument(help="The login name.")]) -> None:
    """Remove a login (the athlete and their data stay); its sessions end."""
    with handled():
        user_service.remove_user(get_service(), name)
        say(f"user {name} removed")


@user_app.command("token")
def user_token(
    name: Annotated[str, typer.Argument(help="The login name.")],
    label: Annotated[str | None, typer.Option("--label", help="What the token is for (shown by `loadmon user tokens`).")] = None,
) -> None:
    """Make a personal API token for /api/* (Authorization: Bearer TOKEN); printed once, stored only hashed."""
    with handled():
        new = token_service.create_token(get_service(), name, label=label)
        say(new.secret)
        say(f"token {new.token.id} ({new.token.name}) of {name}: copy it now, it is not shown again", err=True)


@user_app.command("tokens")
def user_tokens(
    name: Annotated[str, typer.Argument(help="The login name.")],
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List a login's API tokens (never the tokens themselves)."""

    def when(value) -> str | None:
        return None if value is None else value.isoformat()

    with handled():
        items = [{"id": t.id, "label": t.name, "created_at": when(t.created_at), "last_used_at": when(t.last_used_at),
                  "revoked_at": when(t.revoked_at)} for t in token_service.list_tokens(get_service(), name)]
        if json_out:
            print_json(items)
            return
        print_table([Col("id", "number"), Col("label"), Col("created", "date"), Col("last used", "date"), Col("revoked", "date")],
                    [(str(t["id"]), t["label"], *((t[k] or "-")[:16].replace("T", " ")
                                                  for k in ("created_at", "last_used_at", "revoked_at"))) for t in items],
                    title=f"{len(items)} token(s) of {name}")


@user_app.command("revoke-token")
def user_revoke_token(
    name: Annotated[str, typer.Argument(help="The login name.")],
    token_id: Annotated[int, typer.Argument(help="The token id (`loadmon user tokens NAME`).")],
) -> None:
    """Revoke an API token: requests with it are refused (401) from now on."""
    with handled():
        token = token_service.revoke_token(get_service(), name, token_id)
        say(f"token {token.id} ({token.name}) of {name} revoked")
