"""Run the web app on uvicorn (``loadmon web``)."""

from __future__ import annotations

from typing import Any

import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from loadmon.service import Service
from loadmon.web.app import create_app
from loadmon.web.context import PEER_KEY


def with_peer(app: Any, proxies: list[str]) -> Any:
    """``app`` behind uvicorn's X-Forwarded-For handling (only from ``proxies``), with the address
    the connection really came from kept in the scope (``loadmon.peer``): the ``[web] auth_header``
    login is believed only from a trusted proxy, whatever X-Forwarded-For says."""
    inner = ProxyHeadersMiddleware(app, trusted_hosts=proxies) if proxies else app

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        client = scope.get("client")
        if scope.get("type") in ("http", "websocket") and client:
            scope[PEER_KEY] = client[0]
        await inner(scope, receive, send)

    return asgi


def server(svc: Service, *, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for the app; X-Forwarded-For/-Proto are believed only from ``[web] trusted_proxies``."""
    proxies = list(svc.config.web.trusted_proxies)
    config = uvicorn.Config(with_peer(create_app(svc), proxies), host=host, port=port, interface="asgi3",
                            proxy_headers=False, access_log=False, log_level="warning", server_header=False)
    return uvicorn.Server(config)


def serve(svc: Service, *, host: str, port: int) -> None:
    print(f"loadmon web: serving on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    server(svc, host=host, port=port).run()
