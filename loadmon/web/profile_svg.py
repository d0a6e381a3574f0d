"""An activity's elevation profile as an inline SVG (altitude over distance), drawn on the server
with no library: a filled area, the lowest and highest altitude and the distance marked. The
SVG has a ``<title>`` and an ``aria-label`` for screen readers and scales to its container
(``viewBox``, width 100 %), so it fits a 360 px phone."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

__all__ = ["profile_svg"]

WIDTH, HEIGHT = 720.0, 260.0
LEFT, RIGHT, TOP, BOTTOM = 70.0, 14.0, 14.0, 40.0  # room for the altitude and distance labels


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def profile_svg(points: Sequence[tuple[float, float]], *, title: str) -> Markup:
    """The SVG of ``points`` ((distance m, altitude m), distance ascending, at least two);
    ``title`` names it (e.g. the activity and its date) for screen readers."""
    d0, d1 = points[0][0], points[-1][0]
    altitudes = [a for _, a in points]
    lo, hi = min(altitudes), max(altitudes)
    span_d = (d1 - d0) or 1.0
    pad = max((hi - lo) * 0.08, 2.0)
    a_lo, a_hi = lo - pad, hi + pad
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(d: float) -> float:
        return LEFT + (d - d0) / span_d * plot_w

    def y(a: float) -> float:
        return TOP + (a_hi - a) / (a_hi - a_lo) * plot_h

    line = " ".join(f"{_n(x(d))},{_n(y(a))}" for d, a in points)
    base = TOP + plot_h
    area = f"M{_n(x(d0))},{_n(base)} L{line.replace(' ', ' L')} L{_n(x(d1))},{_n(base)} Z"
    km = (d1 - d0) / 1000.0
    label = f"{title}: elevation profile over {km:.2f} km, altitude from {lo:.0f} m to {hi:.0f} m"
    text = escape(label)
    return Markup(
        f'<svg class="profile" viewBox="0 0 {_n(WIDTH)} {_n(HEIGHT)}" width="100%" role="img" '
        f'aria-label="{text}" preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{text}</title>"
        f'<path d="{area}" fill="#cfe0ef" stroke="none"/>'
        f'<polyline points="{line}" fill="none" stroke="#12395b" stroke-width="2.5" stroke-linejoin="round"/>'
        f'<line x1="{_n(LEFT)}" y1="{_n(base)}" x2="{_n(WIDTH - RIGHT)}" y2="{_n(base)}" stroke="#888"/>'
        f'<line x1="{_n(LEFT)}" y1="{_n(TOP)}" x2="{_n(LEFT)}" y2="{_n(base)}" stroke="#888"/>'
        f'<g font-size="22" fill="#1b1f23" font-family="system-ui,sans-serif">'
        f'<text x="{_n(LEFT - 8)}" y="{_n(y(hi) + 7)}" text-anchor="end">{hi:.0f} m</text>'
        f'<text x="{_n(LEFT - 8)}" y="{_n(y(lo) + 7)}" text-anchor="end">{lo:.0f} m</text>'
        f'<text x="{_n(LEFT)}" y="{_n(HEIGHT - 10)}">0 km</text>'
        f'<text x="{_n(WIDTH - RIGHT)}" y="{_n(HEIGHT - 10)}" text-anchor="end">{km:.2f} km</text>'
        f"</g></svg>"
    )
