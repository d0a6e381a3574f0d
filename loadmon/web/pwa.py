"""The installable app: ``/manifest.webmanifest``, its icons (``/icons/icon-192.png``, ``-512``) and
the service worker ``/sw.js`` (served from the root so its scope is the whole app).

None of these needs a login (a browser fetches a manifest and its icons without credentials) and
none holds user data. The service worker keeps the app shell (style.css, app.js, the symptom form)
for offline use; ``static/app.js`` keeps a symptom logged offline in IndexedDB and sends it through
``POST /api/symptoms`` once the server answers again.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from loadmon.web.context import HERE, WebContext
from loadmon.web.icons import ICON_SIZES, THEME_COLOUR, icon_png

MANIFEST_PATH = "/manifest.webmanifest"
SW_PATH = "/sw.js"
ICON_PATHS = tuple(f"/icons/icon-{size}.png" for size in ICON_SIZES)
#: The routes of this module: all answer without a login (see ``OPEN_PATHS`` in :mod:`loadmon.web.app`).
PATHS = frozenset({MANIFEST_PATH, SW_PATH, *ICON_PATHS})

MANIFEST = {
    "name": "loadmon: training load",
    "short_name": "loadmon",
    "description": "Your running load in plain words, and a symptom log that works offline.",
    "start_url": "/",
    "scope": "/",
    "display": "standalone",
    "background_color": "#fafafa",
    "theme_color": THEME_COLOUR,
    "icons": [{"src": f"/icons/icon-{size}.png", "sizes": f"{size}x{size}", "type": "image/png"} for size in ICON_SIZES],
}


def routes(ctx: WebContext) -> list[BaseRoute]:
    async def manifest(request: Request) -> Response:
        return JSONResponse(MANIFEST, media_type="application/manifest+json", headers={"Cache-Control": "public, max-age=86400"})

    async def service_worker(request: Request) -> Response:
        # no-cache: a new loadmon's worker is picked up at the next visit
        return FileResponse(
            HERE / "static" / "sw.js", media_type="text/javascript", headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"}
        )

    def icon_route(size: int) -> Route:
        async def icon(request: Request) -> Response:
            data = await run_in_threadpool(icon_png, size)
            return Response(data, media_type="image/png", headers={"Cache-Control": "public, max-age=604800"})

        return Route(f"/icons/icon-{size}.png", icon)

    return [Route(MANIFEST_PATH, manifest), Route(SW_PATH, service_worker), *(icon_route(s) for s in ICON_SIZES)]
