"""What a command prints, and where: results on stdout, per-file failures and logs on stderr (logs only
with --verbose), whole lines when piped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from connectors.fit.factory import RunSpec, encode_activity

UTC = UTC


def test_an_empty_status_says_how_to_start(cli) -> None:
    res = cli("status")
    assert res.exit_code == 0, res.output
    assert "no runs yet: import your runs with `loadmon import PATH`" in res.stdout
    assert "┃" not in res.stdout  # no table of dashes


def test_an_empty_activities_list_says_how_to_start(cli) -> None:
    res = cli("activities")
    assert "no activities of me yet: import your runs with `loadmon import PATH`" in res.stdout


def test_one_athlete_is_singular(cli) -> None:
    cli("athlete", "add", "ann")
    assert "1 athlete on" in cli("club", "status").stdout
    cli("athlete", "add", "bob")
    assert "2 athletes on" in cli("club", "status").stdout


def test_per_file_failures_go_to_stderr_on_one_line(cli, tmp_path) -> None:
    folder = tmp_path / ("a-rather-long-folder-name-" * 6)
    folder.mkdir()
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    (folder / "good.fit").write_bytes(encode_activity(RunSpec(start=start, distance_m=5000, duration_s=1800)))
    (folder / "broken.fit").write_bytes(b"\x0e\x10this is not a FIT file at all")
    res = cli("import", "--no-alerts", str(folder))
    assert res.exit_code == 1
    assert "1 failed" in res.stdout and "broken.fit" not in res.stdout
    (line,) = [ln for ln in res.stderr.splitlines() if "broken.fit" in ln]
    assert line.startswith("  failed ") and len(line) > 160  # the whole path, not wrapped at the console width


def _failed_delivery(cli) -> None:
    store = cli.store()
    try:
        athlete = store.ensure_athlete("me")
        now = datetime.now(UTC)
        alert = store.add_alert(athlete.id, rule="acwr", severity="warning", local_date=now.date(), activity_id=None,
                                dedupe_key="d1", message="m", payload={}, notified=True, channels=["push[0]"], now=now)
        (row,) = store.claim_due_deliveries(now, lease_s=60)
        assert row.alert_id == alert
        store.finish_delivery(row.id, state="failed", attempts=16, now=now, error="gone")
    finally:
        store.close()


def test_info_logs_only_with_verbose(cli) -> None:
    _failed_delivery(cli)
    quiet = cli("alerts", "deliver", "--retry-failed")
    assert "1 failed deliveries put back in the outbox" in quiet.stdout
    assert "alert.deliveries_requeued" not in quiet.output
    # push[0] is not configured, so the row failed again at once: put it back once more, with --verbose
    loud = cli("-v", "alerts", "deliver", "--retry-failed")
    assert "1 failed deliveries put back in the outbox" in loud.stdout
    assert "alert.deliveries_requeued" in loud.stderr and "alert.deliveries_requeued" not in loud.stdout


def test_a_dropped_value_is_noted_once_on_stderr(cli, tmp_path) -> None:
    """A value dropped as implausible (max HR 254) is one `note` line on stderr, not that line and
    a warning log line repeating it (the daemon's watch job logs it instead)."""
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    path = tmp_path / "hr254.fit"
    path.write_bytes(encode_activity(RunSpec(start=start, distance_m=5000, duration_s=1800,
                                             session_fields={"max_heart_rate": 254})))
    res = cli("import", "--no-alerts", str(path))
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if "max_hr = 254" in ln]
    assert len(lines) == 1 and lines[0].startswith("  note "), res.stderr
    assert "max_hr" not in res.stdout
