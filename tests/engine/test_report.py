"""The HTML report: self-contained, escaped, charts drawn; and opened in headless Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from loadmon.domain import Symptom
from loadmon.engine import compute_load
from loadmon.report import render_report
from loadmon.report.page import default_first_day
from loadmon.report.svg import NARROW, WIDE, TimeChart, text_width
from tests.engine.browser import Chromium, chromium_binary
from tests.engine.engine_builders import D0, activity, athlete

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
                        started_at=datetime(2024, 3, 12, 7, 0, tzinfo=UTC), resolved_at=None,
                        note="sore <b>after</b> the long run")]
    alerts = [
        {"local_date": (D0 + timedelta(days=70)).isoformat(), "rule": "run_spike", "severity": "danger",
         "message": "Your 21.0 km run was 75% longer than <the longest> of the previous 30 days"},
        {"local_date": D0 + timedelta(days=74), "rule": "weekly_ramp", "severity": "warning", "message": "ramp +40%"},
    ]
    return result, acts, symptoms, alerts


CHART_IDS = {"chart-weekly-distance_km", "chart-weekly-descent_m", "chart-runs", "chart-acwr", "chart-pmc"}


def svgs(html: str) -> list[ET.Element]:
    """Every inline <svg> parsed as XML (which also proves each one is well formed)."""
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", html, flags=re.S)]


def wide_charts(html: str) -> dict[str, ET.Element]:
    """The desktop drawing of each chart, by id."""
    return {svg.get("id"): svg for svg in svgs(html) if "chart-wide" in svg.get("class", "").split()}


def figure_of(html: str, chart_id: str) -> str:
    """The HTML of the <figure> holding ``chart_id`` (its title, drawings, legend and key)."""
    start = html.rindex("<figure>", 0, html.index(f'id="{chart_id}"'))
    return html[start:html.index("</figure>", start)]


def test_report_is_self_contained_and_draws_every_chart():
    result, acts, symptoms, alerts = story()
    html = render_report(result, athlete_name="Ann <Runner> & co", activities=acts, symptoms=symptoms, alerts=alerts)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    # nothing to fetch: no external scripts, styles, images or links
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "<script src" not in html
    charts = wide_charts(html)
    assert set(charts) == CHART_IDS
    # each chart is drawn a second time for phones, with the same content
    narrow = {svg.get("id"): svg for svg in svgs(html) if "chart-narrow" in svg.get("class", "").split()}
    assert set(narrow) == {f"{c}-narrow" for c in CHART_IDS}
    for chart_id, svg in charts.items():
        assert narrow[f"{chart_id}-narrow"].get("data-chart-id") == chart_id == svg.get("data-chart-id")
        tips = [t.text for t in svg.iter(SVG_NS + "title")]  # every bar, dot, line and marker has one
        assert len(tips) > 5 and [t.text for t in narrow[f"{chart_id}-narrow"].iter(SVG_NS + "title")] == tips
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
    bars = wide_charts(html)["chart-weekly-distance_km"]
    assert len(bars.findall(f".//{SVG_NS}g[@data-series='distance_km']/{SVG_NS}rect")) == 4
    assert "No alerts in this period" in html
    empty = render_report(compute_load([], athlete()), athlete_name="Nobody", activities=[])
    assert "No activities recorded yet" in empty and "<svg" not in empty


@pytest.mark.slow
@pytest.mark.chromium
def test_report_opens_in_headless_chromium_without_errors(tmp_path):
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("LOADMON_REQUIRE_BROWSER"):
            pytest.fail("no chromium binary on PATH; LOADMON_REQUIRE_BROWSER is set (as .ci/run does)")
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
    assert dom.count("<svg") == 10  # each chart drawn wide and narrow


# --- the current week, the markers' key, the default period -----------------------------------
def test_the_current_partial_week_is_marked_so_far():
    _, acts, _, _ = story()
    thursday = D0 + timedelta(days=80)  # the 12th week, Monday to Thursday
    html = render_report(compute_load(acts, athlete(), until=thursday), athlete_name="Ann", activities=acts)
    for chart_id in ("chart-weekly-distance_km", "chart-weekly-descent_m"):
        bars = wide_charts(html)[chart_id].findall(f".//{SVG_NS}rect")
        assert [b.get("class") for b in bars] == [None] * 11 + ["partial"]
        assert "so far, Mon-Thu, 4 of 7 days" in bars[-1].find(SVG_NS + "title").text
        notes = [t.text for t in wide_charts(html)[chart_id].iter(SVG_NS + "text") if t.get("class") == "bar-note"]
        assert notes == ["so far"]
        assert "the current week, 4 of 7 days (Monday to Thursday 2024-03-21)" in figure_of(html, chart_id)
    # a week that ended on Sunday is complete: nothing is marked
    sunday = render_report(compute_load(acts, athlete(), until=D0 + timedelta(days=83)), athlete_name="Ann",
                           activities=acts)
    assert 'class="partial"' not in sunday and "so far" not in sunday


def test_each_chart_explains_its_markers_next_to_it():
    result, acts, symptoms, alerts = story()
    html = render_report(result, athlete_name="Ann", activities=acts, symptoms=symptoms, alerts=alerts)
    symptom_key, alert_key = "Pink shading: a symptom", "Triangle and dotted line: an alert that day"
    for chart_id in CHART_IDS:
        figure = figure_of(html, chart_id)
        assert '<ul class="key">' in figure and symptom_key in figure and alert_key in figure
    runs, acwr = figure_of(html, "chart-runs"), figure_of(html, "chart-acwr")
    assert "Large dot with a dark ring: a distance spike" in runs
    assert "Green band, 0.8-1.3:" in acwr and "Red dashed line, 1.5:" in acwr
    assert "Green band" not in runs and "distance spike" not in acwr
    # nothing to explain, nothing said: no symptom or alert in the period
    bare = render_report(result, athlete_name="Ann", activities=acts)
    assert symptom_key not in bare and alert_key not in bare and "Green band, 0.8-1.3:" in bare


def long_history(days: int = 400):
    acts = [activity(i, km=8, minutes=48) for i in range(0, days, 2)]
    return compute_load(acts, athlete()), acts


def test_the_report_shows_the_last_six_months_unless_asked_for_more():
    result, acts = long_history()
    last = result.last_day
    assert last == D0 + timedelta(days=398)  # 2025-02-02, a Sunday
    first = default_first_day(last)
    assert first == date(2024, 7, 29) and first.weekday() == 0  # the Monday on or before 2024-08-02
    html = render_report(result, athlete_name="Ann", activities=acts)
    assert f"{first} to {last} (the last 6 months)" in html
    bars = wide_charts(html)["chart-weekly-distance_km"].findall(f".//{SVG_NS}rect")
    assert len(bars) == 27 and "week of 2024-07-29" in bars[0].find(SVG_NS + "title").text
    everything = render_report(result, athlete_name="Ann", activities=acts, months=None)
    assert f"{D0} to {last} (the whole history)" in everything
    assert len(wide_charts(everything)["chart-weekly-distance_km"].findall(f".//{SVG_NS}rect")) == 57
    since = render_report(result, athlete_name="Ann", activities=acts, since=date(2024, 12, 2))
    assert f"2024-12-02 to {last} (from 2024-12-02)" in since
    assert default_first_day(date(2024, 8, 31), 6) == date(2024, 2, 26)  # 29 Feb 2024, back to its Monday


@pytest.mark.parametrize("layout", [WIDE, NARROW], ids=lambda layout: layout.name)
@pytest.mark.parametrize("days", [20, 84, 183, 400, 1100])
def test_time_axis_labels_never_overlap_or_overflow(layout, days):
    chart = TimeChart(chart_id="c", title="t", first=date(2023, 12, 27), last=date(2023, 12, 27) + timedelta(days=days),
                      y_min=0, y_max=1234)
    svg = ET.fromstring(chart.svg(layout))
    labels = [t for t in svg.iter(SVG_NS + "text") if t.get("text-anchor") is None]
    assert len(labels) >= 2
    spans = [(float(t.get("x")), float(t.get("x")) + text_width(t.text, layout.font_px)) for t in labels]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:])), spans
    assert spans[-1][1] <= layout.width
    y_labels = [t for t in svg.iter(SVG_NS + "text") if t.get("text-anchor") == "end"]
    assert all(float(t.get("x")) - text_width(t.text, layout.font_px) >= 0 for t in y_labels)


# --- on a phone, in a real browser ---------------------------------------------------------------
MEASURE = """(() => {
  const shown = [...document.querySelectorAll('svg.chart')].filter(s => s.getBoundingClientRect().width > 0);
  const texts = [];
  for (const svg of shown) {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      texts.push({chart: svg.id, text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale});
    }
  }
  const tables = [...document.querySelectorAll('table')].map(t => {
    const wrap = t.closest('.table-scroll');
    return {wrapped: !!wrap, right: t.getBoundingClientRect().right,
            outer_right: (wrap || t).getBoundingClientRect().right, stacked: t.classList.contains('stack')};
  });
  return {inner: innerWidth, scroll: document.documentElement.scrollWidth, charts: shown.map(s => s.id),
          texts: texts, tables: tables, ready: document.documentElement.getAttribute('data-report-ready'),
          errors: document.documentElement.getAttribute('data-js-errors')};
})()"""


@pytest.fixture
def browser(tmp_path):
    binary = chromium_binary()
    if binary is None:
        if os.environ.get("LOADMON_REQUIRE_BROWSER"):
            pytest.fail("no chromium binary on PATH; LOADMON_REQUIRE_BROWSER is set (as .ci/run does)")
        pytest.skip("no chromium binary on PATH (install the Debian package 'chromium')")
    with Chromium(binary, tmp_path / "profile") as chromium:
        yield chromium


@pytest.mark.slow
@pytest.mark.chromium
@pytest.mark.parametrize("width", [390, 360])
def test_report_reads_on_a_phone(tmp_path, browser, width):
    result, acts, symptoms, alerts = story()
    page = tmp_path / "report.html"
    page.write_text(render_report(result, athlete_name="Ann", activities=acts, symptoms=symptoms, alerts=alerts),
                    encoding="utf-8")
    browser.open(page.as_uri(), width=width, height=844, mobile=True)
    m = browser.evaluate(MEASURE)
    assert m["ready"] == "1" and m["errors"] is None
    # the page is as wide as the phone: no sideways scrolling, no zooming out
    assert m["inner"] == width and m["scroll"] <= width, (m["inner"], m["scroll"])
    # the phone drawing of every chart is the one shown, and its text is readable
    assert sorted(m["charts"]) == sorted(f"{c}-narrow" for c in CHART_IDS)
    assert len(m["texts"]) > 25
    small = [t for t in m["texts"] if t["px"] < 11.0]
    assert not small, small[:5]
    # a table wider than the screen scrolls inside its wrapper; the record tables stack to fit
    assert m["tables"] and all(t["wrapped"] and t["outer_right"] <= width for t in m["tables"]), m["tables"]
    assert all(t["right"] <= width for t in m["tables"] if t["stacked"])
    browser.screenshot(tmp_path / f"report-{width}.png")


@pytest.mark.slow
@pytest.mark.chromium
def test_report_on_a_desktop_shows_the_wide_charts(tmp_path, browser):
    result, acts, symptoms, alerts = story()
    page = tmp_path / "report.html"
    page.write_text(render_report(result, athlete_name="Ann", activities=acts, symptoms=symptoms, alerts=alerts),
                    encoding="utf-8")
    browser.open(page.as_uri(), width=1280, height=900, mobile=False)
    m = browser.evaluate(MEASURE)
    assert sorted(m["charts"]) == sorted(CHART_IDS) and m["scroll"] <= 1280
    assert min(t["px"] for t in m["texts"]) >= 11.0
    # a legend button hides its series in both drawings of the chart, and shows it again
    hidden = """[...document.querySelectorAll('svg[data-chart-id="chart-acwr"] [data-series="ewma"]')]
                .map(e => e.classList.contains('hidden'))"""
    assert browser.evaluate(hidden) == [False, False]
    browser.evaluate("""document.querySelector('.legend button[data-chart="chart-acwr"][data-toggle="ewma"]').click()""")
    assert browser.evaluate(hidden) == [True, True]
    browser.evaluate("""document.querySelector('.legend button[data-chart="chart-acwr"][data-toggle="ewma"]').click()""")
    assert browser.evaluate(hidden) == [False, False]
