"""Benchmark: a club on PostgreSQL with Celery workers (1 vs 2 worker processes).

    .venv/bin/python bench/scale_bench.py                 # 200 athletes x 2 years (default)
    .venv/bin/python bench/scale_bench.py --athletes 1000 # the full club of the issue
    options: --years 2 --sync-athletes 40 --sync-activities 30 --skip-sync --skip-eval
             --database-url postgresql://postgres@127.0.0.1:5432/test  (default: $LOADMON_BENCH_DATABASE_URL,
             else $LOADMON_TEST_DATABASE_URL; a private database is created there and dropped at the end)
             --redis-url redis://127.0.0.1:6379/12

What it measures (figures in docs/performance.md):

1. Data: ``--athletes`` runners with ``--years`` of history each (3-6 runs a week, some rides,
   hilly and flat weeks, build-ups and breaks), written straight into PostgreSQL (bulk insert).
2. ``club status`` over the whole club: wall time and SQL statements (counted with a SQLAlchemy
   event listener, loadmon.storage.stats): the count does not grow with the club.
3. SQL statements of one athlete's rule evaluation (``alerting.evaluate``), first run (it stores
   the alerts of two years: one transaction per new alert) and again (nothing new): the reads
   are a constant handful whatever the history length - no N+1.
4. Evaluation throughput: ``loadmon.evaluate_all`` (one task per athlete) with 1 worker process
   (concurrency 1), then 2 worker processes (concurrency 1 each), alerts emptied in between.
5. Sync throughput through the fake Strava (``tests/strava_server.py`` as a subprocess):
   ``--sync-athletes`` athletes with ``--sync-activities`` runs each (one listing request and
   one streams request per run), 1 worker process then 2, everything synced from scratch.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sqlalchemy import insert, text  # noqa: E402

from loadmon.domain import ElevationSource, local_date_of  # noqa: E402
from loadmon.storage import Store  # noqa: E402
from loadmon.storage.models import ActivityRow, AthleteRow  # noqa: E402
from loadmon.storage.stats import count_statements  # noqa: E402
from tests.conftest import _to_toml  # noqa: E402

TZ = "Europe/Paris"


# ------------------------------------------------------------------------------ database
def private_database(base_url: str) -> tuple[str, str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"loadmon_bench_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(database=name).render_as_string(hide_password=False), admin, name


def drop_database(admin: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ----------------------------------------------------------------------------- the club
def generate_club(store: Store, n: int, years: int, *, today: date, seed: int = 7) -> int:
    """``n`` athletes with ``years`` of varied history, bulk-inserted. Returns the activity count."""
    rng = random.Random(seed)
    first = today - timedelta(days=365 * years)
    total = 0
    with store.engine.begin() as conn:
        ids = []
        for i in range(n):
            ids.append(conn.execute(insert(AthleteRow).values(name=f"athlete{i:04d}", timezone=TZ).returning(AthleteRow.id)).scalar_one())
    rows: list[dict[str, Any]] = []

    def flush() -> None:
        nonlocal rows
        if rows:
            with store.engine.begin() as conn:
                conn.execute(insert(ActivityRow), rows)
            rows = []

    for aid in ids:
        weekly_km = rng.uniform(15, 70)
        per_week = rng.randint(3, 6)
        hilly = rng.random() < 0.4
        sid = 0
        day = first
        while day <= today:
            week_factor = rng.choice([0.0, 0.5] if rng.random() < 0.05 else [0.8, 1.0, 1.1, 1.3])  # breaks and build-ups
            run_days = sorted(rng.sample(range(7), per_week))
            for d in run_days:
                dd = day + timedelta(days=d)
                if dd > today or week_factor == 0.0:
                    continue
                long_run = d == run_days[-1]
                km = max(3.0, rng.gauss(weekly_km / per_week * (1.8 if long_run else 0.85) * week_factor, 2.0))
                start = datetime(dd.year, dd.month, dd.day, rng.randrange(5, 19), rng.randrange(60), tzinfo=UTC)
                loss = max(0.0, rng.gauss(km * (25 if hilly else 6), km * 4))
                sid += 1
                rows.append(_row(aid, sid, "running", start, km, km * rng.uniform(280, 360), loss, rng))
            if rng.random() < 0.3:  # a ride
                dd = day + timedelta(days=rng.randrange(7))
                if dd <= today:
                    sid += 1
                    start = datetime(dd.year, dd.month, dd.day, 9, 0, tzinfo=UTC)
                    km = rng.uniform(20, 80)
                    rows.append(_row(aid, sid, "cycling", start, km, km * 130, km * 8, rng))
            day += timedelta(days=7)
        total += sid
        if len(rows) > 20_000:
            flush()
    flush()
    with store.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return total


def _row(aid: int, sid: int, sport: str, start: datetime, km: float, moving: float, loss: float,
         rng: random.Random) -> dict[str, Any]:
    return {"athlete_id": aid, "source": "fit", "source_id": aid * 1_000_000 + sid, "sport": sport, "sub_sport": None,
            "name": None, "start_time": start, "local_date": local_date_of(start, TZ), "utc_offset_s": 3600,
            "distance_m": km * 1000.0, "moving_time_s": moving, "elapsed_time_s": moving * 1.04,
            "elevation_gain_m": loss, "elevation_loss_m": loss, "elevation_source": ElevationSource.DEVICE.value,
            "avg_hr": rng.randrange(125, 170), "max_hr": None, "perceived_exertion": None, "device": "bench",
            "external_id": None, "private": False, "content_hash": f"bench-{aid}-{sid}", "deleted": False,
            "duplicate_of": None}


# ------------------------------------------------------------------------------ workers
def write_config(tmp: Path, name: str, db_url: str, redis_url: str, queue: str, strava_url: str | None = None) -> Path:
    sections: dict[str, Any] = {
        "database": {"url": db_url},
        "worker": {"broker_url": redis_url, "queue": queue, "key_prefix": f"{queue}:", "concurrency": 1,
                   "visibility_timeout_s": 600, "restore_interval_s": 5, "lock_retry_s": 2},
        "logging": {"level": "info"},  # the worker.ready event is logged at info
    }
    if strava_url:
        from tests.scale.helpers import CLIENT_ID, CLIENT_SECRET

        sections["strava"] = {"client_id": str(CLIENT_ID), "client_secret": CLIENT_SECRET, "api_url": strava_url,
                              "reconcile_days": 400, "read_limit_15min": 100_000, "read_limit_daily": 1_000_000}
    path = tmp / f"{name}.toml"
    path.write_text(_to_toml(sections), encoding="utf-8")
    return path


def run_workers(cfg: Path, n_workers: int, tmp: Path, enqueue: str, done: Any, *, timeout: float) -> float:
    """Start ``n_workers`` worker processes, enqueue task ``enqueue``, wait until ``done()``; wall seconds."""
    from loadmon.config import load_config
    from loadmon.worker import make_app
    from tests.scale.helpers import WorkerProcess, cli_env, wait_until

    env = cli_env(tmp)
    workers = [WorkerProcess(cfg, env, tmp / f"w{i}-{time.monotonic_ns()}.log", "--concurrency", "1", "--pool", "solo")
               for i in range(n_workers)]
    try:
        wait_until(lambda: all(w.ready() for w in workers), timeout=60, what="workers ready")
        app = make_app(load_config(cfg, env={}))
        t0 = time.perf_counter()
        app.tasks[enqueue].apply_async()
        wait_until(done, timeout=timeout, interval=0.25, what=f"{enqueue} done")
        return time.perf_counter() - t0
    finally:
        for w in workers:
            w.terminate()
            w.stop()
        _drop_redis_keys(load_config(cfg, env={}))


def _drop_redis_keys(config: Any) -> None:
    """Delete this run's Redis keys (its queue, markers and kombu bindings all carry the prefix)."""
    import redis

    client = redis.Redis.from_url(config.worker.broker_url)
    try:
        keys = set(client.scan_iter(match=f"*{config.worker.queue}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def count(store: Store, sql: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


# ------------------------------------------------------------------------------- phases
def bench_queries(store: Store, db_url: str, tmp: Path, n: int) -> dict[str, Any]:
    from loadmon.config import load_config
    from loadmon.service import Service, alerting
    from loadmon.service.club import club_status

    cfg = load_config(write_config(tmp, "inproc", db_url, "redis://127.0.0.1:6379/12", "unused"), env={})
    svc = Service.open(cfg, migrate=False)
    out: dict[str, Any] = {}
    try:
        athletes = svc.store.list_athletes()
        t0 = time.perf_counter()
        with count_statements(svc.store) as c:
            rows = club_status(svc)
        out["club_status_s"] = time.perf_counter() - t0
        out["club_status_statements"] = c.count
        out["club_rows"] = len(rows)
        with count_statements(svc.store) as c10:
            club_status(svc, athletes=athletes[:10])
        out["club_status_statements_10"] = c10.count
        out["club_levels"] = {lvl: sum(1 for r in rows if r["risk"]["level"] == lvl) for lvl in ("high", "elevated", "ok", "no data")}
        sample = athletes[:5]
        cold, warm, cold_t, warm_t, new_alerts, acts = [], [], [], [], [], []
        for a in sample:
            acts.append(len(svc.store.list_activities(a.id)))
            t0 = time.perf_counter()
            with count_statements(svc.store) as c1:
                r1 = alerting.evaluate(svc, [a.id])
            cold_t.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            with count_statements(svc.store) as c2:
                r2 = alerting.evaluate(svc, [a.id])
            warm_t.append(time.perf_counter() - t0)
            assert r2["alerts_new"] == 0
            cold.append((c1.count, dict(c1.by_kind)))
            warm.append((c2.count, dict(c2.by_kind)))
            new_alerts.append(r1["alerts_new"])
        out.update(sample_activities=acts, cold=cold, warm=warm, new_alerts=new_alerts,
                   cold_ms=statistics.median(cold_t) * 1000, warm_ms=statistics.median(warm_t) * 1000)
        from loadmon.service import distributed

        with count_statements(svc.store) as ct:  # what a worker's evaluate_athlete task sends (lock + job run + rules)
            assert distributed.evaluate_athlete(svc, sample[0].id) is not None
        out["task_statements"] = (ct.count, dict(ct.by_kind))
        with store.engine.begin() as conn:  # leave the database as generated
            conn.execute(text("TRUNCATE alerts, deliveries, job_runs RESTART IDENTITY CASCADE"))
    finally:
        svc.close()
    return out


def bench_evaluation(store: Store, db_url: str, redis_url: str, tmp: Path, n: int,
                     worker_counts: list[int]) -> dict[int, tuple[float, float]]:
    """Per worker count: (first evaluation: stores two years of alerts, again: nothing new) seconds."""
    out = {}
    for k in worker_counts:
        with store.engine.begin() as conn:
            conn.execute(text("TRUNCATE alerts, deliveries, job_runs RESTART IDENTITY CASCADE"))
        times = []
        for phase in ("first", "again"):
            queue = f"lmbench-{uuid.uuid4().hex[:8]}"
            cfg = write_config(tmp, f"eval{k}{phase}", db_url, redis_url, queue)
            done = lambda: count(store, "SELECT count(*) FROM job_runs WHERE job = 'evaluate' AND outcome <> 'running'") >= n  # noqa: E731
            times.append(run_workers(cfg, k, tmp, "loadmon.evaluate_all", done, timeout=3600))
            alerts = count(store, "SELECT count(*) FROM alerts")
            print(f"  evaluation ({phase} run), {k} worker process(es): {times[-1]:.1f} s for {n} athletes = "
                  f"{n / times[-1]:.1f} athletes/s ({alerts} alerts stored in all)", flush=True)
            with store.engine.begin() as conn:
                conn.execute(text("TRUNCATE job_runs RESTART IDENTITY"))
        out[k] = (times[0], times[1])
    return out


def bench_sync(db_url: str, redis_url: str, tmp: Path, n_athletes: int, n_acts: int, worker_counts: list[int]) -> dict[int, tuple[float, int]]:
    from tests.scale.helpers import CLIENT_ID, CLIENT_SECRET, FIRST_ACTIVITY, StravaProcess
    from tests.strava_server import StravaState, hill_streams, summary_activity

    now = datetime.now(UTC).replace(microsecond=0)
    out = {}
    for k in worker_counts:
        state = StravaState(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
        state.limits.read_15min = state.limits.overall_15min = 1_000_000
        state.limits.read_daily = state.limits.overall_daily = 10_000_000
        store = Store.open(db_url, migrate_schema=False)
        next_id = FIRST_ACTIVITY
        for i in range(n_athletes):
            sid = 80_000_000 + i
            state.add_athlete(sid)
            for j in range(n_acts):
                start = now - timedelta(days=2 + j * (360 // max(1, n_acts)), hours=3)
                state.add_activity(summary_activity(next_id, athlete_id=sid, start=start, distance_m=10_000.0),
                                   streams=hill_streams(120))
                next_id += 7
            tok = state.issue_tokens(sid, expires_at=now + timedelta(hours=6))
            a = store.ensure_athlete(f"sync{k}-{i:03d}", timezone_name=TZ)
            store.save_strava_tokens(a.id, strava_athlete_id=sid, access_token=tok["access_token"],
                                     refresh_token=tok["refresh_token"],
                                     expires_at=datetime.fromtimestamp(tok["expires_at"], UTC), scope="read,activity:read_all")
        server = StravaProcess(state, tmp)
        try:
            queue = f"lmbench-{uuid.uuid4().hex[:8]}"
            cfg = write_config(tmp, f"sync{k}", db_url, redis_url, queue, strava_url=server.url)
            expected = n_athletes * n_acts
            done = lambda store=store, k=k, expected=expected: count(store, "SELECT count(*) FROM activities a JOIN athletes t ON t.id = a.athlete_id "  # noqa: E731
                                        f"WHERE t.name LIKE 'sync{k}-%'") >= expected and \
                count(store, "SELECT count(*) FROM job_runs WHERE job = 'strava_sync' AND outcome = 'running'") == 0
            secs = run_workers(cfg, k, tmp, "loadmon.sync_all", done, timeout=3600)
            requests_made = server.stats()["api_requests"]
            out[k] = (secs, requests_made)
            print(f"  sync, {k} worker process(es): {secs:.1f} s for {n_athletes} athletes x {n_acts} runs "
                  f"({requests_made} Strava requests) = {expected / secs:.0f} activities/s, {requests_made / secs:.0f} requests/s",
                  flush=True)
        finally:
            server.stop()
            with store.engine.begin() as conn:  # the next round starts from scratch: disconnect this round
                conn.execute(text("DELETE FROM strava_connections"))
            store.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--athletes", type=int, default=200)
    p.add_argument("--years", type=int, default=2)
    p.add_argument("--sync-athletes", type=int, default=40)
    p.add_argument("--sync-activities", type=int, default=30)
    p.add_argument("--workers", default="1,2", help="worker process counts to compare")
    p.add_argument("--skip-sync", action="store_true")
    p.add_argument("--skip-eval", action="store_true")
    p.add_argument("--database-url", default=os.environ.get("LOADMON_BENCH_DATABASE_URL")
                   or os.environ.get("LOADMON_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--redis-url", default=os.environ.get("LOADMON_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    args = p.parse_args()
    from loadmon.logs import configure_logging

    configure_logging(json=True, level="warning")
    counts = [int(x) for x in args.workers.split(",")]
    db_url, admin, name = private_database(args.database_url)
    print(f"database {name}; {args.athletes} athletes x {args.years} years; cores: {os.cpu_count()}", flush=True)
    try:
        store = Store.open(db_url)
        with tempfile.TemporaryDirectory() as tmpdir:
            tmp = Path(tmpdir)
            t0 = time.perf_counter()
            n_acts = generate_club(store, args.athletes, args.years, today=datetime.now(UTC).date())
            print(f"generated {n_acts} activities ({n_acts / args.athletes:.0f} per athlete) in "
                  f"{time.perf_counter() - t0:.1f} s", flush=True)
            q = bench_queries(store, db_url, tmp, args.athletes)
            print(f"club status, {q['club_rows']} athletes: {q['club_status_s']:.2f} s, {q['club_status_statements']} SQL "
                  f"statements ({q['club_status_statements_10']} for 10 athletes); levels {q['club_levels']}", flush=True)
            for acts, (c, ck), (w, wk), new in zip(q["sample_activities"], q["cold"], q["warm"], q["new_alerts"]):
                print(f"  evaluate one athlete ({acts} activities): first run {c} statements {ck} for {new} new alerts; "
                      f"again {w} statements {wk}", flush=True)
            print(f"  evaluate one athlete in-process: first run median {q['cold_ms']:.0f} ms, again {q['warm_ms']:.0f} ms",
                  flush=True)
            print(f"  the same as a worker task (athlete lock + job run record + rules, nothing new): "
                  f"{q['task_statements'][0]} statements {q['task_statements'][1]}", flush=True)
            if not args.skip_eval:
                ev = bench_evaluation(store, db_url, args.redis_url, tmp, args.athletes, counts)
                if len(ev) > 1:
                    b1, b2 = ev[counts[0]]
                    print("  evaluation speed-up: " + ", ".join(f"{k} workers x{b1 / v[0]:.2f} (first run), x{b2 / v[1]:.2f} (again)"
                                                                  for k, v in ev.items()), flush=True)
            if not args.skip_sync:
                sy = bench_sync(db_url, args.redis_url, tmp, args.sync_athletes, args.sync_activities, counts)
                if len(sy) > 1:
                    base = sy[counts[0]][0]
                    print("  sync speed-up: " + ", ".join(f"{k} workers x{base / v[0]:.2f}" for k, v in sy.items()), flush=True)
        store.close()
    finally:
        drop_database(admin, name)


if __name__ == "__main__":
    main()
