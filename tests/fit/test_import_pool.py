"""`[fit] workers`: files decoded in a process pool, stored in order by the importing process. The result (stored
activities, import log, the summary's file list) is the one-process import's, also after a worker crash."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import loadmon.service.import_pool as import_pool
from connectors.fit.factory import RunSpec, encode_activity, encode_settings_file
from loadmon.errors import ConfigError
from loadmon.service import Service
from loadmon.service.imports import import_paths
from tests.conftest import make_config
from tests.tracks.trackgen import gpx_bytes, tcx_bytes

START = datetime(2025, 4, 1, 6, 30, tzinfo=UTC)


def run(i: int, **kw) -> RunSpec:
    spec = dict(
        start=START + timedelta(days=i),
        distance_m=4000.0 + 100 * i,
        duration_s=1200,
        record_interval_s=5,
        altitude_profile=[(0.0, 200.0), (0.5, 240.0 + i), (1.0, 200.0)],
        serial=100 + i,
    )
    spec.update(kw)
    return RunSpec(**spec)


def mixed_batch(folder: Path) -> list[Path]:
    """Good FIT files, GPX, TCX, a zip, a corrupt file, an implausible one, a copy, a settings file."""
    folder.mkdir()
    for i in range(10):
        (folder / f"a_run_{i:02d}.fit").write_bytes(encode_activity(run(i)))
    shutil.copy(folder / "a_run_01.fit", folder / "a_run_01_copy.fit")  # a copy read while its original waits
    shutil.copy(folder / "a_run_03.fit", folder / "b_copy_of_run_03.fit")  # a duplicate in the same import
    (folder / "c_broken.fit").write_bytes(b"\x0e\x10not a fit file at all" * 20)
    (folder / "d_settings.fit").write_bytes(encode_settings_file())  # valid, not an activity: skipped
    (folder / "e_absurd.fit").write_bytes(encode_activity(run(20, distance_m=42_949_000.0, duration_s=86_400, record_interval_s=3600)))
    (folder / "f_run.gpx").write_bytes(gpx_bytes(run(30)))
    (folder / "g_run.tcx").write_bytes(tcx_bytes(run(31)))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export/one.fit", encode_activity(run(40)))
        archive.writestr("export/two.fit", encode_activity(run(41)))
        archive.writestr("export/again_run_05.fit", (folder / "a_run_05.fit").read_bytes())
    (folder / "h_export.zip").write_bytes(buffer.getvalue())
    for i in range(50, 56):  # after the zip: files in flight behind the failures and duplicates
        (folder / f"i_run_{i}.fit").write_bytes(encode_activity(run(i)))
    earlier = folder.parent / f"{folder.name}_earlier.fit"  # imported before: a duplicate by the import log
    earlier.write_bytes((folder / "a_run_07.fit").read_bytes())
    return [earlier, folder, folder / "missing.fit"]


def import_into(tmp_path: Path, label: str, paths: list[Path], workers: int, monkeypatch) -> dict:
    (tmp_path / label).mkdir()
    monkeypatch.setenv("LOADMON_DATA_DIR", str(tmp_path / label / "data"))
    svc = Service.open(
        make_config(tmp_path / label, f"sqlite:///{tmp_path / label / 'db.sqlite'}"), clock=lambda: datetime(2026, 1, 1, tzinfo=UTC)
    )
    try:
        athlete = svc.athlete(None)
        first = import_paths(svc, athlete, paths[:1], workers=workers)
        summary = import_paths(svc, athlete, paths[1:], workers=workers)
        log = [{k: v for k, v in row.items() if k != "created_at"} for row in svc.store.import_log(athlete.id, limit=1000)]
        return {
            "files": first.files + summary.files,
            "summary": summary.as_dict(),
            "ids": summary.activity_ids,
            "athletes": summary.athlete_ids,
            "log": log,
            "activities": svc.store.list_activities(athlete.id),
        }
    finally:
        svc.close()


class CountingPool(ProcessPoolExecutor):
    started = 0

    def __init__(self, *args, **kw) -> None:
        CountingPool.started += 1
        super().__init__(*args, **kw)


def crash_on_marked_files() -> None:
    """The worker hook of the crash test: in the worker process, decoding a file named *crash* kills the process."""
    original = import_pool.decode

    def crashing(job: import_pool.DecodeJob) -> import_pool.Decoded:
        if "crash" in job.name:
            os._exit(13)
        return original(job)

    import_pool.decode = crashing


@pytest.mark.slow
def test_the_pool_imports_what_one_process_imports(tmp_path: Path, monkeypatch) -> None:
    paths = mixed_batch(tmp_path / "batch")
    serial = import_into(tmp_path, "serial", paths, 1, monkeypatch)
    CountingPool.started = 0
    monkeypatch.setattr(import_pool, "ProcessPoolExecutor", CountingPool)
    parallel = import_into(tmp_path, "parallel", paths, 2, monkeypatch)
    assert CountingPool.started == 1  # the pool did run (the earlier one-file import without it)
    assert parallel == serial
    outcomes = [f.outcome for f in serial["files"]]
    assert outcomes.count("imported") == 20 and outcomes.count("duplicate") == 4
    # the settings file is not an activity (counted apart), the others fail: broken, absurd, missing
    assert outcomes.count("not_activity") == 1 and outcomes.count("failed") == 3
    assert len(serial["activities"]) == 20


@pytest.mark.slow
def test_a_worker_crash_loses_no_file(tmp_path: Path, monkeypatch) -> None:
    paths = mixed_batch(tmp_path / "batch")
    shutil.copy(tmp_path / "batch" / "a_run_08.fit", tmp_path / "batch" / "a_run_08_crash.fit")  # a copy: a duplicate
    (tmp_path / "batch" / "a_run_09_crash.fit").write_bytes(encode_activity(run(60)))
    serial = import_into(tmp_path, "serial", paths, 1, monkeypatch)
    monkeypatch.setattr(import_pool, "worker_hook", crash_on_marked_files)
    warnings: list[dict] = []
    monkeypatch.setattr(import_pool, "log", _Recorder(warnings))
    parallel = import_into(tmp_path, "parallel", paths, 2, monkeypatch)
    assert parallel == serial
    assert len(serial["activities"]) == 21
    assert [w["event"] for w in warnings] == ["import.pool", "import.pool_broken"]  # said once, then one process


class _Recorder:
    def __init__(self, into: list[dict]) -> None:
        self.into = into

    def warning(self, event: str, **kw) -> None:
        self.into.append({"event": event, **kw})

    def debug(self, event: str, **kw) -> None:
        self.into.append({"event": event, **kw})


def test_a_small_import_starts_no_pool(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(7):  # fewer than MIN_FILES_PER_WORKER x 2 workers (16)
        (folder / f"run_{i}.fit").write_bytes(encode_activity(run(i)))
    shutil.copy(folder / "run_2.fit", folder / "run_2_copy.fit")
    monkeypatch.setattr(import_pool, "ProcessPoolExecutor", None)  # starting one would fail
    result = import_into(tmp_path, "small", [folder / "run_0.fit", folder], 2, monkeypatch)
    assert [f.outcome for f in result["files"]] == ["imported"] + ["duplicate"] + ["imported"] * 2 + ["duplicate"] + ["imported"] * 4
    assert len(result["activities"]) == 7


def test_workers_default_to_the_cpus_and_are_checked(tmp_path: Path) -> None:
    assert import_pool.resolve_workers(0) == import_pool.cpu_count() >= 1
    assert import_pool.resolve_workers(3) == 3
    assert make_config(tmp_path).fit.workers == 0
    with pytest.raises(ConfigError, match="fit.workers"):
        make_config(tmp_path, fit={"workers": -1})
