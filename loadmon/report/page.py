"""``render_report``: a :class:`~loadmon.engine.LoadResult` in, one self-contained HTML page out.

Pure: no I/O, no clock, no network. The charts are inline SVG drawn here (server side); the
only script is a few lines of inline vanilla JavaScript that lets the reader hide/show a
series by clicking its legend entry (the page is complete without it).

Charts (all on the same local-day axis, with symptoms shaded and alerts flagged):
weekly running distance, weekly descent, every run (distance spikes coloured by Frandsen
2025 band), the three ACWRs with the 0.8-1.3 band and the 1.5 line, and fitness / fatigue /
form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from loadmon.domain import Activity, Symptom
from loadmon.engine import ACWR_KINDS, ActivityFinding, ChannelSeries, LoadResult, acwr_zone, spike_words
from loadmon.report.svg import TimeChart, fmt

__all__ = ["render_report"]

KIND_LABELS = {
    "rolling_coupled": "rolling, coupled (Hulin 2014)",
    "rolling_uncoupled": "rolling, uncoupled (Lolli/Windt 2019)",
    "ewma": "EWMA 7/28 (Williams 2017)",
}
CHANNEL_LABELS = {
    "distance_km": "running distance",
    "duration_min": "training time",
    "descent_m": "running descent",
    "trimp": "TRIMP (heart rate)",
    "srpe": "session RPE load",
}
BAND_CSS = {"<=10%": "band-ref", ">10-30%": "band-1", ">30-100%": "band-2", ">100%": "band-3"}
SEVERITY_ORDER = {"info": 0, "warning": 1, "danger": 2}

CSS = """
:root { --ink:#1d2430; --muted:#5b6576; --line:#d8dde6; --bg:#ffffff; --panel:#f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); }
main { max-width: 1000px; margin: 0 auto; padding: 20px 16px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
p.meta, p.note, .muted { color: var(--muted); } p.note { font-size: 13px; max-width: 80ch; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.zone-low { color: #52607a; } .zone-sweet_spot { color: #1c7c3a; } .zone-caution { color: #b86b00; }
.zone-danger { color: #c62828; font-weight: 600; }
.sev-info { color: #305d9e; } .sev-warning { color: #b86b00; font-weight: 600; } .sev-danger { color: #c62828; font-weight: 700; }
figure { margin: 8px 0 18px; } figcaption { font-size: 12px; color: var(--muted); }
svg.chart { width: 100%; height: auto; display: block; background: #fff; }
svg .title { font-size: 13px; font-weight: 600; fill: var(--ink); } svg .unit { font-weight: 400; fill: var(--muted); }
svg .tick { font-size: 10px; fill: var(--muted); }
svg .grid { stroke: #eef1f5; stroke-width: 1; } svg .axis { stroke: #9aa3b2; stroke-width: 1; fill: none; }
svg .bars-distance rect { fill: #3f7fd1; } svg .bars-descent rect { fill: #8a5a2b; }
svg path.line { fill: none; stroke-width: 1.6; stroke-linejoin: round; }
svg .acwr-rolling_coupled { stroke: #3f7fd1; } svg .acwr-rolling_uncoupled { stroke: #8e44ad; }
svg .acwr-ewma { stroke: #e67e22; }
svg .pmc-fitness { stroke: #1f77b4; } svg .pmc-fatigue { stroke: #d6336c; } svg .pmc-form { stroke: #2e8b57; stroke-dasharray: 4 2; }
svg .sweet { fill: #2e9e4f; fill-opacity: 0.12; } svg .danger-line { stroke: #c62828; stroke-dasharray: 6 4; stroke-width: 1.2; }
svg .zero-line { stroke: #9aa3b2; stroke-width: 1; }
svg circle.run { fill: #9aa3b2; } svg circle.band-ref { fill: #3f7fd1; } svg circle.band-1 { fill: #f0a202; }
svg circle.band-2 { fill: #e8590c; } svg circle.band-3 { fill: #c62828; }
svg circle.band-1, svg circle.band-2, svg circle.band-3 { stroke: #1d2430; stroke-width: 0.8; }
svg .symptom { fill: #d6336c; fill-opacity: 0.10; }
svg .alert .rule { stroke-width: 1; stroke-dasharray: 2 3; fill: none; }
svg .alert-info .rule { stroke: #305d9e; } svg .alert-info .flag { fill: #305d9e; }
svg .alert-warning .rule { stroke: #e8a400; } svg .alert-warning .flag { fill: #e8a400; }
svg .alert-danger .rule { stroke: #c62828; } svg .alert-danger .flag { fill: #c62828; }
svg .hidden { display: none; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 12px; margin: 2px 0 0 58px; }
.legend button { font: inherit; background: none; border: 0; padding: 0; cursor: pointer; color: var(--ink); }
.legend button.off { opacity: 0.4; text-decoration: line-through; }
.legend .sw { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.legend .dotsw { display: inline-block; width: 9px; height: 9px; border-radius: 50%; vertical-align: middle; margin-right: 4px; }
"""

# Reports errors into the page (a data attribute) and toggles series from the legends.
JS = """
(function () {
  var buttons = document.querySelectorAll('.legend button[data-toggle]');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener('click', function (ev) {
      var btn = ev.currentTarget, name = btn.getAttribute('data-toggle');
      var chart = document.getElementById(btn.getAttribute('data-chart'));
      if (!chart) { return; }
      var items = chart.querySelectorAll('[data-series="' + name + '"]');
      var off = !btn.classList.contains('off');
      btn.classList.toggle('off', off);
      btn.setAttribute('aria-pressed', off ? 'false' : 'true');
      for (var j = 0; j < items.length; j++) { items[j].classList.toggle('hidden', off); }
    });
  }
  var drawn = document.querySelectorAll('svg.chart path, svg.chart rect, svg.chart circle').length;
  document.documentElement.setAttribute('data-chart-elements', String(drawn));
  document.documentElement.setAttribute('data-report-ready', '1');
})();
"""

ERROR_HOOK = """
window.addEventListener('error', function (e) {
  var n = Number(document.documentElement.getAttribute('data-js-errors') || '0') + 1;
  document.documentElement.setAttribute('data-js-errors', String(n));
});
"""


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date() if moment.tzinfo is not None else moment.date()


def _pick_channel(result: LoadResult) -> ChannelSeries | None:
    for name in ("distance_km", "duration_min", "trimp", "srpe", "descent_m"):
        series = result.channels.get(name)
        if series is not None and series.available and len(series):
            return series
    return None


def _window(series: ChannelSeries, first: date, last: date) -> tuple[list[date], dict[str, tuple]]:
    """The series' days and columns restricted to first..last."""
    i0 = max(0, (first - series.first_day).days)  # type: ignore[operator]
    i1 = min(len(series), (last - series.first_day).days + 1)  # type: ignore[operator]
    days = list(series.dates[i0:i1])
    return days, {k: v[i0:i1] for k, v in series.columns.items()}


def _weekly(days: Sequence[date], values: Sequence[float]) -> list[tuple[date, int, float]]:
    """Monday-start week sums: (first day of the week within range, days in range, sum)."""
    weeks: dict[date, list[Any]] = {}
    for d, v in zip(days, values):
        monday = d - timedelta(days=d.weekday())
        w = weeks.setdefault(monday, [d, 0, 0.0])
        w[1] += 1
        w[2] += v or 0.0
    return [(w[0], w[1], w[2]) for w in weeks.values()]


def _legend(chart_id: str, entries: Sequence[tuple[str, str, str]], *, dots: bool = False) -> str:
    """Legend buttons: (series name, label, css colour)."""
    cls = "dotsw" if dots else "sw"
    items = "".join(
        f'<button type="button" data-chart="{chart_id}" data-toggle="{escape(name)}" aria-pressed="true">'
        f'<span class="{cls}" style="background:{colour}"></span>{escape(label)}</button>'
        for name, label, colour in entries
    )
    return f'<div class="legend">{items}</div>'


class _Marks:
    """Symptoms and alerts, to be drawn on every chart."""

    def __init__(self, symptoms: Sequence[Symptom], alerts: Sequence[Mapping[str, Any]], zone: ZoneInfo,
                 last: date) -> None:
        self.spans: list[tuple[date, date, str]] = []
        for s in symptoms:
            start = _local_day(s.started_at, zone)
            end = _local_day(s.resolved_at, zone) if s.resolved_at is not None else last
            where = s.site.replace("_", " ") + (f" ({s.side})" if s.side and s.side != "none" else "")
            state = f"resolved {end.isoformat()}" if s.resolved_at is not None else "ongoing"
            self.spans.append((start, end, f"Symptom: {where}, severity {s.severity}/10, from {start.isoformat()}, {state}"
                                            + (f" - {s.note}" if s.note else "")))
        self.flags: list[tuple[date, str, str]] = []
        for a in alerts:
            day = _date(a.get("local_date"))
            if day is None:
                continue
            severity = str(a.get("severity", "info"))
            if severity not in SEVERITY_ORDER:
                severity = "info"
            self.flags.append((day, severity, f"{day.isoformat()} {severity} {a.get('rule', '')}: {a.get('message', '')}"))

    def draw(self, chart: TimeChart) -> None:
        for start, end, tip in self.spans:
            chart.span(start, end, css="symptom", tip=tip)
        for day, severity, tip in self.flags:
            chart.marker(day, css=f"alert alert-{severity}", tip=tip)


def _summary_table(result: LoadResult, day: date) -> str:
    rows = []
    for name, series in result.channels.items():
        if not series.available:
            rows.append(f"<tr><td>{escape(CHANNEL_LABELS.get(name, name))}</td>"
                        f'<td colspan="8" class="muted">not available: {escape(series.reason or "")}</td></tr>')
            continue
        m = series.day(day)
        unit = escape(series.unit)

        def ratio_cell(value: float | None, reason: str | None, *, zone: bool = False) -> str:
            if value is None:
                return f'<td class="num muted">{escape(reason or "-")}</td>'
            z = acwr_zone(value) if zone else None
            css = f' zone-{z}' if z else ""
            return f'<td class="num{css}" title="{escape(z.replace("_", " ") if z else "")}">{value:.2f}</td>'

        ramp = (f'<td class="num">{m.ramp_pct:+.0f}%</td>' if m.ramp_pct is not None
                else f'<td class="num muted">{escape(m.ramp_reason or "-")}</td>')
        rows.append(
            f"<tr><td>{escape(CHANNEL_LABELS.get(name, name))}</td>"
            f'<td class="num">{fmt(m.acute_7d)} {unit}</td>{ramp}'
            + "".join(ratio_cell(*m.acwr(k), zone=True) for k in ACWR_KINDS)
            + f'<td class="num">{fmt(m.fitness)} / {fmt(m.fatigue)} / {fmt(m.form)}</td>'
            + ratio_cell(m.monotony, m.monotony_reason)
            + "</tr>"
        )
    head = ("<tr><th>channel</th><th>last 7 days</th><th>weekly ramp</th>"
            + "".join(f"<th>ACWR {escape(KIND_LABELS[k])}</th>" for k in ACWR_KINDS)
            + "<th>fitness / fatigue / form</th><th>monotony</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


def _spike_rows(findings: Sequence[ActivityFinding], names: Mapping[int, str]) -> str:
    rows = []
    for f in findings:
        if f.spike_band in (None, "<=10%"):
            continue
        ci = f" ({f.spike_hrr_ci[0]:.2f}-{f.spike_hrr_ci[1]:.2f})" if f.spike_hrr_ci else ""
        rows.append(
            f"<tr><td>{f.local_date.isoformat()}</td><td>{escape(names.get(f.activity_id, '') or '')}</td>"
            f'<td class="num">{fmt(f.distance_km)} km</td><td class="num">{fmt(f.longest_prev_30d_km)} km</td>'
            f'<td class="num">{f.distance_increase_pct:+.1f}%</td>'
            f'<td class="{BAND_CSS.get(f.spike_band or "", "")}">{escape(f.spike_band or "")}</td>'
            f'<td class="num">{f.spike_hrr:.2f}{ci}</td></tr>'
        )
    if not rows:
        return '<p class="muted">No run was more than 10% longer than the longest run of its previous 30 days.</p>'
    return ("<table><tr><th>day</th><th>run</th><th>distance</th><th>longest previous 30 days</th><th>longer by</th>"
            "<th>band</th><th>hazard rate ratio (95% CI)</th></tr>" + "".join(rows) + "</table>")


def _alert_rows(alerts: Sequence[Mapping[str, Any]], first: date, last: date) -> str:
    rows = []
    ordered = sorted(alerts, key=lambda a: (str(_date(a.get("local_date")) or ""), str(a.get("rule", ""))))
    for a in ordered:
        day = _date(a.get("local_date"))
        if day is None or not first <= day <= last:
            continue
        severity = str(a.get("severity", "info"))
        rows.append(f"<tr><td>{day.isoformat()}</td><td class=\"sev-{escape(severity)}\">{escape(severity)}</td>"
                    f"<td>{escape(str(a.get('rule', '')))}</td><td>{escape(str(a.get('message', '')))}</td></tr>")
    if not rows:
        return '<p class="muted">No alerts in this period.</p>'
    return "<table><tr><th>day</th><th>severity</th><th>rule</th><th>message</th></tr>" + "".join(rows) + "</table>"


def _symptom_rows(marks: _Marks) -> str:
    if not marks.spans:
        return '<p class="muted">No symptoms recorded.</p>'
    return "<table><tr><th>symptom</th></tr>" + "".join(
        f"<tr><td>{escape(tip)}</td></tr>" for _, _, tip in sorted(marks.spans)) + "</table>"


def render_report(
    result: LoadResult,
    *,
    athlete_name: str,
    activities: Sequence[Activity],
    symptoms: Sequence[Symptom] = (),
    alerts: Sequence[Mapping[str, Any]] = (),
    since: date | None = None,
) -> str:
    """One self-contained HTML page (inline CSS, SVG and JS; no network access needed).

    ``result``: the engine's result (its ``last_day`` is the report's last day).
    ``activities``: the athlete's activities (run names in the tables). ``symptoms``: shaded
    on the charts from their start to their resolution (or the last day). ``alerts``: dicts
    with at least ``local_date`` (date or ISO string), ``rule``, ``severity``, ``message``;
    flagged on the charts and listed. ``since``: first day shown (default: the result's
    first day).
    """
    zone = ZoneInfo(result.timezone)
    title = f"Training load - {athlete_name}"
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style><script>{ERROR_HOOK}</script></head><body><main>")
    parts = [head, f"<h1>{escape(title)}</h1>"]
    series = _pick_channel(result)
    if series is None or result.first_day is None or result.last_day is None or result.last_day < result.first_day:
        parts.append('<p class="meta">No activities recorded yet: nothing to chart.</p>')
        parts.append(f"</main><script>{JS}</script></body></html>")
        return "".join(parts)

    last = result.last_day
    first = max(result.first_day, since) if since is not None else result.first_day
    first = min(first, last)
    marks = _Marks(symptoms, alerts, zone, last)
    names = {a.id: a.name or a.sport for a in activities}
    parts.append(
        f'<p class="meta">{first.isoformat()} to {last.isoformat()} (local days, {escape(result.timezone)}); '
        f"history since {result.history_start.isoformat() if result.history_start else '-'}; "
        f"{len([f for f in result.findings if f.local_date >= first])} runs in this period.</p>"
    )
    parts.append(f"<h2>On {last.isoformat()}</h2>" + _summary_table(result, last))
    parts.append('<p class="note">Ratios need 28 days of history ("warming up") and a non-zero base ("no base"); '
                 "they are left blank rather than shown as 0 or infinity.</p>")

    # --- weekly distance and descent ------------------------------------------------------
    parts.append("<h2>Weekly volume</h2>")
    for name, css, label in (("distance_km", "bars-distance", "Weekly running distance"),
                             ("descent_m", "bars-descent", "Weekly running descent")):
        s = result.channels.get(name)
        if s is None or not s.available:
            parts.append(f'<p class="muted">{escape(label)}: not available ({escape(s.reason if s else "")}).</p>')
            continue
        days, cols = _window(s, first, last)
        weeks = _weekly(days, cols["load"])
        top = max((w[2] for w in weeks), default=0.0)
        chart = TimeChart(chart_id=f"chart-weekly-{name}", title=label, unit=f"{s.unit} per week",
                          first=first, last=last, y_min=0.0, y_max=max(top * 1.08, 1.0))
        marks.draw(chart)
        chart.bars(((d, n, v, f"week of {(d - timedelta(days=d.weekday())).isoformat()}: {fmt(v)} {s.unit}")
                    for d, n, v in weeks), css=css, series=name)
        parts.append(f"<figure>{chart.svg()}</figure>")

    # --- runs and spikes --------------------------------------------------------------------
    runs = [f for f in result.findings if first <= f.local_date <= last and f.distance_km is not None]
    parts.append("<h2>Runs and single-run distance spikes</h2>")
    if runs:
        top = max(f.distance_km or 0.0 for f in runs)
        chart = TimeChart(chart_id="chart-runs", title="Every run, coloured by its spike band", unit="km",
                          first=first, last=last, y_min=0.0, y_max=max(top * 1.08, 1.0))
        marks.draw(chart)
        for f in runs:
            band = f.spike_band
            css = BAND_CSS.get(band or "", "run")
            big = band not in (None, "<=10%")
            tip = (f"{f.local_date.isoformat()} {names.get(f.activity_id, 'run')}: {fmt(f.distance_km)} km"
                   + (f"; longest of previous 30 days {fmt(f.longest_prev_30d_km)} km, {spike_words(band)}"
                      if band else f"; spike: {f.spike_reason}")
                   + (f"; descent {fmt(f.descent_m, 0)} m" if f.descent_m is not None else "")
                   + (f" ({fmt(f.steep_descent_m, 0)} m at -8 % or steeper)" if f.steep_descent_m is not None else ""))
            chart.dot(f.local_date, f.distance_km or 0.0, css=f"run {css}" if css != "run" else "run",
                      series=css if band else "unrated", tip=tip, r=4.5 if big else 2.6)
        parts.append(f"<figure>{chart.svg()}" + _legend("chart-runs", [
            ("band-ref", "not a spike (within 10%, reference)", "#3f7fd1"), ("band-1", ">10-30% longer (HRR 1.64)", "#f0a202"),
            ("band-2", ">30-100% longer (HRR 1.52)", "#e8590c"), ("band-3", ">100% longer (HRR 2.28)", "#c62828"),
            ("unrated", "warming up / no base", "#9aa3b2")], dots=True)
            + "<figcaption>Compared with the longest run of the previous 30 days (Frandsen et al. 2025, BJSM "
              "59:1203; hazard rate ratios vs the reference band).</figcaption></figure>")
    else:
        parts.append('<p class="muted">No runs with a distance in this period.</p>')
    parts.append(_spike_rows([f for f in result.findings if first <= f.local_date <= last], names))

    # --- ACWR ---------------------------------------------------------------------------------
    days, cols = _window(series, first, last)
    label = CHANNEL_LABELS.get(series.name, series.name)
    parts.append(f"<h2>Acute:chronic workload ratio ({escape(label)})</h2>")
    values = [v for k in ACWR_KINDS for v in cols[f"acwr_{k}"] if v is not None]
    top = min(4.0, max([2.0, *values]) * 1.05)
    chart = TimeChart(chart_id="chart-acwr", title=f"ACWR, {label}", first=first, last=last, y_min=0.0, y_max=top)
    chart.band(0.8, 1.3, css="sweet", tip="0.8-1.3: Gabbett's 'sweet spot'")
    chart.hline(1.5, css="danger-line", tip="1.5: Gabbett's 'danger zone' threshold")
    marks.draw(chart)
    colours = {"rolling_coupled": "#3f7fd1", "rolling_uncoupled": "#8e44ad", "ewma": "#e67e22"}
    for k in ACWR_KINDS:
        chart.line(days, cols[f"acwr_{k}"], css=f"line acwr-{k}", series=k, label=f"ACWR {KIND_LABELS[k]}")
    parts.append(f"<figure>{chart.svg()}" + _legend("chart-acwr", [(k, KIND_LABELS[k], colours[k]) for k in ACWR_KINDS])
                 + "<figcaption>Shaded: 0.8-1.3 ('sweet spot'); dashed: 1.5 ('danger zone') (Gabbett 2016). The ACWR is "
                   "contested: Impellizzeri et al. 2020 found fixed or random chronic loads predict about as well, and "
                   "Frandsen et al. 2025 found no positive dose-response in runners. Values above 4 are drawn at 4."
                   "</figcaption></figure>")

    # --- fitness / fatigue / form ---------------------------------------------------------------
    parts.append(f"<h2>Fitness, fatigue and form ({escape(label)})</h2>")
    pmc = [v for k in ("fitness", "fatigue", "form") for v in cols[k] if v is not None]
    lo, hi = min([0.0, *pmc]), max([1.0, *pmc])
    chart = TimeChart(chart_id="chart-pmc", title=f"Fitness (CTL), fatigue (ATL), form (TSB), {label}",
                      unit=f"{series.unit} per day", first=first, last=last, y_min=lo, y_max=hi * 1.05)
    if lo < 0:
        chart.hline(0.0, css="zero-line", tip="form = 0")
    marks.draw(chart)
    pmc_labels = {"fitness": "fitness (CTL, 42 d)", "fatigue": "fatigue (ATL, 7 d)", "form": "form (TSB = yesterday's CTL - ATL)"}
    for k in ("fitness", "fatigue", "form"):
        chart.line(days, cols[k], css=f"line pmc-{k}", series=k, label=pmc_labels[k])
    conv = "decay exp(-1/N) (GoldenCheetah)" if result.settings.pmc_convention == "exp" else "lambda 2/(N+1) (Williams/Runalyze)"
    parts.append(f"<figure>{chart.svg()}" + _legend("chart-pmc", [
        ("fitness", pmc_labels["fitness"], "#1f77b4"), ("fatigue", pmc_labels["fatigue"], "#d6336c"),
        ("form", pmc_labels["form"], "#2e8b57")]) + f"<figcaption>Convention: {escape(conv)}.</figcaption></figure>")

    # --- lists --------------------------------------------------------------------------------
    parts.append("<h2>Alerts</h2>" + _alert_rows(alerts, first, last))
    parts.append("<h2>Symptoms</h2>" + _symptom_rows(marks))
    parts.append('<p class="note">Symptoms are shaded on every chart; alerts are flagged at the top of every chart '
                 "(hover for details). Click a legend entry to hide or show a series.</p>")
    parts.append(f"</main><script>{JS}</script></body></html>")
    return "".join(parts)
