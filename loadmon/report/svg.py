"""Small server-side SVG time charts (no JavaScript needed to draw them, no network).

A :class:`TimeChart` maps local days to x and values to y, and collects SVG elements: bars,
lines (broken at ``None``), dots, shaded bands, horizontal rules and day markers (symptoms,
alerts). ``svg()`` returns the finished ``<svg>`` element as a string. Every text that ends up
in the SVG is escaped here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape

__all__ = ["TimeChart", "nice_ticks", "fmt"]

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


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


@dataclass(kw_only=True)
class TimeChart:
    """One chart over the local days ``first``..``last`` (inclusive)."""

    chart_id: str
    title: str
    first: date
    last: date
    y_min: float
    y_max: float
    unit: str = ""
    width: int = 960
    height: int = 230
    left: int = 58
    right: int = 14
    top: int = 30
    bottom: int = 26
    _body: list[str] = field(default_factory=list)
    _under: list[str] = field(default_factory=list)
    _over: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        ticks = nice_ticks(self.y_min, self.y_max)
        self._ticks = ticks
        self.y_min, self.y_max = min(ticks[0], self.y_min), max(ticks[-1], self.y_max)
        if self.y_max <= self.y_min:
            self.y_max = self.y_min + 1.0
        self._days = max(1, (self.last - self.first).days + 1)

    # --- scales -----------------------------------------------------------------------
    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom

    def day_w(self) -> float:
        return self.plot_w / self._days

    def x(self, day: date, *, centre: bool = True) -> float:
        i = (day - self.first).days + (0.5 if centre else 0.0)
        return self.left + i * self.day_w()

    def y(self, value: float) -> float:
        v = min(max(value, self.y_min), self.y_max)
        return self.top + self.plot_h * (1.0 - (v - self.y_min) / (self.y_max - self.y_min))

    def in_range(self, day: date) -> bool:
        return self.first <= day <= self.last

    # --- elements -----------------------------------------------------------------------
    def bars(self, items: Iterable[tuple[date, int, float, str]], *, css: str, series: str) -> None:
        """Bars ``(first day, days wide, value, tooltip)``."""
        out = [f'<g class="{_a(css)}" data-series="{_a(series)}">']
        y0 = self.y(max(0.0, self.y_min))
        for day, days, value, tip in items:
            x0 = self.x(day, centre=False)
            w = max(1.0, days * self.day_w() - 1.0)
            y1 = self.y(value)
            out.append(f'<rect x="{x0:.1f}" y="{min(y0, y1):.1f}" width="{w:.1f}" height="{abs(y0 - y1):.1f}">'
                       f'<title>{escape(tip)}</title></rect>')
        out.append("</g>")
        self._body.append("".join(out))

    def line(self, days: Sequence[date], values: Sequence[float | None], *, css: str, series: str,
             label: str) -> None:
        """A line through ``values`` (``None`` breaks it)."""
        parts: list[str] = []
        pen_down = False
        for day, v in zip(days, values):
            if v is None or not self.in_range(day):
                pen_down = False
                continue
            parts.append(f'{"L" if pen_down else "M"}{self.x(day):.1f},{self.y(v):.1f}')
            pen_down = True
        if parts:
            self._body.append(f'<path class="{_a(css)}" data-series="{_a(series)}" d="{" ".join(parts)}">'
                              f'<title>{escape(label)}</title></path>')

    def dot(self, day: date, value: float, *, css: str, series: str, tip: str, r: float = 3.0) -> None:
        if self.in_range(day):
            self._over.append(f'<circle class="{_a(css)}" data-series="{_a(series)}" cx="{self.x(day):.1f}" '
                              f'cy="{self.y(value):.1f}" r="{r:.1f}"><title>{escape(tip)}</title></circle>')

    def band(self, lo: float, hi: float, *, css: str, tip: str) -> None:
        y_hi, y_lo = self.y(hi), self.y(lo)
        self._under.append(f'<rect class="{_a(css)}" x="{self.left}" y="{y_hi:.1f}" width="{self.plot_w:.1f}" '
                           f'height="{max(0.0, y_lo - y_hi):.1f}"><title>{escape(tip)}</title></rect>')

    def hline(self, value: float, *, css: str, tip: str) -> None:
        y = self.y(value)
        self._under.append(f'<path class="{_a(css)}" d="M{self.left},{y:.1f} H{self.left + self.plot_w:.1f}">'
                           f'<title>{escape(tip)}</title></path>')

    def span(self, start: date, end: date, *, css: str, tip: str) -> None:
        """A shaded vertical span over days ``start``..``end`` (clipped to the chart)."""
        s, e = max(start, self.first), min(end, self.last)
        if s > e:
            return
        x0 = self.x(s, centre=False)
        x1 = self.x(e, centre=False) + self.day_w()
        self._under.append(f'<rect class="{_a(css)}" x="{x0:.1f}" y="{self.top}" width="{max(1.0, x1 - x0):.1f}" '
                           f'height="{self.plot_h:.1f}"><title>{escape(tip)}</title></rect>')

    def marker(self, day: date, *, css: str, tip: str) -> None:
        """A day marker: a dashed vertical rule and a small triangle above the plot."""
        if not self.in_range(day):
            return
        x = self.x(day)
        self._over.append(
            f'<g class="{_a(css)}"><title>{escape(tip)}</title>'
            f'<path class="rule" d="M{x:.1f},{self.top} V{self.top + self.plot_h:.1f}"/>'
            f'<path class="flag" d="M{x - 5:.1f},{self.top - 9} L{x + 5:.1f},{self.top - 9} L{x:.1f},{self.top - 1} Z"/>'
            f"</g>"
        )

    # --- output -------------------------------------------------------------------------
    def _axes(self) -> str:
        out = []
        x_end = self.left + self.plot_w
        for t in self._ticks:
            y = self.y(t)
            out.append(f'<path class="grid" d="M{self.left},{y:.1f} H{x_end:.1f}"/>')
            label = fmt(t, 0) if abs(t) >= 10 or t == int(t) else fmt(t, 1)
            out.append(f'<text class="tick" x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
        for day, label in self._x_ticks():
            x = self.x(day, centre=False)
            y = self.top + self.plot_h
            out.append(f'<path class="axis" d="M{x:.1f},{y:.1f} v5"/>')
            out.append(f'<text class="tick" x="{x + 2:.1f}" y="{y + 17:.1f}">{label}</text>')
        out.append(f'<path class="axis" d="M{self.left},{self.top} V{self.top + self.plot_h:.1f} H{x_end:.1f}"/>')
        return "".join(out)

    def _x_ticks(self) -> list[tuple[date, str]]:
        ticks: list[tuple[date, str]] = []
        span = self._days
        if span > 3 * 366:
            step_months = 12
        elif span > 400:
            step_months = 3
        elif span > 120:
            step_months = 1
        else:
            step_months = 0
        if step_months:
            y, m = self.first.year, self.first.month
            while True:
                d = date(y, m, 1)
                if d > self.last:
                    break
                if d >= self.first and (m - 1) % step_months == 0:
                    ticks.append((d, str(y) if step_months == 12 or m == 1 else f"{MONTHS[m - 1]} {y}"[:8]))
                m += 1
                if m > 12:
                    y, m = y + 1, 1
        else:  # weekly ticks on Mondays
            d = self.first
            while d <= self.last:
                if d.weekday() == 0:
                    ticks.append((d, f"{d.day} {MONTHS[d.month - 1]}"))
                d = date.fromordinal(d.toordinal() + 1)
        return ticks

    def svg(self) -> str:
        title = escape(self.title)
        unit = f' <tspan class="unit">({escape(self.unit)})</tspan>' if self.unit else ""
        return (
            f'<svg id="{_a(self.chart_id)}" class="chart" viewBox="0 0 {self.width} {self.height}" '
            f'role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg">'
            f'<text class="title" x="{self.left}" y="14">{title}{unit}</text>'
            f'{"".join(self._under)}{self._axes()}{"".join(self._body)}{"".join(self._over)}</svg>'
        )
