"""`loadmon scheduler` feeds the workers on a schedule, alone on its database, and stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from sqlalchemy import text

from tests.conftest import REPO_ROOT, _to_toml
from tests.scale.helpers import WorkerProcess, cli_env, wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.scale, pytest.mark.slow]


def test_the_scheduler_enqueues_on_schedule_is_single_and_stops_cleanly(tmp_path, fresh_pg_url, redis_url,
                                                                       queue_name) -> None:
    from loadmon.storage import Store

    cfg = tmp_path / "config.toml"
    cfg.write_text(_to_toml({
        "database": {"url": fresh_pg_url},
        "daemon": {"deliver_interval_s": 1, "sync_jitter_s": 0},
        "worker": {"broker_url": redis_url, "queue": queue_name, "key_prefix": f"{queue_name}:"},
    }), encoding="utf-8")
    env = cli_env(tmp_path)
    store = Store.open(fresh_pg_url)

    def deliver_runs() -> int:
        with store.engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM job_runs WHERE job = 'deliver' AND outcome = 'ok'"))

    worker = WorkerProcess(cfg, env, tmp_path / "worker.log", "--pool", "threads", "--concurrency", "1")
    log = open(tmp_path / "scheduler.log", "w", encoding="utf-8")
    sched = subprocess.Popen([sys.executable, "-m", "loadmon", "--config", str(cfg), "scheduler"], env=env,
                             cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(worker.ready, timeout=30, what="the worker")
        wait_until(lambda: deliver_runs() >= 3, timeout=30, what="the initial delivery and two scheduled ones")
        second = subprocess.run([sys.executable, "-m", "loadmon", "--config", str(cfg), "scheduler"], env=env,
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert second.returncode == 3 and "daemon or scheduler" in second.stderr
        daemon = subprocess.run([sys.executable, "-m", "loadmon", "--config", str(cfg), "daemon"], env=env,
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert daemon.returncode == 3  # the scheduler holds the daemon's lock: no double scheduling
        status = subprocess.run([sys.executable, "-m", "loadmon", "--config", str(cfg), "daemon", "status"], env=env,
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert status.returncode == 0, status.stdout + status.stderr  # the worker deployment is healthy
        sched.send_signal(signal.SIGTERM)
        assert sched.wait(timeout=15) == 0
        with store.engine.connect() as conn:
            row = conn.execute(text("SELECT finished_at, outcome, counts FROM job_runs WHERE job = 'daemon'")).one()
        assert row.finished_at is not None and row.outcome == "ok" and row.counts.get("scheduler") is True
        housekeeping = store.last_job_runs().get("housekeeping")
        assert housekeeping is not None and housekeeping["outcome"] == "ok"  # enqueued at start, like the daemon's
    finally:
        if sched.poll() is None:
            sched.kill()
            sched.wait(timeout=10)
        log.close()
        worker.stop()
        store.close()
