"""`make demo` (loadmon.demo): the story told in its output, an alert e-mail shown, TRIMP computed."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from loadmon import demo, demo_story
from loadmon.cli import app

END = date(2026, 12, 4)  # a Friday: the long hilly run is Sunday 29 Nov, the knee pain Monday 30 Nov


def pain(day: date) -> demo_story.StorySymptom:
    return demo_story.StorySymptom(at=datetime.combine(day, time(19), tzinfo=ZoneInfo("Europe/London")), site="knee",
                                   side="right", location="lateral", severity=4, note="sore")


def test_timeline_puts_each_alert_on_its_day_relative_to_the_pain() -> None:
    alerts = [
        {"local_date": "2026-11-20", "severity": "warning", "rule": "acwr", "title": "ACWR 1.44 (caution)",
         "deliveries": [{"state": "sent"}]},
        {"local_date": "2026-11-29", "severity": "danger", "rule": "run_spike", "title": "run spike +50% (24.0 km)",
         "deliveries": [{"state": "pending"}]},
        {"local_date": "2026-12-02", "severity": "warning", "rule": "hilly_after_symptoms", "title": "hilly run",
         "deliveries": []},
    ]
    lines = demo.timeline(alerts, pain(date(2026, 11, 30)))
    assert lines[0].startswith("What loadmon told the runner, day by day (day 0 = the knee pain, Mon 2026-11-30)")
    assert [re.match(r"\s+day\s+(\S+)", line).group(1) for line in lines[1:5]] == ["-10", "-1", "0", "+2"]
    assert "ACWR 1.44 (caution)" in lines[1] and "PAIN" in lines[3] and "right knee (lateral), severity 4/10" in lines[3]
    assert lines[-1] == ("The first warning came 10 days before the knee pain: 2 alerts before it, "
                         "1 of them e-mailed to the runner.")
    assert demo.timeline(alerts[2:], pain(date(2026, 11, 30)))[-1] == "No warning came before the knee pain."


@pytest.mark.slow
def test_the_demo_tells_the_story_and_shows_an_alert_email(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    config = demo.build(out, end=END)
    printed = capsys.readouterr().out

    # the athlete has heart-rate settings, so TRIMP is computed
    assert f"resting HR {demo_story.HR_REST}, max HR {demo_story.HR_MAX}" in printed
    status = CliRunner().invoke(app, ["--config", str(config), "status", "--json"])
    assert status.exit_code == 0, status.output
    trimp = json.loads(status.stdout)["channels"]["trimp"]
    assert trimp["available"] and trimp["acute_7d"] > 0

    # the timeline: warnings before the knee pain (day 0), one after it
    days = {int(m.group(1)) if m.group(1) != "0" else 0: m.group(2)
            for m in re.finditer(r"^  day\s+([-+]?\d+)  \w{3} \d{4}-\d\d-\d\d  (.*)$", printed, flags=re.M)}
    assert "PAIN" in days[0] and "right knee" in days[0]
    assert min(days) < -7 and any(d > 0 and "after right knee pain" in t for d, t in days.items())
    first = re.search(r"The first warning came (\d+) days before the knee pain: (\d+) alerts before it, "
                      r"(\d+) of them e-mailed", printed)
    assert first and int(first.group(1)) == -min(days) and first.group(2) == first.group(3)

    # every alert went to the demo's Maildir, and the first one is shown as the runner reads it
    mails = sorted((out / "mail" / "new").glob("*.eml"))
    # the alerts of one check share one e-mail ("2 alerts from the same check"): every alert is in one
    in_mails = sum(int(m.group(1)) if (m := re.search(r"(\d+) alerts from the same check", p.read_text())) else 1
                   for p in mails)
    assert in_mails == len([line for line in printed.splitlines() if re.match(r"  day .*  (warning|danger|info) ", line)])
    assert f"the {len(mails)} alert e-mails were written to {out / 'mail' / 'new'}" in printed
    shown = re.search(r"The first one, (lm-\w+\.eml):", printed).group(1)
    assert (out / "mail" / "new" / shown).exists()
    assert re.search(r"^  Subject: \[loadmon\] [A-Z]", printed, flags=re.M)  # the title in words
    assert "not a medical diagnosis" in printed
