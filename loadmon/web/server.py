"""Run the web app on uvicorn (``loadmon web``)."""

from __future__ import annotations

import uvicorn

from loadmon.service import Service
from loadmon.web.app import create_app


def server(svc: Service, *, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for the app; X-Forwarded-For/-Proto are believed only from ``[web] trusted_proxies``."""
    proxies = list(svc.config.web.trusted_proxies)
    config = uvicorn.Config(create_app(svc), host=host, port=port, proxy_headers=bool(proxies),
                            forwarded_allow_ips=proxies or None, access_log=False, log_level="warning",
                            server_header=False)
    return uvicorn.Server(config)


def serve(svc: Service, *, host: str, port: int) -> None:
    print(f"loadmon web: serving on http://{host}:{port}/ (Ctrl-C stops)", flush=True)
    server(svc, host=host, port=port).run()
