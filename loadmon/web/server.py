"""Run the web app on uvicorn: ``loadmon web`` (:func:`serve`), or beside the daemon's jobs in
the daemon process (:class:`BackgroundServer`, ``[web] enabled = true``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from loadmon.errors import LoadmonError
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


#: Seconds the daemon's web server waits for open requests when it stops (the daemon exits within 10 s).
GRACEFUL_STOP_S = 3


def server(svc: Service, *, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for the app; X-Forwarded-For/-Proto are believed only from ``[web] trusted_proxies``."""
    proxies = list(svc.config.web.trusted_proxies)
    config = uvicorn.Config(with_peer(create_app(svc), proxies), host=host, port=port, interface="asgi3",
                            proxy_headers=False, access_log=False, log_level="warning", server_header=False,
                            timeout_graceful_shutdown=GRACEFUL_STOP_S)
    return uvicorn.Server(config)


def serve(svc: Service, *, host: str, port: int) -> None:
    print(f"loadmon web: serving on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    server(svc, host=host, port=port).run()


class BackgroundServer:
    """The web app on uvicorn in a thread of this process (the daemon's signal handlers stay its own:
    uvicorn installs none outside the main thread). :meth:`start` returns once it listens;
    :meth:`stop` ends it (open requests get :data:`GRACEFUL_STOP_S`)."""

    def __init__(self, svc: Service, *, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._server = server(svc, host=host, port=port)
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)

    def start(self, timeout_s: float = 30.0) -> None:
        """Listen on host:port; :class:`LoadmonError` when it cannot (the port is taken, a bad address)."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise LoadmonError(f"the web app could not listen on {self.host}:{self.port} ([web] host, port): "
                                   "is the port taken by another program?")
            time.sleep(0.01)

    def stop(self, timeout_s: float = GRACEFUL_STOP_S + 2.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout_s)
