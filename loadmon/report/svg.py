"""Small server-side SVG time charts (no JavaScript needed to draw them, no network).

A :class:`TimeChart` describes one chart over local days: bars, lines (broken at ``None``),
dots, shaded bands, horizontal rules and day markers (symptoms, alerts), in data units.
``svg(layout)`` draws it for one :class:`Layout` (a viewBox size and a font size);
:func:`responsive_svg` draws it twice, wide and narrow, and :data:`CHART_CSS` shows the one
that fits the screen, so the chart text stays readable on a phone (at least 11 CSS px from
a 328 px wide column up) as on a desktop. Every text that ends up in the SVG is escaped here.

Pure functions of their arguments: the web app can reuse them as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from typing import Any

__all__ = ["Bar", "CHART_CSS", "Layout", "NARROW", "TimeChart", "WIDE", "fmt", "nice_ticks", "responsive_svg"]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Average advance of a digit or letter in em (system sans-serif fonts); for label spacing.
CHAR_EM = 0.6


@dataclass(frozen=True, kw_only=True)
class Layout:
    """A chart's drawing size in SVG user units (the viewBox) and its text size.

    The browser scales the viewBox to the column width, so text is drawn at
    ``font_px * column_width / width`` CSS pixels.
    """

    name: str
    width: int
    height: int
    font_px: float
    left: int  # minimum; widened to fit the y labels
    right: int
    top: int
    bottom: int
    y_ticks: int


#: Desktop and tablet (a column of 700 px or more): 11 units of text are 10-13 CSS px.
WIDE = Layout(name="wide", width=800, height=230, font_px=11.0, left=44, right=12, top=14, bottom=24, y_ticks=5)
#: Phones (shown below 700 px): 13 units of text are >= 11.8 CSS px from a 328 px column
#: (a 360 px screen) up, and the chart keeps a readable height.
NARROW = Layout(name="narrow", width=360, height=250, font_px=13.0, left=34, right=8, top=14, bottom=26, y_ticks=4)
#: The viewport width below which the narrow drawing is shown (see :data:`CHART_CSS`).
NARROW_BELOW_PX = 700

CHART_CSS = f"""
svg.chart {{ width: 100%; height: auto; display: block; background: #fff; }}
svg.chart-narrow {{ display: none; max-width: 560px; }}
@media (max-width: {NARROW_BELOW_PX - 0.02}px) {{
  svg.chart-wide {{ display: none; }} svg.chart-narrow {{ display: block; }}
}}
"""


def _a(text: str) -> str:
    """An attribute value, escaped."""
    return escape(text, quote=True)


def fmt(value: float | None, digits: int = 1) -> str:
    """A number for display ("-" for ``None``)."""
    if value is None:
        return "-"
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering lo..hi (1/2/2.5/5 x 10^k steps)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(1, count)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 10))
        v += step
    return ticks


def text_width(text: str, font_px: float) -> float:
    """Estimated width of ``text`` in user units at ``font_px``."""
    return len(text) * font_px * CHAR_EM


@dataclass(frozen=True, kw_only=True)
class Bar:
    """One bar over ``days`` days from ``first_day``; ``partial`` draws it faded with ``note``
    written above it (e.g. the current week "so far")."""

    first_day: date
    days: int
    value: float
    tip: str
    partial: bool = False
    note: str = ""


@dataclass(kw_only=True)
class TimeChart:
    """One chart over the local days ``first``..``last`` (inclusive), in data units."""

    chart_id: str
    title: str
    first: date
    last: date
    y_min: float
    y_max: float
    unit: str = ""
    _ops: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)

    @property
    def days(self) -> int:
        return max(1, (self.last - self.first).days + 1)

    def in_range(self, day: date) -> bool:
        return self.first <= day <= self.last

    # --- elements (drawn under the axes: 0, with the data: 1, over the data: 2) ------------
    def bars(self, items: Iterable[Bar], *, css: str, series: str) -> None:
        self._ops.append((1, "bars", {"items": list(items), "css": css, "series": series}))

    def line(self, days: Sequence[date], values: Sequence[float | None], *, css: str, series: str,
             label: str) -> None:
        """A line through ``values`` (``None`` breaks it)."""
        self._ops.append((1, "line", {"days": list(days), "values": list(values), "css": css, "series": series,
                                      "label": label}))

    def dot(self, day: date, value: float, *, css: str, series: str, tip: str, r: float = 3.0) -> None:
        if self.in_range(day):
            self._ops.append((2, "dot", {"day": day, "value": value, "css": css, "series": series, "tip": tip, "r": r}))

    def band(self, lo: float, hi: float, *, css: str, tip: str) -> None:
        self._ops.append((0, "band", {"lo": lo, "hi": hi, "css": css, "tip": tip}))

    def hline(self, value: float, *, css: str, tip: str) -> None:
        self._ops.append((0, "hline", {"value": value, "css": css, "tip": tip}))

    def span(self, start: date, end: date, *, css: str, tip: str) -> None:
        """A shaded vertical span over days ``start``..``end`` (clipped to the chart)."""
        s, e = max(start, self.first), min(end, self.last)
        if s <= e:
            self._ops.append((0, "span", {"start": s, "end": e, "css": css, "tip": tip}))

    def marker(self, day: date, *, css: str, tip: str) -> None:
        """A day marker: a dashed vertical rule and a small triangle above the plot."""
        if self.in_range(day):
            self._ops.append((2, "marker", {"day": day, "css": css, "tip": tip}))

    # --- output -------------------------------------------------------------------------
    def svg(self, layout: Layout = WIDE, *, element_id: str | None = None, css: str = "chart") -> str:
        """The chart drawn for ``layout`` as one ``<svg>`` element (scales to its container's width)."""
        frame = _Frame(self, layout)
        layers: list[list[str]] = [[], [], []]
        for layer, kind, args in self._ops:
            layers[layer].append(getattr(frame, kind)(**args))
        label = escape(self.title + (f" ({self.unit})" if self.unit else ""))
        return (
            f'<svg id="{_a(element_id or self.chart_id)}" class="{_a(css)}" data-chart-id="{_a(self.chart_id)}" '
            f'viewBox="0 0 {layout.width} {layout.height}" font-size="{layout.font_px:g}" '
            f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">'
            f'{"".join(layers[0])}{frame.axes()}{"".join(layers[1])}{"".join(layers[2])}</svg>'
        )


def responsive_svg(chart: TimeChart, layouts: Sequence[Layout] = (WIDE, NARROW)) -> str:
    """The chart drawn once per layout; :data:`CHART_CSS` shows the one for the screen width.

    The first drawing keeps the chart's id, the others get ``<id>-<layout name>``; all carry
    ``data-chart-id`` (the legend buttons toggle a series in every drawing).
    """
    return "".join(
        chart.svg(layout, element_id=chart.chart_id if i == 0 else f"{chart.chart_id}-{layout.name}",
                  css=f"chart chart-{layout.name}")
        for i, layout in enumerate(layouts)
    )


class _Frame:
    """The scales of one chart in one layout, and the drawing of each element."""

    def __init__(self, chart: TimeChart, layout: Layout) -> None:
        self.chart, self.layout = chart, layout
        self.ticks = nice_ticks(chart.y_min, chart.y_max, layout.y_ticks)
        self.y_min, self.y_max = min(self.ticks[0], chart.y_min), max(self.ticks[-1], chart.y_max)
        if self.y_max <= self.y_min:
            self.y_max = self.y_min + 1.0
        self.tick_labels = [fmt(t, 0) if abs(t) >= 10 or t == int(t) else fmt(t, 1) for t in self.ticks]
        widest = max(text_width(t, layout.font_px) for t in self.tick_labels)
        self.left = max(float(layout.left), math.ceil(widest + layout.font_px * 0.6))
        self.top = layout.top
        self.plot_w = layout.width - self.left - layout.right
        self.plot_h = layout.height - layout.top - layout.bottom

    def day_w(self) -> float:
        return self.plot_w / self.chart.days

    def x(self, day: date, *, centre: bool = True) -> float:
        return self.left + ((day - self.chart.first).days + (0.5 if centre else 0.0)) * self.day_w()

    def y(self, value: float) -> float:
        v = min(max(value, self.y_min), self.y_max)
        return self.top + self.plot_h * (1.0 - (v - self.y_min) / (self.y_max - self.y_min))

    # --- elements ---------------------------------------------------------------------
    def bars(self, *, items: list[Bar], css: str, series: str) -> str:
        out = [f'<g class="{_a(css)}" data-series="{_a(series)}">']
        y0 = self.y(max(0.0, self.y_min))
        boxes = []  # (x0, x1, top y) of every bar
        for bar in items:
            x0 = self.x(bar.first_day, centre=False)
            w = max(1.0, bar.days * self.day_w() - 1.0)
            y1 = self.y(bar.value)
            boxes.append((x0, x0 + w, min(y0, y1)))
            cls = ' class="partial"' if bar.partial else ""
            out.append(f'<rect{cls} x="{x0:.1f}" y="{min(y0, y1):.1f}" width="{w:.1f}" height="{abs(y0 - y1):.1f}">'
                       f'<title>{escape(bar.tip)}</title></rect>')
        for bar, (_x0, x1, bar_top) in zip(items, boxes):
            if bar.note:
                out.append(self._note(bar.note, x1, bar_top, boxes))
        out.append("</g>")
        return "".join(out)

    def _note(self, text: str, x_right: float, bar_top: float, boxes: list[tuple[float, float, float]]) -> str:
        """``text`` ending at ``x_right``, just above every bar it spans, with a leader line
        down to its own bar when it had to rise above taller neighbours."""
        font = self.layout.font_px
        x_left = x_right - text_width(text, font)
        highest = min([bar_top, *(top for b0, b1, top in boxes if b1 > x_left and b0 < x_right)])
        y = max(highest - font * 0.4, self.top + font)
        out = f'<text class="bar-note" x="{x_right:.1f}" y="{y:.1f}" text-anchor="end">{escape(text)}</text>'
        if bar_top - y > font:
            xl = x_right - 2
            out += f'<path class="note-leader" d="M{xl:.1f},{y + 3:.1f} V{bar_top:.1f}"/>'
        return out

    def line(self, *, days: list[date], values: list[float | None], css: str, series: str, label: str) -> str:
        parts: list[str] = []
        pen_down = False
        for day, v in zip(days, values):
            if v is None or not self.chart.in_range(day):
                pen_down = False
                continue
            parts.append(f'{"L" if pen_down else "M"}{self.x(day):.1f},{self.y(v):.1f}')
            pen_down = True
        if not parts:
            return ""
        return (f'<path class="{_a(css)}" data-series="{_a(series)}" d="{" ".join(parts)}">'
                f"<title>{escape(label)}</title></path>")

    def dot(self, *, day: date, value: float, css: str, series: str, tip: str, r: float) -> str:
        return (f'<circle class="{_a(css)}" data-series="{_a(series)}" cx="{self.x(day):.1f}" '
                f'cy="{self.y(value):.1f}" r="{r:.1f}"><title>{escape(tip)}</title></circle>')

    def band(self, *, lo: float, hi: float, css: str, tip: str) -> str:
        y_hi, y_lo = self.y(hi), self.y(lo)
        return (f'<rect class="{_a(css)}" x="{self.left:.1f}" y="{y_hi:.1f}" width="{self.plot_w:.1f}" '
                f'height="{max(0.0, y_lo - y_hi):.1f}"><title>{escape(tip)}</title></rect>')

    def hline(self, *, value: float, css: str, tip: str) -> str:
        y = self.y(value)
        return (f'<path class="{_a(css)}" d="M{self.left:.1f},{y:.1f} H{self.left + self.plot_w:.1f}">'
                f"<title>{escape(tip)}</title></path>")

    def span(self, *, start: date, end: date, css: str, tip: str) -> str:
        x0 = self.x(start, centre=False)
        x1 = self.x(end, centre=False) + self.day_w()
        return (f'<rect class="{_a(css)}" x="{x0:.1f}" y="{self.top}" width="{max(1.0, x1 - x0):.1f}" '
                f'height="{self.plot_h:.1f}"><title>{escape(tip)}</title></rect>')

    def marker(self, *, day: date, css: str, tip: str) -> str:
        x, top = self.x(day), self.top
        return (f'<g class="{_a(css)}"><title>{escape(tip)}</title>'
                f'<path class="rule" d="M{x:.1f},{top} V{top + self.plot_h:.1f}"/>'
                f'<path class="flag" d="M{x - 5:.1f},{top - 9} L{x + 5:.1f},{top - 9} L{x:.1f},{top - 1} Z"/></g>')

    # --- axes ---------------------------------------------------------------------------
    def axes(self) -> str:
        out = []
        x_end = self.left + self.plot_w
        font = self.layout.font_px
        for t, label in zip(self.ticks, self.tick_labels):
            y = self.y(t)
            out.append(f'<path class="grid" d="M{self.left:.1f},{y:.1f} H{x_end:.1f}"/>')
            out.append(f'<text class="tick" x="{self.left - font * 0.45:.1f}" y="{y + font * 0.35:.1f}" '
                       f'text-anchor="end">{label}</text>')
        y = self.top + self.plot_h
        for day, label in self.x_ticks():
            x = self.x(day, centre=False)
            out.append(f'<path class="axis" d="M{x:.1f},{y:.1f} v5"/>')
            out.append(f'<text class="tick" x="{x + 2:.1f}" y="{y + font + 5:.1f}">{escape(label)}</text>')
        out.append(f'<path class="axis" d="M{self.left:.1f},{self.top} V{y:.1f} H{x_end:.1f}"/>')
        return "".join(out)

    def x_ticks(self) -> list[tuple[date, str]]:
        """The finest of weekly, fortnightly, monthly, ... ticks whose labels do not overlap."""
        font = self.layout.font_px
        gap = font * 0.8
        candidates = [_weekly_ticks(self.chart.first, self.chart.last, n) for n in (1, 2)]
        candidates += [_monthly_ticks(self.chart.first, self.chart.last, n) for n in (1, 2, 3, 6, 12, 24, 60)]
        fallback: list[tuple[date, str]] = []
        for ticks in candidates:
            # a label that would run past the right edge is left out
            ticks = [(d, label) for d, label in ticks
                     if self.x(d, centre=False) + 2 + text_width(label, font) <= self.layout.width]
            if not ticks:
                continue
            xs = [self.x(d, centre=False) for d, _ in ticks]
            if all(xs[i + 1] - xs[i] >= text_width(ticks[i][1], font) + gap for i in range(len(ticks) - 1)):
                return ticks
            fallback = fallback or ticks[:1]
        return fallback


def _weekly_ticks(first: date, last: date, every: int) -> list[tuple[date, str]]:
    """Mondays (every ``every``-th one from the first), labelled "4 Mar"."""
    monday = first + timedelta(days=(7 - first.weekday()) % 7)
    out = []
    while monday <= last:
        out.append((monday, f"{monday.day} {MONTHS[monday.month - 1]}"))
        monday += timedelta(days=7 * every)
    return out


def _monthly_ticks(first: date, last: date, every: int) -> list[tuple[date, str]]:
    """First days of months (months divisible by ``every`` counted from January), labelled
    "Mar"; January, and the first label when there is no January, carry the year."""
    out: list[tuple[date, str]] = []
    y, m = first.year, first.month
    while (d := date(y, m, 1)) <= last:
        if d >= first and ((y * 12 + m - 1) % every == 0):
            out.append((d, MONTHS[m - 1]))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if every >= 12:
        return [(d, str(d.year)) for d, _ in out]
    labelled = [(d, f"{label} {d.year}" if d.month == 1 else label) for d, label in out]
    if labelled and not any(d.month == 1 for d, _ in labelled):
        d, label = labelled[0]
        labelled[0] = (d, f"{label} {d.year}")
    return labelled
