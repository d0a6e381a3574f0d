"""Benchmark: the web app's Charts page and /api/charts for an athlete with 10 years of history.

Target (issue 13): the Charts data (/api/charts) under 100 ms server time (median). Also the page
weight of /charts with every asset it loads (uPlot, its CSS, charts.js, the stylesheet) and its
data, as sent and gzipped. The same synthetic history and in-process client as bench/web_today.py.

    .venv/bin/python bench/web_charts.py [--years 10] [--runs 2500] [--repeat 15]
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from web_today import arguments, logged_in, median_ms, weight


def main() -> None:
    args = arguments()
    with logged_in(args.years, args.runs) as (c, activities):
        page_t = median_ms(lambda: c.get("/charts"), args.repeat)
        data_t = median_ms(lambda: c.get("/api/charts"), args.repeat)
        data = c.get("/api/charts").json()
        assert data["days"] > 365 * args.years - 10, "the whole history is charted"
        page = c.get("/charts").text
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        sent, zipped = weight(c, ["/charts", *assets])
        data_sent, data_zipped = weight(c, ["/api/charts"])
    n_runs = sum(a.sport == "running" for a in activities)
    points = data["days"] * (len(data["acwr"]) + len(data["pmc"])) + sum(len(w.get("values", ())) for w in data["weekly"].values())
    print(f"{len(activities)} activities ({n_runs} runs) over {args.years} years; median of {args.repeat}:")
    print(f"  GET /charts      {page_t}")
    print(
        f"  GET /api/charts  {data_t}   (target < 100 ms; {data['days']:,} days, {points:,} points, "
        f"{len(json.dumps(data)):,} bytes of JSON)"
    )
    print(f"  Charts page weight: {sent:,} bytes, {zipped:,} gzipped (the page and {', '.join(assets)})")
    print(f"  + its data: {data_sent:,} bytes, {data_zipped:,} gzipped")


if __name__ == "__main__":
    main()
