"""`python -m loadmon.demo --out demo`: the story of loadmon, replayed day by day.

Writes a config (SQLite in the demo folder, athlete in Europe/London with heart-rate settings
so TRIMP shows, alert e-mails written to the ``demo/mail`` Maildir instead of sent),
generates the sample history as real FIT files (:mod:`loadmon.demo_story`), then replays it
with a simulated clock: each evening the day's files are imported, the knee symptom is
logged when it happened, and the rules are evaluated and delivered, so alerts appear in the
order the runner would have received them. Then it tells the story: a timeline of which
warning arrived on which day relative to the knee pain, and one of the alert e-mails as the
runner received it. The Makefile's `demo` target then shows it with the ordinary CLI commands.
"""

from __future__ import annotations

import argparse
import shutil
import textwrap
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
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

[alerts]
# no SMTP server needed: each alert e-mail is written to this Maildir (new/<key>.eml)
maildir = "{mail}"
"""
EMAIL_PREVIEW_LINES = 40
EMAIL_PREVIEW_WIDTH = 100


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
                                         watch=(out / "watch").resolve(), mail=(out / "mail").resolve()),
                           encoding="utf-8")
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
        athlete = svc.set_athlete(svc.athlete(), hr_rest=demo_story.HR_REST, hr_max=demo_story.HR_MAX,
                                  sex=demo_story.SEX)
        from loadmon.service import alerting
        from loadmon.service import symptoms as symptom_service
        from loadmon.service.after_store import after_change

        days = sorted(by_day)
        day = days[0]
        tz = ZoneInfo(demo_story.TIMEZONE)
        while day <= end:
            for s in symptoms:
                if s.at.date() == day:
                    clock_now[0] = s.at
                    symptom_service.add_symptom(svc, athlete, site=s.site, side=s.side, location=s.location,
                                                severity=s.severity, at=s.at, note=s.note)
            for c in demo_story.checkins(end):
                if c.at.date() == day:
                    clock_now[0] = c.at
                    (knee,) = svc.store.list_symptoms(athlete.id)
                    symptom_service.update_severity(svc, athlete, knee.id, c.severity, at=c.at, note=c.note)
                    after_change(svc, [athlete.id])
            if by_day.get(day):
                # the runner syncs the watch in the evening, an hour or so after the last run
                last = max(demo_story.start_of(r) for r in demo_story.story(end)[0] if r.day == day)
                clock_now[0] = max(datetime.combine(day, time(21, 0), tzinfo=tz), last + timedelta(hours=2))
                summary = import_paths(svc, athlete, by_day[day])
                if summary.athlete_ids:
                    after_change(svc, summary.athlete_ids)
            day += timedelta(days=1)
        n = len(svc.store.list_activities(athlete.id))
        print(f"demo: {n} runs from {days[0]} to {end} written to {fit_dir} and imported into {out / 'loadmon.sqlite'}")
        print(f"demo: athlete {athlete.name}, resting HR {athlete.hr_rest}, max HR {athlete.hr_max} ({athlete.sex}): "
              "TRIMP is computed from each run's heart rate")
        alerts = alerting.list_alerts(svc, athlete)
        print()
        print("\n".join(timeline(alerts, symptoms[0])))
        print()
        print("\n".join(email_preview(out / "mail", alerts)))
    finally:
        svc.close()
    return config_path


def _relative(day: date, day0: date) -> str:
    delta = (day - day0).days
    return f"day {f'{delta:+d}' if delta else '0':>3}"


def timeline(alerts: Sequence[Mapping[str, Any]], pain: demo_story.StorySymptom) -> list[str]:
    """The story told by the alerts: each one on its day relative to the knee pain (day 0),
    then how long before the pain the first warning came."""
    day0 = pain.at.date()
    events: list[tuple[date, int, str]] = []
    for a in alerts:
        day = date.fromisoformat(str(a["local_date"])[:10])
        events.append((day, 0, f"{a['severity']:<8} {a.get('title') or a['rule']}"))
    events.append((day0, 1, f"{'PAIN':<8} {pain.side} knee ({pain.location}), severity {pain.severity}/10: "
                              f"\"{pain.note}\""))
    lines = [f"What loadmon told the runner, day by day (day 0 = the knee pain, {day0.strftime('%a')} {day0}):"]
    for day, _, text in sorted(events, key=lambda e: (e[0], e[1])):
        lines.append(f"  {_relative(day, day0)}  {day.strftime('%a')} {day}  {text}")
    before = [a for a in alerts if date.fromisoformat(str(a["local_date"])[:10]) <= day0 and a["severity"] != "info"]
    if not before:
        lines.append("No warning came before the knee pain.")
        return lines
    first = min(date.fromisoformat(str(a["local_date"])[:10]) for a in before)
    sent = sum(1 for a in before if any(d.get("state") == "sent" for d in a.get("deliveries", ())))
    lines.append(f"The first warning came {(day0 - first).days} days before the knee pain: {len(before)} "
                 f"{'alert' if len(before) == 1 else 'alerts'} before it, {sent} of them e-mailed to the runner.")
    return lines


def email_preview(mail_dir: Path, alerts: Sequence[Mapping[str, Any]]) -> list[str]:
    """Where the alert e-mails went, and the first one as the runner would read it."""
    files = sorted((mail_dir / "new").glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name))
    if not files:
        return [f"No alert e-mail was written to {mail_dir / 'new'}."]
    with files[0].open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content().rstrip().splitlines() if body is not None else []
    lines = [f"What an alert e-mail looks like: the {len(files)} alert e-mails were written to {mail_dir / 'new'}",
             "(the [alerts] maildir channel in the demo's config.toml; open them in a mail reader or a text editor).",
             f"The first one, {files[0].name}:",
             "  " + "-" * 76]
    lines += [f"  {name}: {message[name]}" for name in ("From", "To", "Subject") if message[name]]
    lines.append("")
    for line in text[:EMAIL_PREVIEW_LINES]:
        lines += textwrap.wrap(line, width=EMAIL_PREVIEW_WIDTH, initial_indent="  ", subsequent_indent="  ",
                               break_long_words=False, break_on_hyphens=False) or [""]
    if len(text) > EMAIL_PREVIEW_LINES:
        lines.append(f"  ... ({len(text) - EMAIL_PREVIEW_LINES} more lines in the file)")
    lines.append("  " + "-" * 76)
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("demo"), help="demo folder (recreated)")
    parser.add_argument("--end", type=date.fromisoformat, default=None, help="last day of the story (default today)")
    args = parser.parse_args(argv)
    configure_logging(level="warning")
    build(args.out, end=args.end)


if __name__ == "__main__":
    main()
