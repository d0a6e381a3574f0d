"""GPX and TCX files written from a :class:`connectors.fit.factory.RunSpec`: the same run as the FIT factory
writes (same times, altitudes and heart rates), on a straight line north so its great-circle length is the
spec's distance."""

from __future__ import annotations

from datetime import UTC, timedelta

from connectors.fit.factory import RunSpec

LAT0, LON0 = 47.0, 8.0
M_PER_DEGREE = 6_371_008.8 * 3.141592653589793 / 180.0


def _points(spec: RunSpec):
    offsets = spec.record_offsets()
    n = len(offsets)
    for i, off in enumerate(offsets):
        frac = off / spec.duration_s
        when = (spec.start + timedelta(seconds=off)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        yield when, LAT0 + frac * spec.distance_m / M_PER_DEGREE, spec.altitude_at(frac), spec.heart_rate_at(i, n), frac


def gpx_bytes(spec: RunSpec, *, sport: str = "running") -> bytes:
    pts = []
    for when, lat, ele, hr, _ in _points(spec):
        ele_xml = f"<ele>{ele:.2f}</ele>" if ele is not None else ""
        hr_xml = (
            (f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions>")
            if hr is not None
            else ""
        )
        pts.append(f'<trkpt lat="{lat:.7f}" lon="{LON0:.7f}">{ele_xml}<time>{when}</time>{hr_xml}</trkpt>')
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="loadmon tests" '
        'xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>generated run</name><type>{sport}</type><trkseg>{''.join(pts)}</trkseg></trk></gpx>"
    ).encode()


def tcx_bytes(spec: RunSpec, *, sport: str = "Running") -> bytes:
    pts = []
    for when, lat, ele, hr, frac in _points(spec):
        ele_xml = f"<AltitudeMeters>{ele:.2f}</AltitudeMeters>" if ele is not None else ""
        hr_xml = f"<HeartRateBpm><Value>{hr}</Value></HeartRateBpm>" if hr is not None else ""
        pts.append(
            f"<Trackpoint><Time>{when}</Time><Position><LatitudeDegrees>{lat:.7f}</LatitudeDegrees>"
            f"<LongitudeDegrees>{LON0:.7f}</LongitudeDegrees></Position>{ele_xml}"
            f"<DistanceMeters>{frac * spec.distance_m:.2f}</DistanceMeters>{hr_xml}</Trackpoint>"
        )
    start = spec.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
        'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"><Activities>'
        f'<Activity Sport="{sport}"><Id>{start}</Id><Lap StartTime="{start}">'
        f"<TotalTimeSeconds>{spec.duration_s}</TotalTimeSeconds><DistanceMeters>{spec.distance_m:.2f}</DistanceMeters>"
        f"<Track>{''.join(pts)}</Track></Lap><Creator><Name>loadmon tests</Name></Creator></Activity>"
        "</Activities></TrainingCenterDatabase>"
    ).encode()
