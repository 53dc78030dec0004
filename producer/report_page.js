// The chain report's script: the overview table (sortable, with each store's weekly shape), the stores
// furthest from their expectation, and the picked store's figures drawn with Plotly (inlined above).
"use strict";
(function () {
  const DATA = JSON.parse(document.getElementById("report-data").textContent);
  const SIM = "#4C78A8", EXP = "#E45756", AWAY = "#F58518", GAVE = "#B279A2", CAP = "#555555";
  const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
  const LEGEND = { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" };  // above the plotting area
  const MARGIN = { t: 60, r: 20, b: 60, l: 60 };
  const CONFIG = { responsive: true, displaylogo: false };

  const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  const fmt = (v, d) => (v === null || v === undefined) ? "" : (typeof v === "number" ? v.toFixed(d) : String(v));
  const COLUMNS = [
    ["store", "store", (r) => esc(r.store)],
    ["zone", "time zone", (r) => esc(r.zone)],
    ["visits", "visits", (r) => fmt(r.visits, 0)],
    ["arrivals", "arrivals", (r) => fmt(r.arrivals, 0)],
    ["expected", "expected", (r) => fmt(r.expected, 0)],
    ["z", "z", (r) => fmt(r.z, 2)],
    ["busiest", "busiest hour", (r) => r.busiest],
    ["peak", "peak inside", (r) => fmt(r.peak, 0) + (r.peak_at ? " (" + r.peak_at + ")" : "")],
    ["median_dwell", "median dwell (min)", (r) => fmt(r.median_dwell, 0)],
    ["capacity", "capacity", (r) => fmt(r.capacity, 0)],
    ["turned_away", "turned away", (r) => fmt(r.turned_away, 0)],
    ["gave_up", "gave up", (r) => fmt(r.gave_up, 0)],
    ["undercount", "sensor undercount", (r) => (r.undercount === undefined || r.undercount === null) ? "" : (100 * r.undercount).toFixed(1) + " %"],
    ["shape", "weekly shape", null],
  ];
  const shown = COLUMNS.filter((c) => c[0] === "store" || c[0] === "shape" || DATA.stores.some((r) => r[c[0]] !== undefined && r[c[0]] !== null));

  function sparkline(store) {
    const fig = DATA.figures[store];
    const sim = fig.weekly_shape, w = 168, h = 28;
    const exp = fig.weekly.expected ? fig.weekly.expected.map((v) => v === null ? 0 : v) : null;
    const line = (values, color) => {
      const top = Math.max(1e-9, ...values);
      const pts = values.map((v, i) => (i * (w - 1) / (values.length - 1)).toFixed(1) + "," + (h - 1 - (h - 2) * v / top).toFixed(1));
      return '<polyline fill="none" stroke="' + color + '" stroke-width="1" points="' + pts.join(" ") + '"/>';
    };
    return '<svg class="shape" width="' + w + '" height="' + h + '" role="img" aria-label="weekly shape of ' + esc(store) + '">' +
      line(sim, SIM) + (exp ? line(exp.flat ? exp.flat() : exp, EXP) : "") + "</svg>";
  }

  function fillTable(rows) {
    const head = document.querySelector("#overview thead");
    head.innerHTML = "<tr>" + shown.map((c) => '<th data-key="' + c[0] + '">' + c[1] + "</th>").join("") + "</tr>";
    const body = document.querySelector("#overview tbody");
    body.innerHTML = rows.map((r) => '<tr data-store="' + esc(r.store) + '">' + shown.map((c) =>
      c[0] === "shape" ? "<td>" + sparkline(r.store) + "</td>" :
        '<td class="' + (c[0] === "store" || c[0] === "zone" || c[0] === "busiest" ? "" : "num") + '">' + c[2](r) + "</td>").join("") + "</tr>").join("");
    body.querySelectorAll("tr").forEach((tr) => tr.addEventListener("click", () => pick(tr.dataset.store)));
  }

  let sortKey = null, sortUp = true;
  function sortBy(key) {
    if (key === "shape") return;
    sortUp = key === sortKey ? !sortUp : true;
    sortKey = key;
    const rows = DATA.stores.slice().sort((a, b) => {
      const x = a[key], y = b[key];
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * (sortUp ? 1 : -1);
    });
    fillTable(rows);
    markPicked();
    document.querySelectorAll("#overview th").forEach((th) => th.addEventListener("click", () => sortBy(th.dataset.key)));
  }

  function furthest() {
    const scored = DATA.stores.filter((r) => r.z !== null && r.z !== undefined);
    scored.sort((a, b) => Math.abs(b.z) - Math.abs(a.z));
    const list = document.getElementById("furthest");
    if (!scored.length) { list.innerHTML = "<li>No expectation (no run.json).</li>"; return; }
    list.innerHTML = scored.slice(0, 5).map((r) => '<li><a href="#store-heading" data-store="' + esc(r.store) + '">' + esc(r.store) +
      '</a>: <span class="' + (Math.abs(r.z) > 3 ? "far" : "") + '">' + fmt(r.arrivals, 0) + " arrivals against " + fmt(r.expected, 0) +
      " expected, z = " + fmt(r.z, 2) + "</span></li>").join("");
    list.querySelectorAll("a").forEach((a) => a.addEventListener("click", () => pick(a.dataset.store)));
  }

  // Local wall-clock seconds (from a first value, a step and the DST jumps) as dates Plotly shows as they are.
  function times(x, n) {
    const out = new Array(n);
    const jumps = new Map(x.jumps.map((j) => [j[0], j[1]]));
    let t = x.x0;
    for (let i = 0; i < n; i++) {
      if (i > 0) t += x.dx + (jumps.get(i) || 0);
      out[i] = new Date(t * 1000).toISOString().slice(0, 19);
    }
    return out;
  }

  // The store's labelled scenario windows (run.json's labels, on its local clock), as shaded rectangles.
  const SHADE = { surge: "#F58518", early_closure: "#555555", door_blocked: "#B279A2", counter_offline: "#E45756", slow_checkout: "#54A24B" };
  function shades(fig) {
    const iso = (t) => new Date(t * 1000).toISOString().slice(0, 19);
    return (fig.labels || []).map((l) => ({ type: "rect", xref: "x", yref: "paper", x0: iso(l.x0), x1: iso(l.x1), y0: 0, y1: 1,
      fillcolor: SHADE[l.kind] || CAP, opacity: 0.18, layer: "below", line: { width: 0 }, name: l.kind,
      label: { text: l.kind.replace("_", " "), textposition: "top left", font: { size: 10, color: CAP } } }));
  }
  function shadeCaption(fig) {
    const labels = fig.labels || [];
    if (!labels.length) return "";
    const kinds = [...new Set(labels.map((l) => l.kind.replace("_", " ")))].join(", ");
    return " Shaded: the run's " + labels.length + " labelled scenario window" + (labels.length > 1 ? "s" : "") + " (" + kinds + ").";
  }

  function section(parent, id, title, caption) {
    const div = document.createElement("section");
    div.id = id;
    div.innerHTML = "<h3>" + title + '</h3><div class="fig" id="' + id + '-plot"></div><p class="caption">' + caption + "</p>";
    parent.appendChild(div);
    return id + "-plot";
  }

  function occupancy(parent, store, fig) {
    const o = fig.occupancy, x = times(o.x, o.simulated.length);
    const traces = [{ x: x, y: o.simulated, name: "simulated (door events)", line: { color: SIM, width: 1 } }];
    if (o.expected) traces.push({ x: x, y: o.expected, name: "expected E[N(t)]" + (o.capacity ? ", without the capacity limit" : ""), line: { color: EXP, width: 1.5 } });
    if (o.capacity) traces.push({ x: [x[0], x[x.length - 1]], y: [o.capacity, o.capacity], name: "capacity " + o.capacity, mode: "lines", line: { color: CAP, dash: "dash", width: 1 } });
    // The first week (or the whole run when shorter) is shown; the slider reaches the rest.
    const weekEnd = x.length > 1 ? new Date(Math.min(Date.parse(x[0] + "Z") + 7 * 86400e3, Date.parse(x[x.length - 1] + "Z"))).toISOString().slice(0, 19) : undefined;
    const week = x.length > 1 ? [x[0], weekEnd] : undefined;
    Plotly.newPlot(section(parent, "occupancy", "Customers inside (" + fig.zone + ")",
      "Customers inside store " + store + " at the end of each " + (o.x.dx / 60) + "-minute step, on its local clock (" + fig.zone +
      "): entries minus exits so far. Expected: the arrival rate integrated against the dwell survival" +
      (o.capacity ? ", for a store without a limit; the dashed line is this store's capacity, which the data cannot pass." : ".") +
      " Drag the slider or on the figure to zoom (the first week is shown); double-click to see it all." + shadeCaption(fig)),
    traces, { margin: MARGIN, legend: LEGEND, shapes: shades(fig), yaxis: { title: { text: "customers inside" }, rangemode: "tozero" },
      xaxis: { title: { text: "local time (" + fig.zone + ")" }, type: "date", range: week, rangeslider: { visible: true } } }, CONFIG);
  }

  function weekly(parent, store, fig) {
    const w = fig.weekly, x = [], sim = [], exp = [];
    for (let d = 0; d < 7; d++) for (let h = 0; h < 24; h++) {
      x.push(DAYS[d] + " " + String(h).padStart(2, "0") + ":00");
      sim.push(w.simulated[d][h]);
      if (w.expected) exp.push(w.expected[d][h]);
    }
    const traces = [{ x: x, y: sim, type: "bar", name: "simulated (mean per day)", marker: { color: SIM, opacity: 0.7 } }];
    if (w.expected) traces.push({ x: x, y: exp, name: "expected", mode: "lines", line: { color: EXP, shape: "hv" } });
    Plotly.newPlot(section(parent, "weekly", "Arrivals per local hour, by weekday (" + fig.zone + ")",
      "Bars: store " + store + "'s arrivals in each local hour (" + fig.zone + "), averaged over the run's days that have that hour. Line: the profile's expected arrivals per hour."),
    traces, { margin: MARGIN, legend: LEGEND, bargap: 0, yaxis: { title: { text: "arrivals per hour" } },
      xaxis: { title: { text: "local weekday and hour (" + fig.zone + ")" }, type: "category", nticks: 14 } }, CONFIG);
  }

  function daily(parent, store, fig) {
    const d = fig.daily, x = d.day.map((v, i) => d.weekday[i] + " " + v + (d.partial[i] ? " (partial)" : ""));
    const colors = d.partial.map((p) => p ? "rgba(76,120,168,0.25)" : SIM);
    const traces = [{ x: x, y: d.simulated, type: "bar", name: "simulated", marker: { color: colors },
      customdata: d.hours, hovertemplate: "%{x}: %{y} visits in %{customdata} h<extra></extra>" }];
    if (d.expected) traces.push({ x: x, y: d.expected, name: "expected", mode: "lines+markers", line: { color: EXP } });
    const partial = d.partial.some((p) => p);
    Plotly.newPlot(section(parent, "daily", "Daily totals (" + fig.zone + ")",
      "Visits that entered store " + store + " on each local day (" + fig.zone + "), and the profile's expected total for it." +
      (partial ? " Pale bars, named (partial), are days the run's span cuts: only part of the day was simulated." : "")),
    traces, { margin: MARGIN, legend: LEGEND, yaxis: { title: { text: "visits per day" } },
      xaxis: { title: { text: "local day (" + fig.zone + ")" }, type: "category" } }, CONFIG);
  }

  function dwell(parent, store, fig) {
    const d = fig.dwell;
    const traces = [{ x: d.minutes, y: d.simulated, type: "bar", name: "simulated", marker: { color: SIM, opacity: 0.7 } }];
    if (d.expected) traces.push({ x: d.minutes, y: d.expected, name: "expected (dwell model x visits)", mode: "lines", line: { color: EXP, shape: "hvh" } });
    Plotly.newPlot(section(parent, "dwell", "Dwell",
      "Store " + store + "'s visits per whole minute of dwell, and its dwell model's probability of each minute times its visits. " +
      "The axis ends at the longest visit (" + d.longest + " min) or where under half a visit is expected beyond, whichever is later."),
    traces, { margin: MARGIN, legend: LEGEND, bargap: 0, yaxis: { title: { text: "visits" } },
      xaxis: { title: { text: "dwell (trip_duration_minutes)" }, range: [0, d.axis_end] } }, CONFIG);
  }

  function admission(parent, store, fig) {
    const a = fig.admission, d = fig.daily;  // the same local days: the cut ones are named (partial)
    const x = a.day.map((v, i) => d.weekday[i] + " " + v + (d.partial[i] ? " (partial)" : ""));
    const traces = [
      { x: x, y: a.admitted, type: "bar", name: "admitted", marker: { color: SIM } },
      { x: x, y: a.turned_away, type: "bar", name: "turned away", marker: { color: AWAY } },
      { x: x, y: a.gave_up, type: "bar", name: "gave up waiting", marker: { color: GAVE } },
      { x: x, y: a.expected, name: "expected arrivals (any capacity)", mode: "lines+markers", line: { color: EXP } },
    ];
    Plotly.newPlot(section(parent, "admission", "Admitted and turned away (" + fig.zone + ")",
      "Customers of store " + store + " admitted, turned away and given up on each local day (" + fig.zone + "); the line is the profile's expected arrivals, which ignore the capacity of " + fig.erlang.capacity + "." +
      (d.partial.some((p) => p) ? " Days named (partial) are cut by the run's span." : "")),
    traces, { margin: MARGIN, legend: Object.assign({ traceorder: "normal" }, LEGEND), barmode: "stack", yaxis: { title: { text: "customers per day" } },
      xaxis: { title: { text: "local day (" + fig.zone + "); capacity " + fig.erlang.capacity + ", " + fig.erlang.mode + " mode" }, type: "category" } }, CONFIG);
  }

  function erlang(parent, store, fig) {
    const t = fig.erlang, div = document.createElement("section");
    div.id = "erlang";
    let rows = "<tr><th></th>" + t.slots.map((s) => "<th>" + s + "</th>").join("") + "</tr>";
    for (let d = 0; d < 7; d++) {
      rows += "<tr><th>" + t.weekdays[d] + "</th>" + t.slots.map((s, j) => "<td>A " + t.load[d][j].toFixed(1) + ", B " + t.loss[d][j].toFixed(3) +
        (t.observed && t.observed[d][j] !== null ? ", data " + t.observed[d][j].toFixed(3) : "") + "</td>").join("") + "</tr>";
    }
    div.innerHTML = "<h3>Erlang loss figure (capacity " + t.capacity + ", " + t.mode + " mode)</h3><table class=\"erlang\">" + rows + '</table><p class="caption">' + t.caption + "</p>" +
      t.notes.map((n) => '<p class="note">' + n + "</p>").join("");
    parent.appendChild(div);
  }

  function sensor(parent, store, fig) {
    const s = fig.sensor, x = times(s.x, s.true.length);
    Plotly.newPlot(section(parent, "sensor", "True against counted occupancy (" + fig.zone + ")",
      "Customers inside store " + store + " at the end of each count interval: from the true door events, and as its counter's interval counts add up (ins minus outs so far). Misses, double counts and outages make the counted line drift." + shadeCaption(fig)),
    [{ x: x, y: s.true, name: "true (door events)", line: { color: SIM, width: 1 } },
      { x: x, y: s.counted, name: "counted (running sum of the interval counts)", line: { color: EXP, width: 1 } }],
    { margin: MARGIN, legend: LEGEND, shapes: shades(fig), yaxis: { title: { text: "customers inside" } },
      xaxis: { title: { text: "local time (" + fig.zone + ")" }, type: "date", rangeslider: { visible: true } } }, CONFIG);
  }

  let picked = null;
  function markPicked() {
    document.querySelectorAll("#overview tbody tr").forEach((tr) => tr.classList.toggle("picked", tr.dataset.store === picked));
  }

  function pick(store) {
    const fig = DATA.figures[store];
    if (!fig) return;
    picked = store;
    document.getElementById("store-picker").value = store;
    document.getElementById("store-heading").textContent = "Store " + store + " (" + fig.zone + ")";
    const parent = document.getElementById("store-figures");
    parent.querySelectorAll(".fig").forEach((el) => Plotly.purge(el));
    parent.innerHTML = "";
    occupancy(parent, store, fig);
    weekly(parent, store, fig);
    daily(parent, store, fig);
    dwell(parent, store, fig);
    if (fig.admission) admission(parent, store, fig);
    if (fig.erlang) erlang(parent, store, fig);
    if (fig.sensor) sensor(parent, store, fig);
    parent.dataset.store = store;
    markPicked();
  }

  const picker = document.getElementById("store-picker");
  picker.innerHTML = DATA.stores.map((r) => '<option value="' + esc(r.store) + '">' + esc(r.store) + "</option>").join("");
  picker.addEventListener("change", () => pick(picker.value));
  sortBy("store");
  furthest();
  const first = window.location.hash.startsWith("#store=") ? decodeURIComponent(window.location.hash.slice(7)) : null;
  pick(first && DATA.figures[first] ? first : DATA.stores[0].store);
})();
