"""``render_report``: a :class:`~loadmon.engine.LoadResult` in, one self-contained HTML page out.

Pure: no I/O, no clock, no network. The charts are inline SVG drawn here (server side), each
twice (a wide drawing and a narrow one for phones, :func:`loadmon.report.svg.responsive_svg`);
the only script is a few lines of inline vanilla JavaScript that lets the reader hide/show a
series by clicking its legend entry (the page is complete without it).

Charts (all on the same local-day axis, with symptoms shaded and alerts flagged, each with a
key saying what its markers mean): weekly running distance and descent (the current week
marked "so far"), every run (distance spikes coloured by Frandsen 2025 band), the three ACWRs
with the 0.8-1.3 band and the 1.5 line, and fitness / fatigue / form. By default the page
shows the last :data:`DEFAULT_MONTHS` months.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from loadmon.domain import Activity, Symptom
from loadmon.engine import ACWR_KINDS, ChannelSeries, LoadResult, spike_words
from loadmon.load_channels import ACWR_DANGER_FROM, ACWR_KIND_BY_NAME, ACWR_LOW_BELOW, ACWR_SWEET_SPOT_TOP, channel_label
from loadmon.report.style import CSS, ERROR_HOOK, JS
from loadmon.report.svg import Bar, TimeChart, fmt, responsive_svg
from loadmon.report.tables import (
    BAND_CSS,
    alert_table,
    as_date,
    spike_table,
    summary_table,
    symptom_table,
)

__all__ = ["DEFAULT_MONTHS", "Marks", "default_first_day", "pick_channel", "render_report", "weekly_bars", "window"]

#: The period shown when neither ``since`` nor ``months=None`` (the whole history) is asked for.
DEFAULT_MONTHS = 6
SEVERITY_ORDER = {"info": 0, "warning": 1, "danger": 2}
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def default_first_day(last: date, months: int = DEFAULT_MONTHS) -> date:
    """The Monday on or before the same day ``months`` calendar months before ``last``
    (whole weeks from the first bar on)."""
    index = last.year * 12 + last.month - 1 - months
    year, month = divmod(index, 12)
    month += 1
    day = date(year, month, min(last.day, calendar.monthrange(year, month)[1]))
    return day - timedelta(days=day.weekday())


def _local_day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date() if moment.tzinfo is not None else moment.date()


def pick_channel(result: LoadResult) -> ChannelSeries | None:
    for name in ("distance_km", "duration_min", "trimp", "srpe", "descent_m"):
        series = result.channels.get(name)
        if series is not None and series.available and len(series):
            return series
    return None


def window(series: ChannelSeries, first: date, last: date) -> tuple[list[date], dict[str, tuple]]:
    """The series' days and columns restricted to first..last."""
    i0 = max(0, (first - series.first_day).days)  # type: ignore[operator]
    i1 = min(len(series), (last - series.first_day).days + 1)  # type: ignore[operator]
    days = list(series.dates[i0:i1])
    return days, {k: v[i0:i1] for k, v in series.columns.items()}


def weekly_bars(days: Sequence[date], values: Sequence[float], unit: str, last: date) -> list[Bar]:
    """Monday-start week sums of ``days`` (ascending); the week of ``last`` is marked "so far" unless
    ``last`` is a Sunday."""
    weeks: dict[date, list[Any]] = {}
    w: list[Any] = []
    week_end = None  # the Monday after the current week (``days`` ascend: a new week starts there)
    for d, v in zip(days, values):
        if week_end is None or d >= week_end:
            monday = d - timedelta(days=d.weekday())
            week_end = monday + timedelta(days=7)
            w = weeks.setdefault(monday, [d, 0, 0.0])
        w[1] += 1
        w[2] += v or 0.0
    bars = []
    for monday, (first_day, n, total) in weeks.items():
        partial = monday == last - timedelta(days=last.weekday()) and last.weekday() < 6
        span = f", {DAY_NAMES[0]}-{DAY_NAMES[last.weekday()]}, {last.weekday() + 1} of 7 days" if partial else ""
        tip = f"week of {monday.isoformat()}{' so far' if partial else ''}{span}: {fmt(total)} {unit}"
        bars.append(Bar(first_day=first_day, days=n, value=total, tip=tip, partial=partial,
                        note="so far" if partial else ""))
    return bars


def _legend(chart_id: str, entries: Sequence[tuple[str, str, str]], *, dots: bool = False) -> str:
    """Legend buttons: (series name, label, css colour)."""
    cls = "dotsw" if dots else "sw"
    items = "".join(
        f'<button type="button" data-chart="{chart_id}" data-toggle="{escape(name)}" aria-pressed="true">'
        f'<span class="{cls}" style="background:{colour}"></span>{escape(label)}</button>'
        for name, label, colour in entries
    )
    return f'<div class="legend">{items}</div>'


def _swatch(css: str) -> str:
    return f'<span class="k {css}" aria-hidden="true"></span>'


def _key(items: Sequence[tuple[str, str]]) -> str:
    """What the chart's markers mean: (swatch HTML, plain text)."""
    if not items:
        return ""
    return '<ul class="key">' + "".join(f"<li>{swatch}{escape(text)}</li>" for swatch, text in items) + "</ul>"


ALERT_SWATCH = ('<span class="k k-alert" aria-hidden="true"><b style="color:#305d9e">&#9660;</b>'
                '<b style="color:#e8a400">&#9660;</b><b style="color:#c62828">&#9660;</b></span>')
SPIKE_KEY = (_swatch("k-spike"), "Large dot with a dark ring: a distance spike, a run more than 10% longer than the longest run "
                        "of the previous 30 days (its colour gives how much longer, as in the legend above).")
BAND_KEY = (_swatch("k-sweet"), f"Green band, {ACWR_LOW_BELOW:g}-{ACWR_SWEET_SPOT_TOP:g}: the ratio Gabbett (2016) "
                                 "called the 'sweet spot'.")
LINE_KEY = (_swatch("k-danger"), f"Red dashed line, {ACWR_DANGER_FROM:g}: where Gabbett's 'danger zone' starts.")


class Marks:
    """Symptoms and alerts, to be drawn on every chart and explained in its key."""

    def __init__(self, symptoms: Sequence[Symptom], alerts: Sequence[Mapping[str, Any]], zone: ZoneInfo,
                 first: date, last: date) -> None:
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
            day = as_date(a.get("local_date"))
            if day is None:
                continue
            severity = str(a.get("severity", "info"))
            if severity not in SEVERITY_ORDER:
                severity = "info"
            self.flags.append((day, severity, f"{day.isoformat()} {severity} {a.get('rule', '')}: {a.get('message', '')}"))
        self.key: list[tuple[str, str]] = []
        if any(start <= last and end >= first for start, end, _ in self.spans):
            self.key.append((_swatch("k-symptom"), "Pink shading: a symptom, from the day it started until it resolved "
                                          "(or today); see Symptoms below."))
        if any(first <= day <= last for day, _, _ in self.flags):
            self.key.append((ALERT_SWATCH, "Triangle and dotted line: an alert that day (blue info, amber warning, "
                                           "red danger); see Alerts below."))

    def draw(self, chart: TimeChart) -> None:
        for start, end, tip in self.spans:
            chart.span(start, end, css="symptom", tip=tip)
        for day, severity, tip in self.flags:
            chart.marker(day, css=f"alert alert-{severity}", tip=tip)


def _figure(chart: TimeChart, *, legend: str = "", key: Sequence[tuple[str, str]] = (), caption: str = "") -> str:
    """A chart's title (HTML, so it wraps on a phone), its drawings, legend, key and caption."""
    unit = f' <span class="unit">({escape(chart.unit)})</span>' if chart.unit else ""
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return (f'<figure><h3 class="chart-title">{escape(chart.title)}{unit}</h3>{responsive_svg(chart)}{legend}'
            f"{_key(key)}{cap}</figure>")


def _period(first: date, last: date, since: date | None, months: int | None, history_start: date | None) -> str:
    if since is not None:
        what = f"from {since.isoformat()}"
    elif months is not None and history_start is not None and first > history_start:
        what = f"the last {months} months"
    else:
        what = "the whole history"
    return f"{first.isoformat()} to {last.isoformat()} ({what})"


def render_report(
    result: LoadResult,
    *,
    athlete_name: str,
    activities: Sequence[Activity],
    symptoms: Sequence[Symptom] = (),
    alerts: Sequence[Mapping[str, Any]] = (),
    since: date | None = None,
    months: int | None = DEFAULT_MONTHS,
) -> str:
    """One self-contained HTML page (inline CSS, SVG and JS; no network access needed).

    ``result``: the engine's result (its ``last_day`` is the report's last day).
    ``activities``: the athlete's activities (run names in the tables). ``symptoms``: shaded
    on the charts from their start to their resolution (or the last day). ``alerts``: dicts
    with at least ``local_date`` (date or ISO string), ``rule``, ``severity``, ``message``;
    flagged on the charts and listed. ``since``: first day shown; without it, the last
    ``months`` months (from a Monday, :func:`default_first_day`), or the whole history when
    ``months`` is None.
    """
    zone = ZoneInfo(result.timezone)
    title = f"Training load - {athlete_name}"
    head = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style><script>{ERROR_HOOK}</script></head><body><main>")
    parts = [head, f"<h1>{escape(title)}</h1>"]
    series = pick_channel(result)
    if series is None or result.first_day is None or result.last_day is None or result.last_day < result.first_day:
        parts.append('<p class="meta">No activities recorded yet: nothing to chart.</p>')
        parts.append(f"</main><script>{JS}</script></body></html>")
        return "".join(parts)

    last = result.last_day
    start = since if since is not None else (default_first_day(last, months) if months is not None else None)
    first = min(max(result.first_day, start) if start is not None else result.first_day, last)
    marks = Marks(symptoms, alerts, zone, first, last)
    names = {a.id: a.name or a.sport for a in activities}
    parts.append(
        f'<p class="meta">{_period(first, last, since, months, result.first_day)}, local days in '
        f"{escape(result.timezone)}; history since {result.history_start.isoformat() if result.history_start else '-'}; "
        f"{len([f for f in result.findings if first <= f.local_date <= last])} runs in this period.</p>"
    )
    parts.append(f"<h2>On {last.isoformat()}</h2>" + summary_table(result, last))
    parts.append('<p class="note">Ratios need 28 days of history ("warming up") and a non-zero base ("no base"); '
                 "they are left blank rather than shown as 0 or infinity.</p>")

    # --- weekly distance and descent ------------------------------------------------------
    parts.append("<h2>Weekly volume</h2>")
    for name, css in (("distance_km", "bars-distance"), ("descent_m", "bars-descent")):
        label = f"Weekly {channel_label(name)}"
        s = result.channels.get(name)
        if s is None or not s.available:
            parts.append(f'<p class="muted">{escape(label)}: not available ({escape(s.reason or "" if s else "")}).</p>')
            continue
        days, cols = window(s, first, last)
        bars = weekly_bars(days, cols["load"], s.unit, last)
        top = max((b.value for b in bars), default=0.0)
        partial = any(b.partial for b in bars)
        # room above the tallest bars for the "so far" note
        chart = TimeChart(chart_id=f"chart-weekly-{name}", title=label, unit=f"{s.unit} per week",
                          first=first, last=last, y_min=0.0, y_max=max(top * (1.2 if partial else 1.08), 1.0))
        marks.draw(chart)
        chart.bars(bars, css=css, series=name)
        key = list(marks.key)
        if partial:
            key.insert(0, (_swatch("k-partial"), f"Faded bar marked 'so far': the current week, {last.weekday() + 1} "
                                                 f"of 7 days (Monday to {last.strftime('%A')} {last.isoformat()})."))
        parts.append(_figure(chart, key=key))

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
        legend = _legend("chart-runs", [
            ("band-ref", "not a spike (within 10%, reference)", "#3f7fd1"), ("band-1", ">10-30% longer (HRR 1.64)", "#f0a202"),
            ("band-2", ">30-100% longer (HRR 1.52)", "#e8590c"), ("band-3", ">100% longer (HRR 2.28)", "#c62828"),
            ("unrated", "warming up / no base", "#9aa3b2")], dots=True)
        parts.append(_figure(chart, legend=legend, key=[SPIKE_KEY, *marks.key], caption=(
            "Compared with the longest run of the previous 30 days (Frandsen et al. 2025, BJSM 59:1203; hazard rate "
            "ratios vs the reference band).")))
    else:
        parts.append('<p class="muted">No runs with a distance in this period.</p>')
    parts.append(spike_table([f for f in result.findings if first <= f.local_date <= last], names))

    # --- ACWR ---------------------------------------------------------------------------------
    days, cols = window(series, first, last)
    label = channel_label(series.name)
    parts.append(f"<h2>Acute:chronic workload ratio ({escape(label)})</h2>")
    values = [v for k in ACWR_KINDS for v in cols[f"acwr_{k}"] if v is not None]
    top = min(4.0, max([2.0, *values]) * 1.05)
    chart = TimeChart(chart_id="chart-acwr", title=f"ACWR, {label}", first=first, last=last, y_min=0.0, y_max=top)
    low, top_sweet, danger = ACWR_LOW_BELOW, ACWR_SWEET_SPOT_TOP, ACWR_DANGER_FROM
    chart.band(low, top_sweet, css="sweet", tip=f"{low:g}-{top_sweet:g}: Gabbett's 'sweet spot'")
    chart.hline(danger, css="danger-line", tip=f"{danger:g}: Gabbett's 'danger zone' threshold")
    marks.draw(chart)
    colours = {"rolling_coupled": "#3f7fd1", "rolling_uncoupled": "#8e44ad", "ewma": "#e67e22"}
    for k in ACWR_KINDS:
        chart.line(days, cols[f"acwr_{k}"], css=f"line acwr-{k}", series=k, label=f"ACWR {ACWR_KIND_BY_NAME[k].label}")
    parts.append(_figure(
        chart, legend=_legend("chart-acwr", [(k, ACWR_KIND_BY_NAME[k].label, colours[k]) for k in ACWR_KINDS]),
        key=[BAND_KEY, LINE_KEY, *marks.key],
        caption="The ACWR is contested: Impellizzeri et al. 2020 found fixed or random chronic loads predict about as "
                "well, and Frandsen et al. 2025 found no positive dose-response in runners. Values above 4 are drawn "
                "at 4."))

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
    parts.append(_figure(chart, legend=_legend("chart-pmc", [
        ("fitness", pmc_labels["fitness"], "#1f77b4"), ("fatigue", pmc_labels["fatigue"], "#d6336c"),
        ("form", pmc_labels["form"], "#2e8b57")]), key=marks.key, caption=f"Convention: {escape(conv)}."))

    # --- lists --------------------------------------------------------------------------------
    parts.append("<h2>Alerts</h2>" + alert_table(alerts, first, last))
    parts.append("<h2>Symptoms</h2>" + symptom_table([tip for _, _, tip in sorted(marks.spans)]))
    parts.append('<p class="note">On a computer, hover over a bar, dot or marker for its details. Click a legend '
                 "entry to hide or show a series.</p>")
    parts.append(f"</main><script>{JS}</script></body></html>")
    return "".join(parts)
