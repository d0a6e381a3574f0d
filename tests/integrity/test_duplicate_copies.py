"""The same run stored twice within one source (issue 10 item 2): the copy must not double the
load, and the genuine file must count whichever order the copies are imported in.

The FIT files are real ones written by the project's encoder: the genuine recording (serial
number, heart rate, altitude), a copy re-saved by another program (no serial number, start 1 s
later, same distance and time) and a damaged but CRC-valid copy (heart rate and altitude lost),
either keeping the file id (same serial: the same source id) or losing it too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.fit.factory import RunSpec, encode_activity
from loadmon.service import Service
from loadmon.service.imports import import_paths
from loadmon.service.load import status

HILL = [(0.0, 100.0), (0.5, 160.0), (1.0, 100.0)]


def _start() -> datetime:
    return (datetime.now(UTC) - timedelta(days=2)).replace(hour=7, minute=0, second=0, microsecond=0)


def _genuine(start: datetime) -> RunSpec:
    return RunSpec(start=start, distance_m=10_000, duration_s=3000, avg_hr=150, max_hr=172, altitude_profile=HILL,
                   serial=1001, record_interval_s=5)


def _write(folder: Path, name: str, spec: RunSpec) -> Path:
    path = folder / name
    path.write_bytes(encode_activity(spec))
    return path


@pytest.fixture
def svc(open_service, store_url):
    return open_service(store_url)


def _import(svc: Service, paths: list[Path]) -> list[str]:
    athlete = svc.athlete()
    return [import_paths(svc, athlete, [p]).files[0].outcome for p in paths]


def _counted(svc: Service):
    acts = svc.store.list_activities(svc.athlete().id)
    return acts, [a for a in acts if a.duplicate_of is None and not a.excluded]


def _week_km(svc: Service) -> float:
    return status(svc, svc.athlete())["channels"]["distance_km"]["acute_7d"]


@pytest.mark.parametrize("resaved_first", [False, True], ids=["genuine-first", "resaved-first"])
def test_a_resaved_copy_is_linked_and_the_week_counts_the_run_once(svc, tmp_path, resaved_first) -> None:
    start = _start()
    genuine = _write(tmp_path, "genuine.fit", _genuine(start))
    resaved = _write(tmp_path, "resaved.fit", RunSpec(start=start + timedelta(seconds=1), distance_m=10_000,
                                                      duration_s=3000, avg_hr=150, max_hr=172, altitude_profile=HILL,
                                                      serial=None, record_interval_s=5))
    order = [resaved, genuine] if resaved_first else [genuine, resaved]
    assert _import(svc, order) == ["imported", "imported"]  # both kept
    acts, counted = _counted(svc)
    assert len(acts) == 2
    assert len(counted) == 1 and counted[0].external_id.endswith("genuine.fit")  # the file with the serial number
    (copy,) = [a for a in acts if a.id != counted[0].id]
    assert copy.duplicate_of == counted[0].id
    assert _week_km(svc) == pytest.approx(10.0, abs=0.01)


@pytest.mark.parametrize("keeps_file_id", [True, False], ids=["same-serial", "file-id-lost"])
@pytest.mark.parametrize("damaged_first", [True, False], ids=["damaged-first", "genuine-first"])
@pytest.mark.slow
def test_the_genuine_file_wins_over_a_damaged_copy_in_either_order(svc, tmp_path, keeps_file_id, damaged_first) -> None:
    start = _start()
    genuine = _write(tmp_path, "genuine.fit", _genuine(start))
    damaged_spec = RunSpec(start=start if keeps_file_id else start + timedelta(seconds=1), distance_m=10_000,
                           duration_s=3000, avg_hr=None, max_hr=None, altitude_profile=None,
                           serial=1001 if keeps_file_id else None, record_interval_s=5)
    damaged = _write(tmp_path, "damaged.fit", damaged_spec)
    order = [damaged, genuine] if damaged_first else [genuine, damaged]
    outcomes = _import(svc, order)
    assert outcomes[0] == "imported"
    acts, counted = _counted(svc)
    assert len(counted) == 1
    run = counted[0]
    assert (run.avg_hr, run.max_hr) == (150, 172)
    assert run.elevation_loss_m == pytest.approx(60, abs=2)
    assert len(acts) == (1 if keeps_file_id else 2)
    assert _week_km(svc) == pytest.approx(10.0, abs=0.01)
    # importing the damaged copy again changes nothing
    assert _import(svc, [damaged]) == ["duplicate"]
    assert _counted(svc)[1][0].avg_hr == 150


def test_a_different_run_at_the_same_time_is_not_a_copy(svc, tmp_path) -> None:
    start = _start()
    a = _write(tmp_path, "a.fit", _genuine(start))
    b = _write(tmp_path, "b.fit", RunSpec(start=start + timedelta(seconds=20), distance_m=10_500, duration_s=3000,
                                          serial=2002, record_interval_s=5))  # 5 % longer
    c = _write(tmp_path, "c.fit", RunSpec(start=start + timedelta(seconds=90), distance_m=10_000, duration_s=3000,
                                          serial=3003, record_interval_s=5))  # 90 s later
    _import(svc, [a, b, c])
    acts, counted = _counted(svc)
    assert len(acts) == len(counted) == 3
