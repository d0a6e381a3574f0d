"""The HTML report: self-contained, escaped, charts drawn; and opened in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.engine.engine_builders import D0, activity, athlete
from loadmon.domain import Symptom
from loadmon.engine import compute_load
from loadmon.report import render_report

SVG_NS = "{http://www.w3.org/2000/svg}"


def story():
    """12 weeks of running with a 21 km spike on day 70, a knee symptom and two alerts."""
    acts = []
    for i in range(84):
        if i % 7 in (0, 2, 4):
            acts.append(activity(i, km=8 + (i % 3), minutes=48, descent_m=60 + i, avg_hr=145, rpe=5))
        elif i % 7 == 6:
            acts.append(activity(i, km=12, minutes=75, descent_m=150, avg_hr=140, rpe=6))
    acts.append(replace(activity(70, km=21, minutes=130, descent_m=500, at=datetime.min.time().replace(hour=17)),
                        steep_descent_m=320.0))
    acts.append(activity(71, km=30, sport="cycling", minutes=70))
    who = athlete(hr_rest=50, hr_max=190, tz="Europe/London")
    result = compute_load(acts, who)
    symptoms = [Symptom(id=1, athlete_id=1, site="it_band", side="left", location="outside of the knee", severity=4,
                        started_at=datetime(2024, 3, 12, 7, 0, tzinfo=timezone.utc), resolved_at=None,
                        note="sore <b>after</b> the long run")]
    alerts = [
        {"local_date": (D0 + timedelta(days=70)).isoformat(), "rule": "run_spike", "severity": "danger",
         "message": "Your 21.0 km run was 75% longer than <the longest> of the previous 30 days"},
        {"local_date": D0 + timedelta(days=74), "rule": "weekly_ramp", "severity": "warning", "message": "ramp +40%"},
    ]
    return result, acts, symptoms, alerts


def svgs(html: str) -> list[ET.Element]:
    """Every inline <svg> parsed as XML (which also proves each one is well formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


def test_report_is_self_contained_and_draws_every_chart():
    result, acts, symptoms, alerts = story()
    html = render_report(result, athlete_name="Ann <Runner> & co", activities=acts, symptoms=symptoms, alerts=alerts)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    # nothing to fetch: no external scripts, styles, images or links
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "<script src" not in html
    charts = {svg.get("id"): svg for svg in svgs(html)}
    assert set(charts) == {"chart-weekly-distance_km", "chart-weekly-descent_m", "chart-runs", "chart-acwr", "chart-pmc"}
    for svg in charts.values():
        shapes = [e for e in svg.iter() if e.tag in (SVG_NS + "path", SVG_NS + "rect", SVG_NS + "circle")]
        assert len(shapes) > 5
    # weekly bars: one per Monday-start week of the 12 weeks
    bars = charts["chart-weekly-distance_km"].findall(f".//{SVG_NS}g[@data-series='distance_km']/{SVG_NS}rect")
    assert len(bars) == 12
    # the three ACWR lines, the 0.8-1.3 band and the 1.5 line
    acwr = charts["chart-acwr"]
    for kind in ("rolling_coupled", "rolling_uncoupled", "ewma"):
        assert acwr.findall(f".//{SVG_NS}path[@data-series='{kind}']")
    assert acwr.findall(f".//{SVG_NS}rect[@class='sweet']") and acwr.findall(f".//{SVG_NS}path[@class='danger-line']")
    # fitness / fatigue / form lines
    for k in ("fitness", "fatigue", "form"):
        assert charts["chart-pmc"].findall(f".//{SVG_NS}path[@data-series='{k}']")
    # the spike run is marked with its Frandsen band (21 km vs the longest 12 km: +75% -> >30-100%)
    spike = [c for c in charts["chart-runs"].iter(SVG_NS + "circle") if "band-2" in (c.get("class") or "")]
    assert len(spike) == 1 and "21.0 km" in spike[0].find(SVG_NS + "title").text
    assert "descent 500 m (320 m at -8 % or steeper)" in spike[0].find(SVG_NS + "title").text
    # an ordinary run (within 10% of the longest) says "not a spike" in words, not "band <=10%"
    plain = [c for c in charts["chart-runs"].iter(SVG_NS + "circle") if "band-ref" in (c.get("class") or "")]
    assert plain and all("not a spike" in c.find(SVG_NS + "title").text for c in plain)
    assert "band &lt;=10%" not in html and "band <=10%" not in html
    # alerts flagged and the symptom shaded on every chart
    for svg in charts.values():
        flags = [g for g in svg.iter(SVG_NS + "g") if "alert" in (g.get("class") or "").split()]
        assert {f.get("class") for f in flags} == {"alert alert-danger", "alert alert-warning"}
        assert svg.findall(f".//{SVG_NS}rect[@class='symptom']")
    # text from outside is escaped
    assert "Ann &lt;Runner&gt; &amp; co" in html and "<Runner>" not in html
    assert "&lt;the longest&gt;" in html and "<the longest>" not in html
    assert "sore &lt;b&gt;after&lt;/b&gt;" in html


def test_report_since_limits_the_period_and_empty_result_renders():
    result, acts, symptoms, alerts = story()
    html = render_report(result, athlete_name="Ann", activities=acts, since=D0 + timedelta(days=56))
    bars = {svg.get("id"): svg for svg in svgs(html)}["chart-weekly-distance_km"]
    assert len(bars.findall(f".//{SVG_NS}g[@data-series='distance_km']/{SVG_NS}rect")) == 4
    assert "No alerts in this period" in html
    empty = render_report(compute_load([], athlete()), athlete_name="Nobody", activities=[])
    assert "No activities recorded yet" in empty and "<svg" not in empty


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.chromium
def test_report_opens_in_headless_chromium_without_errors(tmp_path):
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium binary on PATH (install the Debian package 'chromium')")
    result, acts, symptoms, alerts = story()
    page = tmp_path / "report.html"
    page.write_text(render_report(result, athlete_name="Ann", activities=acts, symptoms=symptoms, alerts=alerts),
                    encoding="utf-8")
    proc = subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-extensions", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
         "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    root = re.search(r"<html[^>]*>", dom).group(0)
    assert 'data-report-ready="1"' in root, root  # the inline script ran to the end
    assert "data-js-errors" not in root, root
    drawn = int(re.search(r'data-chart-elements="(\d+)"', root).group(1))
    assert drawn > 100
    assert dom.count("<svg") == 5
