"""The report page's inline CSS and JavaScript (constants; see :mod:`loadmon.report.page`).

The page reads on a phone: the charts switch to their narrow drawing below 700 px
(:data:`loadmon.report.svg.CHART_CSS`), every table sits in a horizontally scrollable
wrapper, and the record tables (spikes, alerts) stack one field per line on a narrow screen.
"""

from __future__ import annotations

from loadmon.report.svg import CHART_CSS, NARROW_BELOW_PX

__all__ = ["CSS", "ERROR_HOOK", "JS"]

CSS = """
:root { --ink:#1d2430; --muted:#5b6576; --line:#d8dde6; --bg:#ffffff; --panel:#f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
main { max-width: 1000px; margin: 0 auto; padding: 20px 16px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; overflow-wrap: anywhere; } h2 { font-size: 17px; margin: 28px 0 8px; }
h3.chart-title { font-size: 14px; margin: 14px 0 2px; } h3.chart-title .unit { font-weight: 400; color: var(--muted); }
p, li, td { overflow-wrap: anywhere; }
p.meta, p.note, .muted { color: var(--muted); } p.note { font-size: 13px; max-width: 80ch; }
.table-scroll { max-width: 100%; overflow-x: auto; -webkit-overflow-scrolling: touch; margin: 6px 0 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--panel); font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num, td.day { white-space: nowrap; overflow-wrap: normal; }
.zone-low { color: #52607a; } .zone-sweet_spot { color: #1c7c3a; } .zone-caution { color: #b86b00; }
.zone-danger { color: #c62828; font-weight: 600; }
.sev-info { color: #305d9e; } .sev-warning { color: #b86b00; font-weight: 600; } .sev-danger { color: #c62828; font-weight: 700; }
figure { margin: 4px 0 18px; } figcaption { font-size: 12px; color: var(--muted); }
svg .tick { fill: var(--muted); }
svg .bar-note { fill: var(--ink); paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
svg .note-leader { stroke: var(--ink); stroke-width: 1; }
svg .grid { stroke: #eef1f5; stroke-width: 1; } svg .axis { stroke: #9aa3b2; stroke-width: 1; fill: none; }
svg .bars-distance rect { fill: #3f7fd1; } svg .bars-descent rect { fill: #8a5a2b; }
svg rect.partial { fill-opacity: 0.45; stroke: #1d2430; stroke-width: 1; stroke-dasharray: 3 2; }
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
.legend { display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 12px; margin: 4px 0 0; }
.legend button { font: inherit; background: none; border: 0; padding: 0; cursor: pointer; color: var(--ink); text-align: left; }
.legend button.off { opacity: 0.4; text-decoration: line-through; }
.legend .sw { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.legend .dotsw { display: inline-block; width: 9px; height: 9px; border-radius: 50%; vertical-align: middle; margin-right: 4px; }
ul.key { list-style: none; padding: 0; margin: 6px 0 4px; font-size: 12px; color: var(--muted); }
ul.key li { margin: 2px 0; padding-left: 22px; text-indent: -22px; }
ul.key .k { display: inline-block; width: 16px; height: 10px; margin-right: 6px; vertical-align: middle; text-indent: 0; }
.k-symptom { background: rgba(214, 51, 108, 0.18); }
.k-sweet { background: rgba(46, 158, 79, 0.22); }
.k-danger { border-top: 2px dashed #c62828; height: 0 !important; }
.k-partial { background: rgba(63, 127, 209, 0.45); outline: 1px dashed #1d2430; outline-offset: -1px; }
.k-spike { width: 10px !important; height: 10px !important; border-radius: 50%; background: #e8590c; box-shadow: 0 0 0 1px #1d2430; }
.k-alert { width: auto !important; height: auto !important; font-size: 11px; line-height: 1; letter-spacing: 1px; }
.k-alert b { font-weight: 400; }
""" + CHART_CSS + f"""
@media (max-width: {NARROW_BELOW_PX - 0.02}px) {{
  main {{ padding: 14px 12px 32px; }}
  table.stack thead {{ display: none; }}
  table.stack, table.stack tbody, table.stack tr, table.stack td {{ display: block; width: 100%; }}
  table.stack tr {{ border-bottom: 1px solid var(--line); padding: 4px 0; }}
  table.stack td {{ border: 0; padding: 1px 0; text-align: left; white-space: normal; }}
  table.stack td::before {{ content: attr(data-label) ": "; color: var(--muted); }}
}}
"""

# Toggles series from the legends (in every drawing of the chart) and marks the page ready.
JS = """
(function () {
  var buttons = document.querySelectorAll('.legend button[data-toggle]');
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener('click', function (ev) {
      var btn = ev.currentTarget, name = btn.getAttribute('data-toggle');
      var items = document.querySelectorAll('svg[data-chart-id="' + btn.getAttribute('data-chart') + '"] '
                                            + '[data-series="' + name + '"]');
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

# Reports errors into the page (a data attribute the browser test reads).
ERROR_HOOK = """
window.addEventListener('error', function (e) {
  var n = Number(document.documentElement.getAttribute('data-js-errors') || '0') + 1;
  document.documentElement.setAttribute('data-js-errors', String(n));
});
"""
