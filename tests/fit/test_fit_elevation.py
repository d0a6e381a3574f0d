"""loadmon.elevation.gain_loss: smoothing + hysteresis, sentinels, and the README's 3 m numbers."""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fitdecode
import pytest

from loadmon.elevation import gain_loss, smooth


def test_straight_climb_keeps_its_full_height() -> None:
    assert gain_loss([float(i) for i in range(101)]) == (100.0, 0.0)
    assert gain_loss([float(100 - i) for i in range(101)]) == (0.0, 100.0)


def test_quantisation_jitter_is_not_climbing() -> None:
    # a barometer flickering by one 0.2 m step for an hour of 1 Hz samples
    assert gain_loss([100.0 + 0.2 * (i % 2) for i in range(3600)]) == (0.0, 0.0)
    # ... which raw differences would count as 360 m of climbing
    assert gain_loss([100.0 + 0.2 * (i % 2) for i in range(3600)], 0.0, smoothing_samples=1)[0] == pytest.approx(360.0)


def test_missing_and_sentinel_samples_are_skipped() -> None:
    series: list[float | None] = [-500.0, None, 225.0, float("nan"), 230.0, 240.0, None, 250.0]
    assert gain_loss(series, smoothing_samples=1) == (25.0, 0.0)
    assert gain_loss([]) == (0.0, 0.0)
    assert gain_loss([None, 10.0]) == (0.0, 0.0)


def test_smooth_is_a_centred_mean_that_keeps_the_ends() -> None:
    assert smooth([0.0, 0.0, 9.0, 0.0, 0.0], 3) == [0.0, 3.0, 3.0, 3.0, 0.0]
    assert smooth([1.0, 5.0], 9) == [1.0, 5.0]


def test_a_sine_hill_is_counted_once_per_side() -> None:
    series = [50.0 * math.sin(math.pi * i / 600) for i in range(601)]  # 0 -> 50 -> 0 m
    gain, loss = gain_loss(series)
    # hysteresis may leave up to one threshold (1 m) uncounted at each turning point
    assert gain == pytest.approx(50.0, abs=1.0)
    assert loss == pytest.approx(50.0, abs=1.0)
    assert gain + loss > 98.0


@pytest.fixture(scope="module")
def fitdecode_altitudes(shared_fixtures: Path) -> Callable[[str], list[Any]]:
    def read(file_name: str) -> list[Any]:
        values = []
        data = (shared_fixtures / "fit" / file_name).read_bytes()
        with fitdecode.FitReader(io.BytesIO(data)) as reader:
            for frame in reader:
                if frame.frame_type == fitdecode.FIT_FRAME_DATA and frame.name == "record":
                    value = frame.get_value("enhanced_altitude", fallback=None)
                    values.append(value if value is not None else frame.get_value("altitude", fallback=None))
        return values

    return read


@pytest.mark.parametrize("file_name", ["run_fr110_hilly_4.8km.fit", "run_fr645m_hilly_5.8km.fit"])
def test_without_smoothing_it_reproduces_the_readmes_raw_and_3m_numbers(
    fitdecode_altitudes: Callable[[str], list[Any]], shared_fixtures: Path, file_name: str
) -> None:
    import json

    entry = {e["file"]: e for e in json.loads((shared_fixtures / "fit" / "catalog.json").read_text())}[file_name]
    altitudes = fitdecode_altitudes(file_name)
    assert gain_loss(altitudes, 0.0, smoothing_samples=1) == pytest.approx(
        (entry["stream_gain_raw_m"], entry["stream_loss_raw_m"]), abs=0.05
    )
    assert gain_loss(altitudes, 3.0, smoothing_samples=1) == pytest.approx(
        (entry["stream_gain_hyst3_m"], entry["stream_loss_hyst3_m"]), abs=0.05
    )
