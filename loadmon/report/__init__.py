"""The self-contained HTML report: ``render_report(result, ...) -> str``.

Pure rendering (data in, one HTML string out): inline CSS, server-side SVG charts and a few
lines of inline JavaScript; the file opens offline. See :mod:`loadmon.report.page`.
"""

from __future__ import annotations

from loadmon.report.page import render_report

__all__ = ["render_report"]
