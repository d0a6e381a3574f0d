"""The report's tables (pure: data in, HTML out).

Every table sits in a ``div.table-scroll`` (it scrolls sideways inside the page instead of
widening it); record tables (``stack=True``) show one field per line on a narrow screen,
each labelled from its column header (``data-label``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from typing import Any

from loadmon.engine import ACWR_KINDS, ActivityFinding, LoadResult, acwr_zone
from loadmon.load_channels import ACWR_KIND_BY_NAME, channel_label
from loadmon.report.svg import fmt

__all__ = ["alert_table", "html_table", "spike_table", "summary_table", "symptom_table", "as_date"]

BAND_CSS = {"<=10%": "band-ref", ">10-30%": "band-1", ">30-100%": "band-2", ">100%": "band-3"}

#: One cell: its HTML (already escaped), its CSS class ("" for none) and optional extra attributes.
Cell = tuple[str, str] | tuple[str, str, str]


def as_date(value: Any) -> date | None:
    """A date from a date, datetime or ISO string (``None`` when it is none of these)."""
    if isinstance(value, date):
        return value if type(value) is date else value.date()  # type: ignore[attr-defined]
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, stack: bool = False) -> str:
    """A table in its scroll wrapper; ``headers`` are plain text (escaped here)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            content, css = cell[0], cell[1]
            extra = f" {cell[2]}" if len(cell) > 2 else ""
            label = f' data-label="{escape(headers[i], quote=True)}"' if stack and i < len(headers) else ""
            cls = f' class="{css}"' if css else ""
            cells.append(f"<td{cls}{label}{extra}>{content}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    css = ' class="stack"' if stack else ""
    return (f'<div class="table-scroll"><table{css}><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>")


def summary_table(result: LoadResult, day: date) -> str:
    """One row per load channel on ``day``: 7-day sum, ramp, the three ACWRs, PMC, monotony."""
    headers = ["channel", "last 7 days", "weekly ramp", *(f"ACWR {ACWR_KIND_BY_NAME[k].label}" for k in ACWR_KINDS),
               "fitness / fatigue / form", "monotony"]
    rows: list[list[Cell]] = []
    for name, series in result.channels.items():
        label = (escape(channel_label(name)), "")
        if not series.available:
            rows.append([label, (f"not available: {escape(series.reason or '')}", "muted",
                                 f'colspan="{len(headers) - 1}"')])
            continue
        m = series.day(day)
        ramp: Cell = ((f"{m.ramp_pct:+.0f}%", "num") if m.ramp_pct is not None
                      else (escape(m.ramp_reason or "-"), "num muted"))
        rows.append([
            label, (f"{fmt(m.acute_7d)} {escape(series.unit)}", "num"), ramp,
            *(_ratio(*m.acwr(k), zone=True) for k in ACWR_KINDS),
            (f"{fmt(m.fitness)} / {fmt(m.fatigue)} / {fmt(m.form)}", "num"),
            _ratio(m.monotony, m.monotony_reason),
        ])
    return html_table(headers, rows)


def _ratio(value: float | None, reason: str | None, *, zone: bool = False) -> Cell:
    if value is None:
        return escape(reason or "-"), "num muted"
    z = acwr_zone(value) if zone else None
    return f"{value:.2f}", "num" + (f" zone-{z}" if z else ""), f'title="{escape(z.replace("_", " ") if z else "")}"'


def spike_table(findings: Sequence[ActivityFinding], names: Mapping[int, str]) -> str:
    """The runs more than 10 % longer than the longest of their previous 30 days."""
    rows: list[list[Cell]] = []
    for f in findings:
        if f.spike_band in (None, "<=10%"):
            continue
        ci = f" ({f.spike_hrr_ci[0]:.2f}-{f.spike_hrr_ci[1]:.2f})" if f.spike_hrr_ci else ""
        rows.append([
            (f.local_date.isoformat(), "day"), (escape(names.get(f.activity_id, "") or ""), ""),
            (f"{fmt(f.distance_km)} km", "num"), (f"{fmt(f.longest_prev_30d_km)} km", "num"),
            (f"{f.distance_increase_pct:+.1f}%", "num"),
            (escape(f.spike_band or ""), BAND_CSS.get(f.spike_band or "", "")), (f"{f.spike_hrr:.2f}{ci}", "num"),
        ])
    if not rows:
        return '<p class="muted">No run was more than 10% longer than the longest run of its previous 30 days.</p>'
    return html_table(["day", "run", "distance", "longest previous 30 days", "longer by", "band",
                       "hazard rate ratio (95% CI)"], rows, stack=True)


def alert_table(alerts: Sequence[Mapping[str, Any]], first: date, last: date) -> str:
    """The alerts of first..last, oldest first."""
    rows: list[list[Cell]] = []
    for a in sorted(alerts, key=lambda a: (str(as_date(a.get("local_date")) or ""), str(a.get("rule", "")))):
        day = as_date(a.get("local_date"))
        if day is None or not first <= day <= last:
            continue
        severity = escape(str(a.get("severity", "info")))
        rows.append([(day.isoformat(), "day"), (severity, f"sev-{severity}"), (escape(str(a.get("rule", ""))), ""),
                     (escape(str(a.get("message", ""))), "")])
    if not rows:
        return '<p class="muted">No alerts in this period.</p>'
    return html_table(["day", "severity", "rule", "message"], rows, stack=True)


def symptom_table(descriptions: Sequence[str]) -> str:
    """One symptom per row (plain text, escaped here)."""
    if not descriptions:
        return '<p class="muted">No symptoms recorded.</p>'
    return html_table(["symptom"], [[(escape(d), "")] for d in descriptions])
