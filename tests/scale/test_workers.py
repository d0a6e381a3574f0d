"""Several `loadmon worker` processes on one PostgreSQL database and one Redis broker.

Real parts only: PostgreSQL, Redis, `python -m loadmon worker` subprocesses (Celery prefork
pools), the fake Strava as a subprocess (it counts every request per rate-limit window), and a
real SMTP receiver. The club: each athlete ran 8 km weekly for 8 weeks and 14 km ten hours
ago, so each one has exactly one obvious run spike inside the notify window.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import REPO_ROOT
from tests.scale.helpers import Club, StravaProcess, WorkerProcess, cli_env, club_state, wait_until, write_config

pytestmark = [pytest.mark.postgres, pytest.mark.scale, pytest.mark.slow]


class Setup:
    def __init__(self, tmp_path: Path, pg_url: str, redis_url: str, queue: str, club_size: int, *,
                 smtp_port: int | None, read_limit_15min: int = 5000) -> None:
        from loadmon.storage import Store

        self.tmp_path = tmp_path
        self.state, self.club = club_state(club_size, read_limit_15min=read_limit_15min)
        self.strava = StravaProcess(self.state, tmp_path)
        self.store = Store.open(pg_url)
        self.ids: dict[str, int] = {}
        for name, sid in self.club.strava_ids.items():
            a = self.store.ensure_athlete(name, timezone_name="Europe/Paris")
            self.ids[name] = a.id
            t = self.club.tokens[name]
            self.store.save_strava_tokens(a.id, strava_athlete_id=sid, access_token=t["access_token"],
                                          refresh_token=t["refresh_token"],
                                          expires_at=datetime.fromtimestamp(t["expires_at"], UTC),
                                          scope="read,activity:read_all")
        self.names = {v: k for k, v in self.ids.items()}
        self.env = cli_env(tmp_path)
        self.configs = [write_config(tmp_path, name=f"worker-{c}", database_url=_with_app_name(pg_url, f"lm-worker-{c}"),
                                     broker_url=redis_url, queue=queue, strava_url=self.strava.url, smtp_port=smtp_port,
                                     read_limit_15min=read_limit_15min)
                        for c in "abc"]
        self.workers: list[WorkerProcess] = []

    def start_worker(self, i: int) -> WorkerProcess:
        w = WorkerProcess(self.configs[i], self.env, self.tmp_path / f"worker-{i}-{len(self.workers)}.log")
        self.workers.append(w)
        return w

    def enqueue_round(self, *, cli: bool = False) -> None:
        """What `loadmon scheduler --once` does (through the CLI when ``cli``, else in this process)."""
        if not cli:
            from loadmon.config import load_config
            from loadmon.worker import enqueue_once

            enqueue_once(load_config(self.configs[0], env={}))
            return
        out = subprocess.run([sys.executable, "-m", "loadmon", "--config", str(self.configs[0]), "scheduler", "--once"],
                             env=self.env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(text(sql), params))

    def stored(self) -> list[tuple[str, int]]:
        return [(self.names[a], sid) for a, sid in self.rows("SELECT athlete_id, source_id FROM activities")]

    def close(self) -> None:
        for w in self.workers:
            w.stop()
        self.strava.stop()
        self.store.close()


def _with_app_name(url: str, name: str) -> str:
    """The database URL with ``application_name`` (pg_stat_activity tells which worker holds a lock)."""
    return url + ("&" if "?" in url else "?") + f"application_name={name}"


@pytest.fixture
def setup_factory(tmp_path, fresh_pg_url, redis_url, queue_name):
    made: list[Setup] = []

    def make(club_size: int, **kw: Any) -> Setup:
        s = Setup(tmp_path, fresh_pg_url, redis_url, queue_name, club_size, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def _streams_requests(requests_log: list[dict[str, Any]], *, status: int | None = 200) -> Counter:
    return Counter(int(r["path"].split("/")[4]) for r in requests_log
                   if r["path"].endswith("/streams") and (status is None or r["status"] == status))


def _check_alerts_sent_once(s: Setup, smtp, club: Club, *, killed_in_flight: int = 0) -> None:
    """Every notified alert sent, one email per athlete and evaluation. ``killed_in_flight``: the pool size of a worker
    killed during the test - a delivery it had claimed is sent again once its lease lapses, and
    one it had handed to the SMTP server but not yet recorded arrives twice, with the same
    Message-ID (the documented at-least-once window, docs/alerts-delivery.md)."""
    # an email arrives a moment before its outbox row is marked sent
    wait_until(lambda: s.rows("SELECT count(*) FROM deliveries WHERE state = 'pending'")[0][0] == 0,
               timeout=20 + (80 if killed_in_flight else 0), what="no delivery left pending")
    alerts = s.rows("SELECT a.athlete_id, a.rule, a.activity_id, x.source_id FROM alerts a "
                    "LEFT JOIN activities x ON x.id = a.activity_id WHERE a.notified")
    spikes = {(s.names[aid], sid) for aid, rule, _act, sid in alerts if rule == "run_spike"}
    assert spikes == {(name, club.spikes[name]) for name in club.spikes}  # each athlete's long run, once
    # the alerts of one evaluation for one athlete share one message: its row is sent, theirs bundled
    deliveries = dict(((state, attempts), n) for state, attempts, n in
                      s.rows("SELECT state, attempts, count(*) FROM deliveries GROUP BY state, attempts"))
    messages = deliveries.pop(("sent", 1))
    assert set(deliveries) <= {("bundled", 0)} and messages + deliveries.get(("bundled", 0), 0) == len(alerts)
    ids = [m.message["Message-ID"] for m in smtp.messages]
    assert len(set(ids)) == messages  # every message arrived
    assert len(ids) - len(set(ids)) <= killed_in_flight  # none twice, but for what a killed worker had in flight


def test_two_workers_sync_a_club_of_50_once_each(setup_factory, smtp_receiver) -> None:
    s = setup_factory(50, smtp_port=smtp_receiver.port)
    workers = [s.start_worker(0), s.start_worker(1)]
    wait_until(lambda: all(w.ready() for w in workers), timeout=30, what="two workers ready")
    s.enqueue_round(cli=True)
    expected = s.club.expected
    n_messages = lambda: s.rows("SELECT count(*) FROM deliveries d JOIN alerts a ON a.id = d.alert_id "  # noqa: E731
                                "WHERE a.notified AND d.state != 'bundled'")[0][0]
    wait_until(lambda: len(s.stored()) >= len(expected) and len(smtp_receiver.messages) >= n_messages() > 0,
               timeout=40, what="the club synced and its alerts sent")
    wait_until(lambda: s.rows("SELECT count(*) FROM job_runs WHERE job = 'strava_sync' AND outcome = 'running'")[0][0] == 0,
               timeout=20, what="every sync run finished")

    stored = s.stored()
    assert sorted(stored) == sorted(expected) and len(stored) == len(set(stored))  # every activity, once
    log = s.strava.requests()
    streams = _streams_requests(log)
    assert set(streams.values()) == {1} and len(streams) == len(expected)  # no activity fetched twice
    assert s.strava.stats()["rejected_429"] == 0
    runs = s.rows("SELECT athlete_id, outcome FROM job_runs WHERE job = 'strava_sync'")
    assert sorted(a for a, _ in runs) == sorted(s.ids.values()) and {o for _, o in runs} == {"ok"}
    _check_alerts_sent_once(s, smtp_receiver, s.club)
    for w in workers:  # both workers took part
        assert '"job": "strava_sync"' in w.log_text(), w.log_text()[-3000:]


def test_a_worker_killed_mid_sync_loses_nothing(setup_factory, smtp_receiver) -> None:
    s = setup_factory(16, smtp_port=smtp_receiver.port)
    victim = sorted(s.ids, key=s.ids.get)[0]  # the fan-out enqueues athletes by id: this one comes first
    slow = s.club.activities[victim][4]
    # Its 5th run's streams answer 503 twice: the connector backs off (2 s, then 4 s) inside the task.
    s.strava.fault("503", 2, rf"/activities/{slow}/streams$")
    a = s.start_worker(0)
    wait_until(a.ready, timeout=30, what="worker a ready")
    s.enqueue_round()

    def mid_task() -> bool:
        return any(r["status"] == 503 for r in s.strava.requests())
    wait_until(mid_task, timeout=20, interval=0.05, what="the victim's sync to hit the 503")
    holders = s.rows("SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                     "WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.objid = :k", k=s.ids[victim])
    assert holders == [("lm-worker-a",)]  # worker a is inside the victim's sync, holding its lock
    before_kill = set(s.stored())
    assert (victim, slow) not in before_kill and len(before_kill) < len(s.club.expected)
    a.kill_group()  # SIGKILL the worker and its pool: no cleanup, no ack
    killed_at = time.monotonic()

    b = s.start_worker(1)  # another worker (another host): gets the queue and, after the visibility timeout, the lost tasks
    wait_until(b.ready, timeout=30, what="worker b ready")
    wait_until(lambda: len(s.stored()) >= len(s.club.expected), timeout=40, what="the club synced after the kill")

    stored = s.stored()
    assert sorted(stored) == sorted(s.club.expected) and len(stored) == len(set(stored))
    assert set(before_kill) <= set(stored)
    streams = _streams_requests(s.strava.requests())
    refetched = {sid for sid, n in streams.items() if n > 1}
    assert refetched.isdisjoint(sid for _, sid in before_kill)  # nothing stored was fetched again ...
    assert len(refetched) <= 2  # ... only what the two killed tasks had in flight (pool of 2)
    assert streams[slow] == 1 and _streams_requests(s.strava.requests(), status=503)[slow] == 2
    # the lost task was run again to its end (its run record is closed just after its last activity is stored)
    victim_runs = lambda: s.rows("SELECT outcome FROM job_runs WHERE job = 'strava_sync' AND athlete_id = :a",  # noqa: E731
                                 a=s.ids[victim])
    wait_until(lambda: ("ok",) in victim_runs(), timeout=20, what="the victim's re-run to finish")
    pending = lambda: s.rows("SELECT count(*) FROM deliveries WHERE state = 'pending'")[0][0]  # noqa: E731
    try:
        wait_until(lambda: pending() == 0, timeout=20, what="worker b to send the alerts")
    except AssertionError:  # one the killed worker had claimed: sent by the next delivery run after its 60 s lease
        time.sleep(max(0.0, killed_at + 61 - time.monotonic()))
        s.enqueue_round()
    assert s.rows("SELECT count(*) FROM alerts WHERE notified")[0][0] > 0
    _check_alerts_sent_once(s, smtp_receiver, s.club, killed_in_flight=2)
    # the killed worker's locks went with its connections; the re-run releases its own just after closing its run
    wait_until(lambda: s.rows("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2")[0][0] == 0,
               timeout=10, what="every athlete lock to be released")


def test_two_workers_share_one_strava_budget(setup_factory) -> None:
    limit, margin = 40, 2  # reads per 15-minute window; the demand is 12 athletes x 10 requests
    s = setup_factory(12, smtp_port=None, read_limit_15min=limit)
    workers = [s.start_worker(0), s.start_worker(1)]
    wait_until(lambda: all(w.ready() for w in workers), timeout=30, what="two workers ready")
    s.enqueue_round()

    def settled() -> bool:
        runs = s.rows("SELECT outcome, count(*) FROM job_runs WHERE job = 'strava_sync' GROUP BY outcome")
        return sum(n for o, n in runs if o != "running") == len(s.ids)
    wait_until(settled, timeout=40, what="every athlete's sync ran (or stopped at the budget)")

    stats = s.strava.stats()
    assert stats["rejected_429"] == 0  # never over Strava's limit: no request refused
    for window in stats["windows"].values():
        assert window["read"] <= limit - margin  # the shared reserve held across both workers
    skipped = s.rows("SELECT counts FROM job_runs WHERE job = 'strava_sync' AND outcome = 'skipped'")
    assert skipped and all("budget" in row[0]["reason"] for row in skipped)  # the rest waits for the next window
    stored = s.stored()
    assert len(stored) == len(set(stored)) and set(stored) <= s.club.expected
    # each stored run cost exactly one streams request, and no streams request was spent twice
    streams = _streams_requests(s.strava.requests())
    assert set(streams.values()) <= {1}
    assert {sid for _, sid in stored} <= set(streams)
