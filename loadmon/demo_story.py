"""The demo's sample history: the runner of loadmon's story, as FIT files the project writes itself.

Ten weeks of easy running (about 25 km a week, a little hill now and then); then the club:
long runs on Wednesdays and Sundays plus a Saturday 5 km, so the weekly distance ramps; then
a long, hard, hilly Sunday run with a big descent; lateral knee pain logged the next day; a
hilly run two days after that, and the knee worse the morning after it. Dates are relative to ``end`` (the story's last day), so the
demo always shows a current picture.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from connectors.fit.factory import RunSpec, encode_activity

TIMEZONE = "Europe/London"
#: The runner's heart-rate settings (``loadmon athlete set``), so TRIMP is computed from each run's HR.
HR_REST = 52
HR_MAX = 188
SEX = "female"


@dataclass(frozen=True, kw_only=True)
class StoryRun:
    day: date
    at: time
    distance_km: float
    pace_s_per_km: int
    hills_m: float  # amplitude of the altitude profile (ascent ~= descent ~= hills_m * repeats * 2)
    repeats: int
    label: str
    avg_hr: int


@dataclass(frozen=True, kw_only=True)
class StorySymptom:
    at: datetime
    site: str
    side: str
    location: str
    severity: int
    note: str


def _profile(hills_m: float, repeats: int):
    base = 40.0

    def altitude(fraction: float) -> float:
        return base + hills_m * (1 - math.cos(2 * math.pi * repeats * fraction)) / 2

    return altitude


def story(end: date) -> tuple[list[StoryRun], list[StorySymptom]]:
    """The runs and symptoms of the story up to ``end``: the long hilly run is the last Sunday
    at least three days before ``end``, the knee pain the Monday after, the hilly run on Wednesday."""
    latest = end - timedelta(days=3)
    hilly_sunday = latest - timedelta(days=(latest.weekday() + 1) % 7)
    # align the easy weeks so that week 13's Sunday is the long hilly run
    start = hilly_sunday - timedelta(days=13 * 7 - 1)
    runs: list[StoryRun] = []
    for week in range(13):
        monday = start + timedelta(days=7 * week)
        d = {name: monday + timedelta(days=i) for i, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}
        if week < 10:  # easy base: ~25 km/week
            wobble = (week % 3) * 0.5
            runs += [
                StoryRun(day=d["tue"], at=time(18, 30), distance_km=6 + wobble, pace_s_per_km=350, hills_m=8, repeats=2, label="easy", avg_hr=140),
                StoryRun(day=d["thu"], at=time(18, 30), distance_km=7, pace_s_per_km=345, hills_m=15 if week % 2 else 6, repeats=3, label="easy", avg_hr=142),
                StoryRun(day=d["sun"], at=time(9, 0), distance_km=11 + wobble, pace_s_per_km=355, hills_m=25, repeats=2, label="long easy", avg_hr=145),
            ]
        elif week < 12:  # the club: long runs twice a week plus a Saturday 5 km
            extra = 2.0 * (week - 10)
            runs += [
                StoryRun(day=d["tue"], at=time(18, 30), distance_km=7, pace_s_per_km=340, hills_m=8, repeats=2, label="easy", avg_hr=142),
                StoryRun(day=d["wed"], at=time(19, 0), distance_km=12 + extra, pace_s_per_km=330, hills_m=20, repeats=3, label="club long run", avg_hr=152),
                StoryRun(day=d["sat"], at=time(9, 0), distance_km=5, pace_s_per_km=290, hills_m=5, repeats=1, label="parkrun 5 km", avg_hr=168),
                StoryRun(day=d["sun"], at=time(9, 30), distance_km=13 + extra, pace_s_per_km=335, hills_m=25, repeats=2, label="club long run", avg_hr=150),
            ]
        else:  # week 13: the long, hard, hilly Sunday
            runs += [
                StoryRun(day=d["tue"], at=time(18, 30), distance_km=8, pace_s_per_km=335, hills_m=8, repeats=2, label="easy", avg_hr=143),
                StoryRun(day=d["wed"], at=time(19, 0), distance_km=16, pace_s_per_km=325, hills_m=20, repeats=3, label="club long run", avg_hr=154),
                StoryRun(day=d["sat"], at=time(9, 0), distance_km=5, pace_s_per_km=285, hills_m=5, repeats=1, label="parkrun 5 km", avg_hr=170),
                StoryRun(day=hilly_sunday, at=time(8, 30), distance_km=24, pace_s_per_km=320, hills_m=110, repeats=3, label="long hard hilly run", avg_hr=158),
            ]
    runs.append(StoryRun(day=hilly_sunday + timedelta(days=3), at=time(18, 0), distance_km=10, pace_s_per_km=340, hills_m=110, repeats=2, label="hilly run", avg_hr=150))
    tz = ZoneInfo(TIMEZONE)
    knee = StorySymptom(at=datetime.combine(hilly_sunday + timedelta(days=1), time(19, 0), tzinfo=tz), site="knee",
                        side="right", location="lateral", severity=4, note="outside of the right knee, worse downhill")
    return sorted(runs, key=lambda r: (r.day, r.at)), [knee]


@dataclass(frozen=True, kw_only=True)
class StoryCheckin:
    """A later reading of the knee (``loadmon symptom update``)."""

    at: datetime
    severity: int
    note: str


def checkins(end: date) -> list[StoryCheckin]:
    """The knee's readings after the pain began, up to ``end``: the morning after the hilly run it is worse
    (the comeback rules' ``pain_next_morning``)."""
    runs, (knee,) = story(end)
    hilly = max(r.day for r in runs if r.label == "hilly run")
    worse = StoryCheckin(at=datetime.combine(hilly + timedelta(days=1), time(7, 30), tzinfo=ZoneInfo(TIMEZONE)),
                         severity=6, note="worse after the hilly run; hurts on the stairs")
    return [c for c in (worse,) if c.at.date() <= end and c.at > knee.at]


def start_of(run: StoryRun) -> datetime:
    return datetime.combine(run.day, run.at, tzinfo=ZoneInfo(TIMEZONE))


def encode(run: StoryRun, serial: int) -> bytes:
    start = start_of(run)
    duration = int(run.distance_km * run.pace_s_per_km)
    spec = RunSpec(start=start.astimezone(ZoneInfo("UTC")), distance_m=run.distance_km * 1000, duration_s=duration,
                   avg_hr=run.avg_hr, max_hr=run.avg_hr + 18, altitude_profile=_profile(run.hills_m, run.repeats),
                   serial=serial, record_interval_s=5, utc_offset_s=int(start.utcoffset().total_seconds()))  # type: ignore[union-attr]  # start is zone-aware
    return encode_activity(spec)


def file_name(run: StoryRun) -> str:
    return start_of(run).strftime("%Y-%m-%d-%H-%M-%S") + ".fit"


def iter_files(end: date) -> Iterator[tuple[StoryRun, str, bytes]]:
    runs, _ = story(end)
    for i, run in enumerate(runs):
        yield run, file_name(run), encode(run, 40000 + i)
