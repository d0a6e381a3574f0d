"""A webhook set-up over real HTTP: the Strava-compatible test server (real clock), the web app on
uvicorn in a thread, a real SMTP receiver (aiosmtpd), one connected athlete with knee pain two
days ago, and the push subscription created through `subscribe` (Strava validates the callback)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from loadmon.domain import Athlete
from loadmon.service import Service
from loadmon.service import symptoms as symptom_service
from loadmon.service.strava import webhooks
from loadmon.web.server import BackgroundServer
from tests.conftest import make_config
from tests.receivers import SmtpReceiver, free_port
from tests.strava_server import StravaServer, hill_streams, summary_activity

CLIENT_ID = 4242
CLIENT_SECRET = "webhook-client-secret"
VERIFY_TOKEN = "verify-token-9f2c41"
STRAVA_ATHLETE = 134_815
TO_ADDR = "runner@example.org"
HILLY_SUBJECT = "after right knee pain"


@dataclass
class Rig:
    svc: Service
    athlete: Athlete
    strava: StravaServer
    smtp: SmtpReceiver
    web_url: str
    tmp_path: Path

    def hilly_run(self, aid: int, *, hours_ago: float = 2.0, climb_m: float = 320.0) -> dict[str, Any]:
        """A hilly 10 km run on the test server (not announced: push an event for that)."""
        start = (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(microsecond=0)
        act = summary_activity(
            aid,
            athlete_id=STRAVA_ATHLETE,
            start=start,
            distance_m=10_000.0,
            moving_time_s=3_300,
            total_elevation_gain=climb_m,
            name="Hill repeats",
        )
        self.strava.add_activity(act, streams=hill_streams(201, climb_m=climb_m, step_m=50.0))
        return act

    def push(self, object_id: int, aspect_type: str = "create", **kw: Any) -> int:
        kw.setdefault("owner_id", STRAVA_ATHLETE)
        return self.strava.push_event(object_id=object_id, aspect_type=aspect_type, **kw)

    def hilly_mails(self) -> list[Any]:
        return [m for m in list(self.smtp.messages) if HILLY_SUBJECT in str(m.message["Subject"]) or HILLY_SUBJECT in m.part("text/plain")]

    def activities(self, *, include_deleted: bool = False) -> list[Any]:
        return self.svc.store.list_activities(self.athlete.id, include_deleted=include_deleted)

    def api_requests(self) -> list[Any]:
        return self.strava.requests(r"^/api/v3/(athlete|activities)")


def connect(svc: Service, athlete: Athlete, strava: StravaServer) -> None:
    strava.connect(svc.store, athlete.id, STRAVA_ATHLETE)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    smtp = SmtpReceiver().start()
    with StravaServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as strava:
        strava.add_athlete(STRAVA_ATHLETE, "Ada", "Runner")
        port = free_port()
        cfg = make_config(
            tmp_path,
            strava={
                "client_id": str(CLIENT_ID),
                "client_secret": CLIENT_SECRET,
                "api_url": strava.url,
                "webhook_verify_token": VERIFY_TOKEN,
            },
            web={"public_url": f"http://127.0.0.1:{port}"},
            alerts={
                "email": {
                    "enabled": True,
                    "smtp_host": smtp.host,
                    "smtp_port": smtp.port,
                    "security": "none",
                    "from": "loadmon@example.org",
                    "to": [TO_ADDR],
                    "timeout_s": 5,
                }
            },
        )
        svc = Service.open(cfg)
        web = BackgroundServer(svc, host="127.0.0.1", port=port)
        try:
            athlete = svc.athlete()
            symptom_service.add_symptom(svc, athlete, "knee", "right", "lateral", 4, at=datetime.now(UTC) - timedelta(days=2))
            connect(svc, athlete, strava)
            web.start()
            webhooks.subscribe(svc)
            yield Rig(svc=svc, athlete=athlete, strava=strava, smtp=smtp, web_url=f"http://127.0.0.1:{port}", tmp_path=tmp_path)
        finally:
            web.stop()
            svc.close()
            smtp.stop()
