/* loadmon Charts page: fetch /api/charts and draw it with the vendored uPlot (static/vendor/uplot).
   Plain JavaScript, no build step. Every chart shares one time axis: drag to zoom (all follow),
   double-click or "Reset zoom" to go back; hover shows the day's values and its symptoms/alerts. */
(function () {
  "use strict";
  var DAY = 86400;
  var DEFAULT_DAYS = 182;
  var SEVERITY = { info: "#305d9e", warning: "#e8a400", danger: "#c62828" };
  var ACWR_COLOURS = { rolling_coupled: "#3f7fd1", rolling_uncoupled: "#8e44ad", ewma: "#e67e22" };
  var PMC_COLOURS = { fitness: "#1f77b4", fatigue: "#d6336c", form: "#2e8b57" };
  var BAR_COLOURS = { distance_km: "#3f7fd1", descent_m: "#8d6e63" };
  var charts = [];
  window.loadmonCharts = charts;  // the uPlot instances (the browser tests read their time scales)
  var syncing = false;
  var full = null;  // [min, max] of the whole history, in seconds

  function ts(iso) {  // a local day "YYYY-MM-DD" as seconds at its UTC midnight (the axis is drawn in UTC)
    var p = iso.split("-");
    return Date.UTC(+p[0], +p[1] - 1, +p[2]) / 1000;
  }

  function isoOf(sec) {
    return new Date(sec * 1000).toISOString().slice(0, 10);
  }

  function fmt(v, digits) {
    return v == null ? "-" : v.toFixed(digits);
  }

  function status(text) {
    document.getElementById("charts-status").textContent = text;
  }

  function figure(id, title) {
    var fig = document.createElement("figure");
    fig.className = "chart";
    fig.id = id;
    var h = document.createElement("h2");
    h.textContent = title;
    var plot = document.createElement("div");
    plot.className = "plot";
    var marks = document.createElement("p");
    marks.className = "marks";
    marks.setAttribute("aria-live", "polite");
    fig.appendChild(h);
    fig.appendChild(plot);
    fig.appendChild(marks);
    document.getElementById("charts").appendChild(fig);
    return fig;
  }

  function size(fig) {
    var w = Math.max(200, fig.querySelector(".plot").clientWidth);
    return { width: w, height: w < 500 ? 200 : 240 };
  }

  /* symptoms (shaded, under the data) and alerts (dotted rule + triangle, over the data) */
  function drawSpans(u, data) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height, left = u.bbox.left, right = left + u.bbox.width;
    ctx.save();
    ctx.fillStyle = "rgba(214,51,108,0.14)";
    data.symptoms.forEach(function (s) {
      var x0 = Math.max(left, u.valToPos(ts(s.start), "x", true));
      var x1 = Math.min(right, u.valToPos(ts(s.end) + DAY, "x", true));
      if (x1 > x0) ctx.fillRect(x0, top, Math.max(1, x1 - x0), h);
    });
    ctx.restore();
  }

  function drawFlags(u, data) {
    var ctx = u.ctx, top = u.bbox.top, h = u.bbox.height, left = u.bbox.left, right = left + u.bbox.width;
    var r = 5 * devicePixelRatio;
    ctx.save();
    ctx.lineWidth = devicePixelRatio;
    ctx.setLineDash([2 * devicePixelRatio, 3 * devicePixelRatio]);
    data.alerts.forEach(function (a) {
      var x = u.valToPos(ts(a.date) + DAY / 2, "x", true);
      if (x < left || x > right) return;
      var colour = SEVERITY[a.severity] || SEVERITY.info;
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + h);
      ctx.stroke();
      ctx.beginPath();
      ctx.moveTo(x - r, top);
      ctx.lineTo(x + r, top);
      ctx.lineTo(x, top + r * 1.6);
      ctx.closePath();
      ctx.fill();
    });
    ctx.restore();
  }

  function drawAcwrBand(u, band) {
    var ctx = u.ctx, left = u.bbox.left, w = u.bbox.width;
    var yHi = u.valToPos(band.high, "y", true), yLo = u.valToPos(band.low, "y", true);
    ctx.save();
    ctx.fillStyle = "rgba(46,139,87,0.16)";
    ctx.fillRect(left, yHi, w, yLo - yHi);
    ctx.restore();
  }

  function drawDangerLine(u, band) {
    var ctx = u.ctx, left = u.bbox.left, w = u.bbox.width;
    var y = u.valToPos(band.danger, "y", true);
    if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) return;
    ctx.save();
    ctx.strokeStyle = "#c62828";
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + w, y);
    ctx.stroke();
    ctx.restore();
  }

  /* the symptoms and alerts of the hovered day (or week), written under the chart */
  function marksText(data, from, to) {
    var out = [];
    data.symptoms.forEach(function (s) { if (s.start <= to && s.end >= from) out.push(s.text); });
    data.alerts.forEach(function (a) { if (a.date >= from && a.date <= to) out.push("Alert: " + a.text); });
    return out.join(" | ");
  }

  function onCursor(fig, data, weekly) {
    return function (u) {
      var i = u.cursor.idx, p = fig.querySelector(".marks");
      if (i == null) { p.textContent = ""; return; }
      var day = isoOf(u.data[0][i]);
      p.textContent = marksText(data, day, weekly ? isoOf(u.data[0][i] + 6 * DAY) : day);
    };
  }

  /* one x range for every chart */
  function onScale(u, key) {
    if (key !== "x" || syncing) return;
    var min = u.scales.x.min, max = u.scales.x.max;
    syncing = true;
    charts.forEach(function (c) {
      if (c !== u && (c.scales.x.min !== min || c.scales.x.max !== max)) c.setScale("x", { min: min, max: max });
    });
    syncing = false;
  }

  function setRange(days) {
    if (!full) return;
    var min = days === "all" ? full[0] : Math.max(full[0], full[1] - days * DAY);
    charts.forEach(function (c) { c.setScale("x", { min: min, max: full[1] }); });
  }

  /* a text alternative for the canvas: what it shows and its latest values */
  function describe(u, fig) {
    var last = u.data[0].length - 1, parts = [];
    for (var i = 1; i < u.series.length; i++) {
      var v = u.data[i][last];
      parts.push(u.series[i].label + " " + (v == null ? "none" : u.series[i].value(u, v)));
    }
    u.ctx.canvas.setAttribute("role", "img");
    u.ctx.canvas.setAttribute("aria-label", fig.querySelector("h2").textContent + "; latest (" +
                              isoOf(u.data[0][last]) + "): " + parts.join(", "));
  }

  function options(fig, data, title, series, extra) {
    var s = size(fig);
    var opts = {
      title: "",
      width: s.width,
      height: s.height,
      tzDate: function (sec) { return uPlot.tzDate(new Date(sec * 1e3), "Etc/UTC"); },
      cursor: { sync: { key: "loadmon-charts" }, drag: { x: true, y: false, setScale: true } },
      scales: { x: { time: true } },
      legend: { live: true },
      axes: [{}, { size: 48 }],
      series: [{ label: "day", value: function (u, v) { return v == null ? "-" : isoOf(v); } }].concat(series),
      hooks: { setScale: [onScale], ready: [function (u) { describe(u, fig); }] }
    };
    Object.keys(extra || {}).forEach(function (k) { opts[k] = extra[k]; });
    return opts;
  }

  function line(label, colour, digits, unit) {
    return { label: label, stroke: colour, width: 1.5, spanGaps: false,
             value: function (u, v) { return v == null ? "-" : v.toFixed(digits) + (unit ? " " + unit : ""); } };
  }

  function dailyX(data) {
    var x = new Array(data.days), start = ts(data.first_day);
    for (var i = 0; i < data.days; i++) x[i] = start + i * DAY;
    return x;
  }

  function weeklyChart(data, name) {
    var w = data.weekly[name];
    var fig = figure("chart-weekly-" + name, w.label.charAt(0).toUpperCase() + w.label.slice(1) +
                     (w.unit ? " (" + w.unit + " per week)" : ""));
    if (!w.available) {
      fig.querySelector(".plot").textContent = "Not available: " + (w.reason || "no data") + ".";
      return;
    }
    var x = w.weeks.map(ts);
    var digits = w.unit === "km" ? 2 : 0;
    var bar = { label: "week's total" + (w.partial[w.partial.length - 1] ? " (this week: so far)" : ""),
                stroke: BAR_COLOURS[name], fill: BAR_COLOURS[name] + "99",
                paths: uPlot.paths.bars({ size: [0.85, 40], align: 1 }), points: { show: false },
                value: function (u, v) { return v == null ? "-" : v.toFixed(digits) + " " + w.unit; } };
    var opts = options(fig, data, w.label, [bar], {
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, Math.max(1, max * 1.08)]; } } }
    });
    opts.series[0].value = function (u, v) { return v == null ? "-" : "week of " + isoOf(v); };
    opts.hooks.drawAxes = [function (u) { drawSpans(u, data); }];
    opts.hooks.draw = [function (u) { drawFlags(u, data); }];
    opts.hooks.setCursor = [onCursor(fig, data, true)];
    charts.push(new uPlot(opts, [x, w.values], fig.querySelector(".plot")));
  }

  function acwrChart(data, x) {
    var fig = figure("chart-acwr", "ACWR, " + data.channel_label);
    var series = Object.keys(data.acwr).map(function (k) {
      return line(data.acwr[k].label, ACWR_COLOURS[k] || "#555", 2, "");
    });
    var opts = options(fig, data, "ACWR", series, {
      scales: { x: { time: true }, y: { range: function (u, min, max) {
        return [0, Math.min(4, Math.max(2, (max || 0) * 1.05))];
      } } }
    });
    opts.hooks.drawAxes = [function (u) { drawAcwrBand(u, data.acwr_band); drawSpans(u, data); }];
    opts.hooks.draw = [function (u) { drawDangerLine(u, data.acwr_band); drawFlags(u, data); }];
    opts.hooks.setCursor = [onCursor(fig, data, false)];
    var cols = [x].concat(Object.keys(data.acwr).map(function (k) { return data.acwr[k].values; }));
    charts.push(new uPlot(opts, cols, fig.querySelector(".plot")));
  }

  function pmcChart(data, x) {
    var fig = figure("chart-pmc", "Fitness, fatigue and form, " + data.channel_label + " (" + data.unit + " per day)");
    var series = Object.keys(data.pmc).map(function (k) {
      return line(data.pmc[k].label, PMC_COLOURS[k] || "#555", data.unit === "km" ? 2 : 1, data.unit);
    });
    var opts = options(fig, data, "PMC", series);
    opts.hooks.drawAxes = [function (u) { drawSpans(u, data); }];
    opts.hooks.draw = [function (u) { drawFlags(u, data); }];
    opts.hooks.setCursor = [onCursor(fig, data, false)];
    var cols = [x].concat(Object.keys(data.pmc).map(function (k) { return data.pmc[k].values; }));
    charts.push(new uPlot(opts, cols, fig.querySelector(".plot")));
  }

  function draw(data) {
    if (!data.days) {
      status("No runs yet: import your runs with loadmon import PATH, then the charts appear here.");
      return;
    }
    var x = dailyX(data);
    full = [x[0], x[x.length - 1] + DAY];
    Object.keys(data.weekly).forEach(function (name) { weeklyChart(data, name); });
    acwrChart(data, x);
    pmcChart(data, x);
    status(data.first_day + " to " + data.last_day + " (" + data.days + " days, local days in " + data.timezone +
           "); " + data.symptoms.length + " symptoms and " + data.alerts.length + " alerts marked.");
    setRange(DEFAULT_DAYS);
    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        charts.forEach(function (c) { c.setSize(size(c.root.closest("figure"))); });
      }, 100);
    });
  }

  document.querySelectorAll(".chart-controls button[data-days]").forEach(function (b) {
    b.addEventListener("click", function () {
      var d = b.getAttribute("data-days");
      setRange(d === "all" ? "all" : +d);
    });
  });
  document.getElementById("chart-reset").addEventListener("click", function () { setRange(DEFAULT_DAYS); });

  fetch("/api/charts", { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) {
      if (!r.ok) throw new Error("the server answered " + r.status);
      return r.json();
    })
    .then(draw)
    .catch(function (e) { status("The charts could not be loaded: " + e.message); });
})();
