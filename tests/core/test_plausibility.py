"""The guards behind the plausibility bounds (issue 11 item 2): ActivityRecord (everything the store
and so the engine gets from a connector) refuses NaN and infinity, ``--json`` never prints ``Infinity``, and docs/fit.md shows the bounds table that
connectors/plausibility.py defines (one source of truth)."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from connectors.plausibility import BOUNDS, check_activity, climb_limit_m
from loadmon.cli.app import print_json
from loadmon.domain import ActivityRecord, ElevationSource
from loadmon.errors import ImplausibleValueError

START = datetime(2026, 5, 1, 7, 0, tzinfo=UTC)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "fit.md"


def record(**fields) -> ActivityRecord:
    return ActivityRecord(**({"source": "fit", "source_id": 7, "sport": "running", "start_time": START,
                              "distance_m": 10_000.0, "elapsed_time_s": 3_000.0} | fields))


@pytest.mark.parametrize("field", ["distance_m", "elapsed_time_s", "moving_time_s", "elevation_gain_m",
                                   "elevation_loss_m", "steep_descent_m", "perceived_exertion"])
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan])
def test_records_for_the_store_and_engine_refuse_non_finite_numbers(field: str, value: float) -> None:
    assert getattr(record(**{field: 12.5}), field) == 12.5
    with pytest.raises(ImplausibleValueError) as caught:
        record(**{field: value})
    assert (caught.value.source, caught.value.field) == ("fit activity 7", field)


def test_json_output_never_prints_infinity(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"ratio": math.inf, "rows": [{"x": -math.inf, "y": math.nan, "z": 1.5}], "when": date(2026, 5, 1)})
    out = capsys.readouterr().out
    assert "Infinity" not in out and "NaN" not in out
    assert json.loads(out) == {"ratio": None, "rows": [{"x": None, "y": None, "z": 1.5}], "when": "2026-05-01"}


def test_descent_per_km_and_the_one_km_floor() -> None:
    assert climb_limit_m("running", 1_000.0) == climb_limit_m("running", 10.0) == 500.0
    assert climb_limit_m("running", 20_000.0) == 10_000.0
    assert climb_limit_m("cycling", 20_000.0) == 20_000.0
    kept, warnings = check_activity(record(elevation_loss_m=499.0, distance_m=1_000.0, elapsed_time_s=400.0),
                                    source="x.fit", now=START)
    assert kept.elevation_loss_m == 499.0 and not warnings
    dropped, (warning,) = check_activity(record(elevation_loss_m=501.0, elevation_gain_m=0.0, distance_m=1_000.0,
                                                elapsed_time_s=400.0, elevation_source=ElevationSource.DEVICE),
                                         source="x.fit", now=START)
    assert dropped.elevation_loss_m is None and dropped.elevation_gain_m == 0.0
    assert warning == "x.fit: elevation_loss_m = 501 is not plausible (allowed: 0 .. 500 m for 1,000 m of running); dropped"


def test_docs_show_the_bounds_table() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for bound in BOUNDS:
        assert f"| `{bound.field}` | {bound.allowed} | {bound.effect} |" in text, bound.field
