"""The job functions: recorded runs, errors that never escape, the watched-folder scanner."""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
import threading
import time
import types
from datetime import UTC, datetime, timedelta

import pytest

from loadmon.errors import RateLimitExhausted
from loadmon.logs import configure_logging, get_logger
from loadmon.service import Service, jobs
from loadmon.service.alert_counts import DeliveryCounts
from tests.daemon.helpers import fit_file, wait_until


@pytest.fixture
def watch(tmp_path):
    d = tmp_path / "watch"
    d.mkdir()
    return d


@pytest.fixture
def svc(open_service, watch):
    return open_service(fit={"watch_dirs": [str(watch)]},
                        daemon={"watch_interval_s": 1, "deliver_interval_s": 1, "sync_jitter_s": 0},
                        strava={"client_secret": "s3cr3t-client-value"})


def _runs(svc, job):
    return [e for e in jobs.job_overview(svc) if e.job == job]


def test_a_job_that_raises_is_recorded_and_never_escapes(svc) -> None:
    def body():
        raise RuntimeError("connect postgresql://loadmon:hunter2@db/x failed; access_token=abc123; "
                           "Authorization: Bearer eyJhbGciOi; client secret s3cr3t-client-value")

    result = jobs.run_job(svc, "boom", body, athlete_id=7)  # does not raise
    assert result.outcome == "error"
    for secret in ("hunter2", "abc123", "eyJhbGciOi", "s3cr3t-client-value"):
        assert secret not in result.error
    assert result.error.startswith("RuntimeError: connect postgresql://loadmon:***@db/x failed")
    (entry,) = _runs(svc, "boom")
    assert entry.athlete_id == 7
    assert entry.last.outcome == "error" and entry.last.finished_at is not None
    assert entry.last_error.error == result.error


def test_a_secret_in_an_error_is_masked_the_same_way_in_the_job_record_and_in_the_logs(svc) -> None:
    """One masking scheme: the text a component logs as it came (under a key that does not look
    secret) and the error the job run records are masked alike, and no secret reaches either."""
    message = ("login to https://strava.example/oauth?code=c0de-value failed: password=hunter2, "
               "Authorization: Bearer eyJhbGciOi, postgresql://loadmon:pg-pass@db/x")
    stream = io.StringIO()
    configure_logging(json=True, level="debug", stream=stream)

    def body():
        get_logger("loadmon.test").warning("upstream.failed", detail=message)
        raise RuntimeError(message)

    try:
        result = jobs.run_job(svc, "boom", body)
    finally:
        configure_logging()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    logged = next(line for line in lines if line["event"] == "upstream.failed")["detail"]
    failed = next(line for line in lines if line["event"] == "job.failed")
    (entry,) = _runs(svc, "boom")
    assert entry.last_error.error == result.error == failed["error"] == f"RuntimeError: {logged}"
    assert "password=***" in logged and "Bearer ***" in logged and "loadmon:***@db" in logged
    for secret in ("c0de-value", "hunter2", "eyJhbGciOi", "pg-pass"):
        assert secret not in stream.getvalue() and secret not in result.error


def test_the_run_time_state_is_typed_on_the_service(svc, watch) -> None:
    """The stop flag, the sleep and the watch state are typed fields of the Service: the flag the
    daemon sets on SIGTERM is the one the folder scan and the Strava sync check."""
    from loadmon.daemon import Daemon
    from loadmon.service.strava import common as strava_common

    naps: list[float] = []
    other = Service(config=svc.config, store=svc.store, sleep=naps.append)
    strava_common.sleep_of(other)(1.5)
    assert naps == [1.5]  # the injected sleep, not time.sleep
    assert isinstance(svc.watch_state, jobs.WatchState) and isinstance(svc.stop, threading.Event)
    fit_file(watch / "run.fit", km=10, old=True)
    Daemon(svc).request_stop("test")
    assert strava_common.stop_requested(svc) and not strava_common.stop_requested(other)
    result = jobs.import_watched(svc)
    assert result.counts["stopped"] is True and result.counts["imported"] == 0
    svc.stop.clear()
    assert jobs.import_watched(svc).counts["imported"] == 1  # left for the next scan, not lost


def test_optional_services_missing_means_skipped_with_a_reason(svc, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "loadmon.service.alerting", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "loadmon.service.strava_sync", None)
    athlete = svc.athlete()
    for result in (jobs.deliver(svc), jobs.evaluate(svc, [athlete.id]), jobs.sync_athlete(svc, athlete.id)):
        assert result.outcome == "skipped"
        assert "not available" in result.counts["reason"]


def _fake_module(monkeypatch, name: str, **functions) -> types.ModuleType:
    """A stand-in for a service module another issue provides (same function signatures)."""
    mod = types.ModuleType(f"loadmon.service.{name}")
    for fname, fn in functions.items():
        setattr(mod, fname, fn)
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    return mod


def test_sync_all_reads_the_connected_athletes_each_time_and_stops_on_the_flag(svc, monkeypatch) -> None:
    calls: list[tuple[int, bool]] = []

    def sync(service, athlete, *, wait=False):
        calls.append((athlete.id, wait))
        if athlete.name == "b":
            raise RateLimitExhausted("15-minute budget spent", resume_at=datetime(2030, 1, 1, tzinfo=UTC))
        return {"new": 1}

    _fake_module(monkeypatch, "strava_sync", sync=sync, reconcile=lambda s, a, days=None: {"checked": 3})
    a, b = svc.add_athlete("a"), svc.add_athlete("b")
    assert jobs.sync_all(svc) == []  # nobody connected
    for ath in (a, b):
        svc.store.save_strava_tokens(ath.id, strava_athlete_id=100 + ath.id, access_token="t", refresh_token="r",
                                     expires_at=datetime(2030, 1, 1, tzinfo=UTC), scope="activity:read_all")
    results = {r.athlete_id: r for r in jobs.sync_all(svc)}
    assert calls == [(a.id, False), (b.id, False)]  # the daemon never sleeps on the rate limit
    assert results[a.id].outcome == "ok" and results[a.id].counts == {"new": 1}
    assert results[b.id].outcome == "skipped" and results[b.id].counts["resume_at"].startswith("2030-01-01")
    assert [r.counts for r in jobs.reconcile_all(svc)] == [{"checked": 3}, {"checked": 3}]

    jobs.stop_event(svc).set()
    assert jobs.sync_all(svc) == []  # stop requested: no new unit of work starts


@pytest.mark.slow
def test_watched_files_are_read_once_and_only_when_settled(svc, watch) -> None:
    later = lambda: time.time() + 10  # noqa: E731 - "the file was written more than 2 s ago"
    fit_file(watch / "run.fit", km=10)  # just written
    (watch / "notes.txt").write_text("not a FIT file")
    fit_file(watch / ".hidden.fit", km=3, old=True)

    first = jobs.import_watched(svc)
    assert first.counts["pending"] == 1 and first.counts["files"] == 0  # still being written?
    assert svc.store.list_activities(svc.athlete().id) == []

    second = jobs.import_watched(svc, wall_clock=later)
    assert second.outcome == "ok"
    assert (second.counts["files"], second.counts["imported"], second.counts["new_activities"]) == (1, 1, 1)
    assert [t.job for t in second.then] == ["evaluate"]  # rules follow an import that added activities
    log_rows = len(svc.store.import_log())

    third = jobs.import_watched(svc, wall_clock=later)
    assert third.counts["unchanged"] == 1 and third.counts["files"] == 0 and third.then == ()
    assert len(svc.store.import_log()) == log_rows  # the unchanged file was not read again

    # The file is replaced (another run): its size/mtime changed since the last scan, so it waits one scan.
    fit_file(watch / "run.fit", km=14, start=datetime(2024, 5, 2, 7, 0, tzinfo=UTC))
    assert jobs.import_watched(svc, wall_clock=later).counts["pending"] == 1
    fourth = jobs.import_watched(svc, wall_clock=later)
    assert fourth.counts["imported"] == 1
    assert len(svc.store.list_activities(svc.athlete().id)) == 2


def test_a_watched_folder_imports_gpx_and_tcx_too(svc, watch) -> None:
    from connectors.fit.factory import RunSpec
    from tests.tracks.trackgen import gpx_bytes, tcx_bytes

    spec = RunSpec(start=datetime(2024, 5, 1, 7, 0, tzinfo=UTC), distance_m=8000, duration_s=2800, record_interval_s=5)
    (watch / "phone.gpx").write_bytes(gpx_bytes(spec))
    other = RunSpec(start=spec.start + timedelta(days=2), distance_m=6000, duration_s=2100, record_interval_s=5)
    (watch / "old.tcx.gz").write_bytes(gzip.compress(tcx_bytes(other)))
    result = jobs.import_watched(svc, wall_clock=lambda: time.time() + 10)  # both settled
    assert (result.counts["files"], result.counts["imported"]) == (2, 2)
    assert sorted(a.source for a in svc.store.list_activities(svc.athlete().id)) == ["gpx", "tcx"]


def test_a_corrupt_file_fails_once_and_is_not_retried_until_it_changes(svc, watch) -> None:
    bad = watch / "broken.fit"
    bad.write_bytes(b"\x0e\x10this is not a FIT file at all")
    t = time.time() - 60
    os.utime(bad, (t, t))
    first = jobs.import_watched(svc)
    assert first.outcome == "ok" and first.counts["failed"] == 1  # a bad file is not a job failure
    assert jobs.import_watched(svc).counts["unchanged"] == 1
    failures = [r for r in svc.store.import_log() if r["outcome"] == "failed"]
    assert len(failures) == 1 and "broken.fit" in failures[0]["path"]


def test_a_missing_watched_folder_is_a_failed_run_naming_it(open_service, tmp_path) -> None:
    svc = open_service(fit={"watch_dirs": [str(tmp_path / "gone")]})
    result = jobs.import_watched(svc)
    assert result.outcome == "error"
    assert f"watched folder {tmp_path / 'gone'} does not exist" in result.error


@pytest.mark.slow
def test_the_daemon_keeps_running_when_a_job_raises(svc, watch, monkeypatch) -> None:
    from loadmon.daemon import Daemon

    delivered = []

    def deliver_due(service):
        delivered.append(1)
        raise RuntimeError("SMTP server exploded")

    _fake_module(monkeypatch, "alerting", deliver_due=deliver_due, evaluate=lambda service, ids: {"new_alerts": 0})
    daemon = Daemon(svc)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(daemon.run()), daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(delivered) >= 2, timeout=20, what="two delivery runs")  # it raised, and ran again
        fit_file(watch / "after.fit", km=6, old=True)
        wait_until(lambda: svc.store.list_activities(svc.athlete().id), timeout=20, what="the import after the errors")
    finally:
        daemon.request_stop("test")
        thread.join(timeout=15)
    assert not thread.is_alive() and codes == [0]
    (entry,) = _runs(svc, "deliver")
    assert entry.last_error.error == "RuntimeError: SMTP server exploded"
    (d,) = _runs(svc, "daemon")
    assert d.last.outcome == "ok" and d.last.counts["runs"] >= 3


def test_a_new_daemon_closes_runs_a_killed_one_left_open(svc) -> None:
    run_id = svc.store.start_job_run("strava_sync", athlete_id=1, started_at=svc.clock() - timedelta(minutes=5))
    assert run_id
    jobs.daemon_started(svc)
    (entry,) = _runs(svc, "strava_sync")
    assert entry.last.outcome == "interrupted" and entry.last.finished_at is not None


def test_housekeeping_prunes_old_runs_but_keeps_the_latest_of_each_job(svc) -> None:
    old = svc.clock() - timedelta(days=30)
    for i in range(5):
        rid = svc.store.start_job_run("deliver", athlete_id=None, started_at=old + timedelta(minutes=i))
        svc.store.finish_job_run(rid, outcome="error" if i == 1 else "ok", finished_at=old + timedelta(minutes=i))
    result = jobs.housekeeping(svc)
    assert result.counts["pruned_runs"] == 3  # kept: the latest run (i=4) and the latest error (i=1)
    (entry,) = _runs(svc, "deliver")
    assert entry.last.started_at == old + timedelta(minutes=4)
    assert entry.last_error.started_at == old + timedelta(minutes=1)


@pytest.mark.slow
def test_a_job_that_ignores_the_stop_flag_does_not_hold_the_exit(svc, monkeypatch) -> None:
    from loadmon.daemon import Daemon

    entered, release = threading.Event(), threading.Event()

    def deliver_due(service):  # a stuck unit of work: ignores the stop flag
        entered.set()
        release.wait(30)
        return DeliveryCounts()

    _fake_module(monkeypatch, "alerting", deliver_due=deliver_due, evaluate=lambda service, ids: {})
    daemon = Daemon(svc, stop_timeout_s=0.5)
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(daemon.run()), daemon=True)
    thread.start()
    try:
        assert entered.wait(20)
        daemon.request_stop("test")
        thread.join(timeout=15)
        assert not thread.is_alive() and codes == [0]
        assert daemon.forced is True  # the CLI then exits without waiting for the stuck thread
    finally:
        release.set()


def test_the_sync_job_logs_each_skipped_strava_activity(svc, monkeypatch) -> None:
    """The sync itself only counts a skipped activity (the CLI prints it under its summary); the
    daemon's job logs each one, with the backfill it continued, as `strava.activity.skipped`."""
    from loadmon.service.strava.records import BackfillResult, RunCounts, SkippedItem, SyncResult

    def item(activity_id: int) -> SkippedItem:
        return SkippedItem(activity_id=activity_id, reason="ImplausibleValueError",
                           error=f"strava activity {activity_id}: elapsed_time_s = 1000000000 is not plausible")

    now = datetime.now(UTC)
    continued = BackfillResult(athlete="a", counts=RunCounts(skipped=(item(12),)), done=True, stopped=False,
                               cursor=now, resume_at=None, message=None, waits=0, waited_s=0.0, total_listed=1)
    result = SyncResult(athlete="a", counts=RunCounts(skipped=(item(11),)), window_start=now, listed_from=now,
                        complete=True, backfill=continued, alerts={})
    _fake_module(monkeypatch, "strava_sync", sync=lambda s, a, wait=False: result)
    athlete = svc.add_athlete("a")
    svc.store.save_strava_tokens(athlete.id, strava_athlete_id=101, access_token="t", refresh_token="r",
                                 expires_at=datetime(2030, 1, 1, tzinfo=UTC), scope="activity:read_all")
    stream = io.StringIO()
    configure_logging(json=True, level="info", stream=stream)
    try:
        jobs.sync_athlete(svc, athlete.id)
    finally:
        configure_logging()
    skipped = [json.loads(line) for line in stream.getvalue().splitlines() if "strava.activity.skipped" in line]
    assert [(e["activity_id"], e["level"]) for e in skipped] == [(11, "warning"), (12, "warning")]
    assert all("is not plausible" in e["error"] for e in skipped)
