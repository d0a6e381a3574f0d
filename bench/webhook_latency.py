"""Benchmark: Strava webhook alert latency, end to end: the event POST to the email received.

`loadmon daemon` runs as a subprocess with the default daemon settings and ``[web] enabled`` (the
web app is served beside the jobs, so a recorded event wakes the ``strava_events`` job at once);
the Strava-compatible test server and a real SMTP receiver (aiosmtpd) run in this process. Each
of ``--runs`` athletes (knee pain two days ago, one hilly run on Strava) gets one ``create`` event;
the time from the POST to its hilly-after-symptoms email is measured. Target (issue 15): under
5 s on this machine. Not asserted by the tests (tests never assert timings).

    .venv/bin/python bench/webhook_latency.py [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from loadmon.config import load_config  # noqa: E402
from loadmon.service import Service  # noqa: E402
from loadmon.service import symptoms as symptom_service  # noqa: E402
from tests.conftest import _to_toml  # noqa: E402
from tests.daemon.helpers import DaemonProcess, cli_env, run_cli, wait_until  # noqa: E402
from tests.receivers import SmtpReceiver, free_port  # noqa: E402
from tests.strava_server import StravaServer, hill_streams, summary_activity  # noqa: E402

CLIENT_ID, CLIENT_SECRET, VERIFY = 4242, "bench-client-secret", "bench-verify-token"
FIRST_STRAVA_ATHLETE = 500_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, StravaServer(client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as strava:
        tmp_path = Path(tmp)
        smtp = SmtpReceiver().start()
        port = free_port()
        sections = {
            "database": {"url": f"sqlite:///{tmp_path / 'loadmon.sqlite'}"},
            "strava": {"client_id": str(CLIENT_ID), "client_secret": CLIENT_SECRET, "api_url": strava.url, "webhook_verify_token": VERIFY},
            "web": {"enabled": True, "host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
            "alerts": {
                "email": {
                    "enabled": True,
                    "smtp_host": smtp.host,
                    "smtp_port": smtp.port,
                    "security": "none",
                    "from": "loadmon@example.org",
                    "to": ["runner@example.org"],
                }
            },
        }
        config = tmp_path / "config.toml"
        config.write_text(_to_toml(sections), encoding="utf-8")
        env = cli_env(tmp_path)
        owners = _athletes(config, env, strava, args.runs)
        daemon = DaemonProcess(config, env, tmp_path / "daemon.log")
        try:
            daemon.wait_for_event("daemon.web_started")
            res = run_cli(config, "strava", "webhook", "subscribe", env=env)
            assert res.returncode == 0, res.stdout + res.stderr
            time.sleep(3)  # the start-up syncs (nothing on Strava yet) are done
            latencies = []
            for i, owner in enumerate(owners):
                aid = 9_500_000_000 + i
                start = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
                act = summary_activity(
                    aid,
                    athlete_id=owner,
                    start=start,
                    distance_m=10_000.0,
                    moving_time_s=3_300,
                    total_elevation_gain=320.0,
                    name="Hill repeats",
                )
                strava.add_activity(act, streams=hill_streams(201, climb_m=320.0, step_m=50.0))
                before = len(smtp.messages)
                t0 = time.monotonic()
                status = strava.push_event(object_id=aid, owner_id=owner)
                assert status == 200, status
                wait_until(lambda b=before: len(smtp.messages) > b, timeout=60, interval=0.01, what=f"email {i + 1}")
                latencies.append(time.monotonic() - t0)
                time.sleep(0.3)
            code, _ = daemon.terminate(timeout=15)
        finally:
            daemon.stop()
            smtp.stop()
    print(f"webhook alert latency over {len(latencies)} events (POST -> email received), default daemon settings, [web] enabled:")
    print(f"  median {statistics.median(latencies):.3f} s, worst {max(latencies):.3f} s, best {min(latencies):.3f} s (target < 5 s)")
    print(f"  daemon exit {code}")


def _athletes(config: Path, env: dict[str, str], strava: StravaServer, n: int) -> list[int]:
    """``n`` athletes, each with knee pain two days ago and a Strava connection; their Strava ids."""
    svc = Service.open(load_config(config, env={}))
    owners = []
    try:
        for i in range(n):
            owner = FIRST_STRAVA_ATHLETE + i
            strava.add_athlete(owner)
            athlete = svc.add_athlete(f"runner{i}")
            symptom_service.add_symptom(svc, athlete, "knee", "right", "lateral", 4, at=datetime.now(UTC) - timedelta(days=2))
            strava.connect(svc.store, athlete.id, owner)
            owners.append(owner)
    finally:
        svc.close()
    return owners


if __name__ == "__main__":
    main()
