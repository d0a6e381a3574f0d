"""Steep descent (metres at a grade of -8 % or steeper) from distance + altitude samples."""

from __future__ import annotations

import pytest

from loadmon.elevation import STEEP_GRADE, gain_loss, steep_descent


def profile(*legs: tuple[float, float], step_m: float = 2.5, start_alt: float = 500.0) -> list[tuple[float, float]]:
    """Samples every ``step_m`` (1 Hz at 9 km/h) along legs of (length m, grade), e.g. (500, -0.10)."""
    points = [(0.0, start_alt)]
    dist, alt = 0.0, start_alt
    for length, grade in legs:
        for _ in range(round(length / step_m)):
            dist += step_m
            alt += grade * step_m
            points.append((dist, alt))
    return points


def test_a_steady_10_percent_descent_is_all_steep() -> None:
    assert steep_descent(profile((1000, -0.10))) == pytest.approx(100.0)


def test_gentle_descent_flat_and_climbs_are_not_steep() -> None:
    assert steep_descent(profile((1000, -0.05))) == 0.0
    assert steep_descent(profile((1000, 0.0))) == 0.0
    assert steep_descent(profile((1000, 0.12))) == 0.0


def test_exactly_the_threshold_grade_counts() -> None:
    assert STEEP_GRADE == -0.08
    assert steep_descent(profile((1000, -0.08))) == pytest.approx(80.0)


def test_only_the_steep_part_of_a_mixed_descent_counts() -> None:
    points = profile((1000, 0.10), (500, -0.12), (500, -0.04), (1000, 0.0))
    # 500 m at -12 % (60 m), not the 20 m at -4 %; the smoothing rounds the grade changes off by a metre or two
    assert steep_descent(points) == pytest.approx(60.0, abs=3.0)
    _gain, loss = gain_loss([a for _, a in points])
    assert loss == pytest.approx(80.0, abs=2.0)  # the whole descent (60 + 20 m), for comparison


def test_gps_jitter_within_a_stretch_does_not_make_a_flat_run_steep() -> None:
    # a flat run whose altitude jitters +-1.5 m every sample (1 m apart): one-sample grades of 150 %
    points = [(float(i), 100.0 + (1.5 if i % 2 else -1.5)) for i in range(2000)]
    assert steep_descent(points) == 0.0


def test_missing_samples_are_skipped_and_no_stream_gives_none() -> None:
    points = profile((1000, -0.10))
    holed = [(d, None) if i % 7 == 3 else (None, a) if i % 11 == 5 else (d, a) for i, (d, a) in enumerate(points)]
    assert steep_descent(holed) == pytest.approx(100.0, abs=2.0)
    assert steep_descent([]) is None
    assert steep_descent([(0.0, None), (10.0, None)]) is None  # a treadmill: distance, no altitude
    assert steep_descent([(None, 100.0), (None, 90.0)]) is None  # altitude, no distance
    assert steep_descent([(0.0, -500.0), (100.0, -500.0)]) is None  # FIT's invalid-altitude sentinel


def test_a_distance_reset_starts_a_new_stretch() -> None:
    first = profile((500, -0.10))
    second = [(d, a - 50.0) for d, a in profile((500, -0.10))]  # distance restarts at 0 (a new lap counter)
    assert steep_descent(first + second) == pytest.approx(100.0, abs=2.0)
