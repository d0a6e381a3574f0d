"""`python -m loadmon.demo --out demo`: the story of loadmon, replayed day by day.

Writes a config (SQLite in the demo folder, athlete in Europe/London), generates the sample
history as real FIT files (:mod:`loadmon.demo_story`), then replays it with a simulated clock:
each evening the day's files are imported, the knee symptom is logged when it happened, and
the rules are evaluated, so alerts appear in the order the runner would have received them.
The Makefile's `demo` target then shows it with the ordinary CLI commands.
"""

from __future__ import annotations

import argparse
import shutil
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from loadmon import demo_story
from loadmon.config import load_config
from loadmon.logs import configure_logging
from loadmon.service import Service
from loadmon.service.imports import import_paths

CONFIG = """# loadmon demo configuration (written by `python -m loadmon.demo`)
[database]
url = "sqlite:///{db}"

[athlete]
default_name = "demo-runner"
timezone = "{tz}"

[fit]
watch_dirs = ["{watch}"]
"""


def build(out: Path, *, end: date | None = None) -> Path:
    """Create the demo folder; return the config path."""
    end = end or datetime.now(ZoneInfo(demo_story.TIMEZONE)).date()
    if out.exists():
        shutil.rmtree(out)
    fit_dir = out / "fit"
    fit_dir.mkdir(parents=True)
    (out / "watch").mkdir()
    config_path = out / "config.toml"
    config_path.write_text(CONFIG.format(db=(out / "loadmon.sqlite").resolve(), tz=demo_story.TIMEZONE,
                                         watch=(out / "watch").resolve()), encoding="utf-8")
    by_day: dict[date, list[Path]] = defaultdict(list)
    for run, name, data in demo_story.iter_files(end):
        path = fit_dir / name
        path.write_bytes(data)
        by_day[run.day].append(path)
    _, symptoms = demo_story.story(end)

    config = load_config(config_path, env={})
    clock_now = [datetime.now(ZoneInfo("UTC"))]
    svc = Service.open(config, clock=lambda: clock_now[0])
    try:
        athlete = svc.athlete()
        try:
            from loadmon.service import alerting
        except ImportError:  # pragma: no cover - before the alerts feature
            alerting = None
        days = sorted(by_day)
        day = days[0]
        tz = ZoneInfo(demo_story.TIMEZONE)
        while day <= end:
            for s in symptoms:
                if s.at.date() == day:
                    clock_now[0] = s.at
                    if alerting is not None:
                        from loadmon.service import symptoms as symptom_service

                        symptom_service.add_symptom(svc, athlete, site=s.site, side=s.side, location=s.location,
                                                    severity=s.severity, at=s.at, note=s.note)
                    else:
                        svc.store.add_symptom(athlete.id, site=s.site, side=s.side, location=s.location,
                                              severity=s.severity, started_at=s.at, note=s.note)
            if by_day.get(day):
                # the runner syncs the watch in the evening, an hour or so after the last run
                last = max(demo_story.start_of(r) for r in demo_story.story(end)[0] if r.day == day)
                clock_now[0] = max(datetime.combine(day, time(21, 0), tzinfo=tz), last + timedelta(hours=2))
                summary = import_paths(svc, athlete, by_day[day])
                if alerting is not None and summary.athlete_ids:
                    alerting.evaluate_and_deliver(svc, summary.athlete_ids)
            day += timedelta(days=1)
        n = len(svc.store.list_activities(athlete.id))
        print(f"demo: {n} runs from {days[0]} to {end} written to {fit_dir} and imported into {out / 'loadmon.sqlite'}")
    finally:
        svc.close()
    return config_path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo"), help="demo folder (recreated)")
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="last day of the story (default today)")
    args = parser.parse_args(argv)
    configure_logging(level="warning")
    build(args.out, end=args.end)


if __name__ == "__main__":
    main()
