"""A local intervals.icu-compatible server, built from the public API documentation (https://intervals.icu/api/v1/docs):

* ``GET /api/v1/athlete/{id}/activities?oldest=YYYY-MM-DD&newest=YYYY-MM-DD`` - the activities whose local start
  day is in the range (JSON list: ``id`` "i123", ``start_date`` UTC, ``start_date_local``, ``type``, ``name``,
  ``distance``, ``source``);
* ``GET /api/v1/activity/{id}/file`` - the original file as uploaded (gzipped when it was), 404 when there is none;
* ``GET /api/v1/activity/{id}/fit-file`` - a FIT file made by intervals.icu;
* HTTP basic auth with the user ``API_KEY`` and the athlete's key (401 otherwise).

``faults[path] = [status, ...]`` answers the next requests of a path with those statuses (429 with
``Retry-After: 1``); ``requests`` records (method, path) of every request.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class ServedActivity:
    activity_id: str
    start: datetime  # UTC
    utc_offset_s: int = 0
    type: str = "Run"
    name: str = "Run"
    distance_m: float = 10_000.0
    source: str = "GARMIN_CONNECT"
    original: bytes | None = None  # as uploaded (may be gzipped)
    fit: bytes | None = None  # intervals.icu's own FIT

    def summary(self) -> dict[str, Any]:
        local = self.start + timedelta(seconds=self.utc_offset_s)
        return {
            "id": self.activity_id,
            "start_date": self.start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "start_date_local": local.strftime("%Y-%m-%dT%H:%M:%S"),
            "type": self.type,
            "name": self.name,
            "distance": self.distance_m,
            "source": self.source,
        }


@dataclass
class IntervalsServer:
    athlete_id: str = "i4242"
    api_key: str = "test-intervals-key-0123456789"
    activities: dict[str, ServedActivity] = field(default_factory=dict)
    faults: dict[str, list[int]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def start(self) -> IntervalsServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, body, headers = server.answer(self.path, self.headers.get("Authorization", ""))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def downloads(self) -> list[str]:
        return [p for _, p in self.requests if "/activity/" in p]

    def answer(self, raw_path: str, auth: str) -> tuple[int, bytes, dict[str, str]]:
        parts = urlsplit(raw_path)
        path = parts.path
        self.requests.append(("GET", path))
        expected = "Basic " + base64.b64encode(f"API_KEY:{self.api_key}".encode()).decode()
        if auth != expected:
            return 401, b'{"status":401,"error":"Unauthorized"}', {"Content-Type": "application/json"}
        queued = self.faults.get(path)
        if queued:
            status = queued.pop(0)
            return status, b'{"error":"fault"}', {"Retry-After": "1"} if status == 429 else {}
        if path == f"/api/v1/athlete/{self.athlete_id}/activities":
            q = parse_qs(parts.query)
            oldest = date.fromisoformat(q["oldest"][0])
            newest = date.fromisoformat(q.get("newest", ["9999-12-31"])[0])
            items = [
                a.summary()
                for a in sorted(self.activities.values(), key=lambda a: a.start, reverse=True)
                if oldest <= (a.start + timedelta(seconds=a.utc_offset_s)).date() <= newest
            ]
            return 200, json.dumps(items).encode(), {"Content-Type": "application/json"}
        for suffix in ("/file", "/fit-file"):
            prefix = "/api/v1/activity/"
            if path.startswith(prefix) and path.endswith(suffix):
                act = self.activities.get(path[len(prefix) : -len(suffix)])
                data = None if act is None else (act.original if suffix == "/file" else act.fit)
                if data is None:
                    return 404, b'{"status":404}', {"Content-Type": "application/json"}
                return 200, data, {"Content-Type": "application/octet-stream"}
        return 404, b'{"status":404}', {"Content-Type": "application/json"}
