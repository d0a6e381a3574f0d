"""read_track on the 18 real GPX/TCX files in ../shared/fixtures (catalog.json gives the reference figures).

Distance: a file that states its own (TCX laps, a cumulative per-point distance, OpenTracks' track stats) is
taken at its word; otherwise the great-circle sum must be within 1 % of the catalog's independent haversine
sum. Descent is unknown (None) without elevation, never 0. Broken XML as real exports write it is read with a
warning; a route without times and an empty track are skipped, never stored.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.tracks import read_track
from loadmon.domain import ElevationSource
from loadmon.errors import CorruptFileError, ImplausibleValueError


def _catalog(root: Path, kind: str) -> dict[str, dict]:
    return {c["file"]: c for c in json.loads((root / kind / "catalog.json").read_text(encoding="utf-8"))}


def _read(root: Path, kind: str, name: str):
    return read_track((root / kind / name).read_bytes(), name=name, kind=kind)


GPX_RUNS = [
    "run_strava_android_hr_cad.gpx",
    "run_garmin_connect_hr_cad_atemp.gpx",
    "run_amazfit_hr.gpx",
    "invalid_xml_unbound_prefix_strava_mapstogpx_fartlek.gpx",
]


@pytest.mark.parametrize("name", GPX_RUNS)
def test_gpx_runs_distance_within_1_percent_of_the_haversine_sum(shared_fixtures, name) -> None:
    cat = _catalog(shared_fixtures, "gpx")[name]
    (run,) = _read(shared_fixtures, "gpx", name).activities
    assert run.sport == "running"  # "running", "Running" or Strava's code 9
    assert run.distance_m == pytest.approx(cat["distance_m_haversine"], rel=0.01)
    assert run.start_time.isoformat().replace("+00:00", "Z")[:19] == cat["first_time"][:19]
    assert run.elapsed_time_s is not None and run.moving_time_s is not None
    assert 0 < run.moving_time_s <= run.elapsed_time_s
    assert run.elevation_source == ElevationSource.COMPUTED and run.elevation_loss_m is not None
    assert (run.avg_hr is not None) == cat["has_hr"]


def test_the_undeclared_prefix_of_a_strava_export_is_repaired_with_a_warning(shared_fixtures) -> None:
    result = _read(shared_fixtures, "gpx", "invalid_xml_unbound_prefix_strava_mapstogpx_fartlek.gpx")
    assert any("gpxdata" in w and "never declared" in w for w in result.warnings)
    (run,) = result.activities
    assert run.distance_m == pytest.approx(16738.8, rel=0.01) and run.elevation_loss_m == pytest.approx(566.2, rel=0.1)


@pytest.mark.slow
def test_a_file_stating_its_own_distance_is_taken_at_its_word(shared_fixtures) -> None:
    (trail,) = _read(shared_fixtures, "gpx", "trailrun_suunto_movescount_hr_cad_baro.gpx").activities
    # the watch's cumulative distance (last minus first point), 1.7 % under the haversine sum
    assert trail.distance_m == pytest.approx(12052.0, abs=1)
    assert trail.elevation_loss_m == pytest.approx(541.2, rel=0.1)  # the catalog's 3 m hysteresis figure
    tcx = _catalog(shared_fixtures, "tcx")
    for name in (
        "run_vivoactive3_3laps_hr_cad.tcx",
        "run_fr15_10k_no_altitude_no_hr.tcx",
        "run_strava_export_hilly_no_creator.tcx",
        "run_fr945_indoor_no_gps_no_altitude.tcx",
    ):
        (run,) = _read(shared_fixtures, "tcx", name).activities
        assert run.sport == "running" and run.distance_m == pytest.approx(tcx[name]["distance_m_in_file"], abs=1)


def test_no_elevation_means_unknown_descent_not_zero(shared_fixtures) -> None:
    (track,) = _read(shared_fixtures, "gpx", "track_no_elevation_8_tracks.gpx").activities
    assert track.elevation_loss_m is None and track.elevation_source == ElevationSource.NONE
    assert track.distance_m == pytest.approx(4575.0, rel=0.01)  # 8 tracks: no distance across their gaps
    (indoor,) = _read(shared_fixtures, "tcx", "run_fr945_indoor_no_gps_no_altitude.tcx").activities
    assert indoor.elevation_loss_m is None and indoor.avg_hr is not None


def test_partial_timestamps_give_a_start_and_an_unknown_duration(shared_fixtures) -> None:
    result = _read(shared_fixtures, "gpx", "track_partial_timestamps_8_tracks.gpx")
    (track,) = result.activities
    assert track.elapsed_time_s is None and track.moving_time_s is None and track.start_time is not None
    assert any("only 5 of 296 points have a time" in w for w in result.warnings)
    assert track.sport == "generic" and any("no sport in the file" in n for n in result.notices)


def test_routes_and_empty_tracks_are_skipped_with_their_reason(shared_fixtures) -> None:
    route = _read(shared_fixtures, "gpx", "ride_mapmyfitness_route_no_time_no_elevation.gpx")
    assert route.activities == () and "no times" in (route.skipped_reason or "")
    empty = _read(shared_fixtures, "gpx", "empty_track_osmand.gpx")
    assert empty.activities == () and "no track points" in (empty.skipped_reason or "")


def test_the_synthetic_opentracks_jump_is_refused_as_implausible(shared_fixtures) -> None:
    # its track stats say 222 km in 26 s (a 2-degree jump between segments): refused, naming the file
    with pytest.raises(ImplausibleValueError) as caught:
        _read(shared_fixtures, "gpx", "opentracks_synthetic_3_segments_hr_cad_power.gpx")
    assert "opentracks_synthetic" in str(caught.value) and caught.value.field


def test_one_tcx_with_four_activities_gives_four(shared_fixtures) -> None:
    result = _read(shared_fixtures, "tcx", "multi_activity_fr305_2runs_2indoor_rides.tcx")
    detail = _catalog(shared_fixtures, "tcx")["multi_activity_fr305_2runs_2indoor_rides.tcx"]["activities_detail"]
    got = [(a.sport, a.start_time.isoformat()[:19], a.distance_m) for a in result.activities]
    want = [("running" if d["sport"] == "Running" else "cycling", d["first_time"][:19], d["lap_distance_sum_m"] or None) for d in detail]
    assert [(s, t) for s, t, _ in got] == [(s, t) for s, t, _ in want]
    for (_, _, d), (_, _, w) in zip(got, want):
        assert (d is None and w is None) or d == pytest.approx(w, abs=0.01)
    assert len({a.source_id for a in result.activities}) == 4
    rides = [a for a in result.activities if a.sport == "cycling"]
    assert all(r.moving_time_s == r.elapsed_time_s for r in rides)  # indoor, no distance: no pause can be seen


def test_text_before_the_declaration_is_removed_and_bad_xml_is_named(shared_fixtures) -> None:
    result = _read(shared_fixtures, "tcx", "invalid_xml_whitespace_before_declaration_polar_v800.tcx")
    assert len(result.activities) == 1 and "text before the XML declaration removed" in result.warnings
    with pytest.raises(CorruptFileError) as caught:
        read_track(b"<gpx><trk><trkseg><trkpt lat='1' lon='2'></trk></gpx>", name="cut.gpx", kind="gpx")
    assert caught.value.path == "cut.gpx" and "line 1" in caught.value.problem
    with pytest.raises(CorruptFileError, match="DTD or entities"):
        read_track(b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "x">]><gpx>&a;</gpx>', name="bomb.gpx", kind="gpx")
    with pytest.raises(CorruptFileError, match="not a TCX file"):
        read_track(b"<gpx/>", name="wrong.tcx", kind="tcx")


@pytest.mark.slow
def test_every_fixture_file_has_an_outcome_and_none_raises_anything_else(shared_fixtures) -> None:
    outcomes = {}
    for kind in ("gpx", "tcx"):
        for path in sorted((shared_fixtures / kind).glob(f"*.{kind}")):
            try:
                result = read_track(path.read_bytes(), name=path.name, kind=kind)
            except (CorruptFileError, ImplausibleValueError) as exc:
                outcomes[path.name] = f"failed: {type(exc).__name__}"
                continue
            outcomes[path.name] = f"{len(result.activities)} activities" if result.activities else "skipped"
    assert len(outcomes) == 18
    assert sum(v.endswith("activities") for v in outcomes.values()) == 15, outcomes
