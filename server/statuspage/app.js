// leadhouse status page: polls status.json and draws it. No library: the charts are plain SVG.
// Every number is written with a data-stat name and its raw data-value, which the browser test
// compares with /metrics and the store.
"use strict";

const POLL_MS = 5000;
const SVG = "http://www.w3.org/2000/svg";

const OUTCOMES = {
  accepted: ["202 accepted", "in the write-ahead log, will be stored", "#2f9e5b"],
  rejected_not_json: ["400 not JSON", "kept as a dead letter", "#f0a830"],
  rejected_not_callback: ["422 not a callback", "JSON without a valid lead_id, kept as a dead letter", "#d97a1e"],
  unauthorized: ["401 wrong token", "no token or a wrong one", "#8e6bbf"],
  too_large: ["413 too large", "body over LEADHOUSE_MAX_BODY_BYTES", "#5b7bd5"],
  method_not_allowed: ["405 not a POST", "another HTTP method", "#9aa5b1"],
  unavailable: ["503 refused", "log full, too busy or stopping; the CRM sends it again", "#d64545"],
  read_error: ["503 body cut short", "the sender stalled or hung up", "#a02c2c"],
  unsupported_encoding: ["415 compressed", "a Content-Encoding leadhouse does not read", "#c4cbd3"],
};

const SCENARIOS = {
  cc_long_call_followup: ["Call-centre follow-up", "follow-up after a call longer than 60 s"],
  cc_transferred_to_sales: ["Handed to sales", "the call centre patched out or sent to fresh"],
  cc_failed: ["Failed in the call centre", "marked failed or junk by the call centre"],
  sales_site_visit_done: ["Site visit done", "sales completed a site visit"],
  sales_booking_done: ["Booked", "sales booked the lead"],
  sales_failed: ["Failed in sales", "marked failed or junk by sales"],
};

const REASONS = {
  not_json: "not JSON (400)",
  not_callback: "not a callback (422)",
  invalid: "refused by the decoder",
  wal_corrupt: "damaged write-ahead log record",
};

const STATES = {
  ready: ["Ready", "receiving callbacks and storing them"],
  degraded: ["Degraded", "callbacks are accepted into the write-ahead log, but the store refuses writes"],
  wal_full: ["Write-ahead log full", "callbacks are refused (503) until the store takes the backlog"],
  stopping: ["Stopping", "finishing requests in flight and storing what is buffered"],
  not_ready: ["Not ready", "callbacks are refused"],
};

// ---- formatting

function fmtInt(n) {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function fmtBytes(n) {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? fmtInt(n) + " bytes" : n.toFixed(n < 10 ? 1 : 0) + " " + units[i];
}

function fmtSeconds(s) {
  if (s === null || s === undefined) return "–";
  if (s < 0.001) return (s * 1000).toFixed(2) + " ms";
  if (s < 0.1) return (s * 1000).toFixed(1) + " ms";
  if (s < 1) return Math.round(s * 1000) + " ms";
  return s.toFixed(s < 10 ? 2 : 1) + " s";
}

function fmtAge(s) {
  if (s < 60) return Math.round(s) + " s";
  if (s < 3600) return Math.round(s / 60) + " min";
  if (s < 86400) return Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min";
  return Math.floor(s / 86400) + " d " + Math.round((s % 86400) / 3600) + " h";
}

function pad2(n) {
  return String(n).padStart(2, "0");
}

function clock(iso) {
  const d = new Date(iso);
  return pad2(d.getHours()) + ":" + pad2(d.getMinutes());
}

function clockSeconds(iso) {
  const d = new Date(iso);
  return clock(iso) + ":" + pad2(d.getSeconds());
}

function ago(iso, now) {
  return fmtAge(Math.max(0, (new Date(now) - new Date(iso)) / 1000)) + " ago";
}

// ---- DOM

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function svg(tag, attrs, ...children) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

// stat is a number with its name and raw value, shown as text.
function stat(name, value, text) {
  return el("span", { "data-stat": name, "data-value": value === null ? "" : String(value) }, text);
}

function setStat(name, value, text) {
  for (const e of document.querySelectorAll('[data-stat="' + name + '"]')) {
    e.dataset.value = value === null ? "" : String(value);
    e.textContent = text;
  }
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// ---- charts

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

// A chart is drawn at its box's width in pixels, so its text keeps its size on any screen.
const H = 180, L = 62, R = 10, T = 10, B = 24;

function chartWidth(box) {
  return Math.max(320, Math.floor(box.clientWidth || 760));
}

function axes(g, W, top, fmt, minutes) {
  const plotH = H - T - B;
  for (const f of [0, 0.5, 1]) {
    const y = T + plotH * (1 - f);
    g.append(svg("line", { x1: L, x2: W - R, y1: y, y2: y, class: f === 0 ? "axis" : "gridline" }));
    g.append(svg("text", { x: L - 8, y: y + 4, class: "tick", "text-anchor": "end" }, fmt(top * f)));
  }
  const step = (W - L - R) / minutes.length;
  for (const i of [0, 15, 30, 45, minutes.length - 1]) {
    const x = L + step * (i + 0.5);
    const label = i === minutes.length - 1 ? "now" : clock(minutes[i].start);
    g.append(svg("text", { x: x, y: H - 6, class: "tick", "text-anchor": i === minutes.length - 1 ? "end" : "middle" }, label));
  }
}

function drawCallbacks(box, st) {
  const minutes = st.minutes;
  const totals = minutes.map((m) => m.counts.reduce((a, b) => a + b, 0));
  const top = niceMax(Math.max(...totals));
  const W = chartWidth(box);
  const plotH = H - T - B;
  const step = (W - L - R) / minutes.length;
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, class: "chart-svg" });
  axes(root, W, top, (v) => fmtInt(v), minutes);
  minutes.forEach((m, i) => {
    let y = T + plotH;
    const g = svg("g", {});
    const tip = [clock(m.start)];
    st.outcomes.forEach((o, j) => {
      const n = m.counts[j];
      if (!n) return;
      const h = (n / top) * plotH;
      y -= h;
      g.append(svg("rect", { x: L + step * i + 1, y: y, width: Math.max(step - 2, 1), height: h, fill: (OUTCOMES[o] || [o, "", "#888"])[2] }));
      tip.push((OUTCOMES[o] || [o])[0] + ": " + fmtInt(n));
    });
    if (tip.length === 1) tip.push("no requests");
    g.append(svg("title", {}, tip.join("\n")));
    g.append(svg("rect", { x: L + step * i, y: T, width: step, height: plotH, class: "hover" }));
    root.append(g);
  });
  box.replaceChildren(root);
}

function drawLatency(box, st) {
  const minutes = st.minutes;
  const values = minutes.flatMap((m) => [m.p50_seconds, m.p99_seconds]).filter((v) => v !== null);
  const top = niceMax(values.length ? Math.max(...values) * 1000 : 1) / 1000;
  const W = chartWidth(box);
  const plotH = H - T - B;
  const step = (W - L - R) / minutes.length;
  const root = svg("svg", { viewBox: "0 0 " + W + " " + H, width: W, height: H, class: "chart-svg" });
  axes(root, W, top, (v) => (v === 0 ? "0" : fmtSeconds(v)), minutes);
  const series = [
    ["p99_seconds", "slowest 1% (p99)", "#e07b39"],
    ["p50_seconds", "median (p50)", "#3b6fd8"],
  ];
  for (const [key, , color] of series) {
    let d = "";
    let pen = "M";
    minutes.forEach((m, i) => {
      const v = m[key];
      if (v === null) {
        pen = "M";
        return;
      }
      const x = L + step * (i + 0.5);
      const y = T + plotH * (1 - v / top);
      d += pen + x.toFixed(1) + " " + y.toFixed(1) + " ";
      pen = "L";
      root.append(svg("circle", { cx: x, cy: y, r: 2.2, fill: color }, svg("title", {}, clock(m.start) + ": " + fmtSeconds(v))));
    });
    if (d) root.append(svg("path", { d: d, fill: "none", stroke: color, "stroke-width": 2 }));
  }
  const legend = el("div", { class: "chart-legend" });
  for (const [, label, color] of series.slice().reverse()) {
    const sw = el("span", { class: "swatch" });
    sw.style.background = color;
    legend.append(el("span", {}, sw, label));
  }
  if (!values.length) legend.append(el("span", { class: "muted" }, "no callback accepted in the last hour"));
  box.replaceChildren(root, legend);
}

// ---- sections

function renderState(st) {
  const box = document.getElementById("state");
  const [label, detail] = STATES[st.state] || [st.state, ""];
  box.className = "state state-" + st.state;
  box.dataset.value = st.state;
  document.getElementById("state-label").textContent = label;
  const d = document.getElementById("state-detail");
  d.replaceChildren(detail);
  if (st.state_error && st.state !== "stopping") d.append(el("div", { class: "state-error" }, st.state_error));
}

function renderOutcomes(st) {
  const idx = (o) => st.outcomes.indexOf(o);
  const accepted = st.last_hour[idx("accepted")];
  const rejected = st.last_hour[idx("rejected_not_json")] + st.last_hour[idx("rejected_not_callback")];
  const all = st.last_hour.reduce((a, b) => a + b, 0);
  setStat("tile.accepted", accepted, fmtInt(accepted));
  setStat("tile.rejected", rejected, fmtInt(rejected));
  setStat("tile.refused", all - accepted - rejected, fmtInt(all - accepted - rejected));
  document.getElementById("outcomes").replaceChildren(...st.outcomes.map((o, i) => {
    const [label, meaning, color] = OUTCOMES[o] || [o, "", "#888"];
    const sw = el("span", { class: "swatch" });
    sw.style.background = color;
    const n = st.last_hour[i];
    return el("div", { class: n ? "outcome" : "outcome zero" },
      el("div", { class: "outcome-head" }, sw, el("span", { class: "outcome-label" }, label), stat("callbacks." + o, n, fmtInt(n))),
      el("div", { class: "muted small" }, meaning));
  }));
  drawCallbacks(document.getElementById("chart-callbacks"), st);
  drawLatency(document.getElementById("chart-latency"), st);
  setStat("latency.p50", st.latency.p50_seconds, fmtSeconds(st.latency.p50_seconds));
  setStat("latency.p99", st.latency.p99_seconds, fmtSeconds(st.latency.p99_seconds));
}

function renderWAL(st) {
  const w = st.wal;
  setStat("wal.backlog_bytes", w.backlog_bytes, fmtBytes(w.backlog_bytes));
  let detail = "nothing waits: every callback is stored";
  if (w.oldest_age_seconds !== null) {
    detail = w.oldest_before_start
      ? "oldest left by the previous run, waiting over " + fmtAge(w.oldest_age_seconds)
      : "acknowledged, in the write-ahead log; the oldest arrived " + fmtAge(w.oldest_age_seconds) + " ago";
  } else if (w.backlog_bytes > 0) {
    detail = "being written to the store";
  }
  if (w.mode === "spill") detail += " · memory full: batching from the log";
  const d = document.getElementById("wal-detail");
  d.replaceChildren(detail);
  const gauge = document.getElementById("wal-gauge");
  gauge.hidden = !w.max_bytes;
  if (w.max_bytes) {
    const f = Math.min(1, w.backlog_bytes / w.max_bytes);
    const bar = document.getElementById("wal-gauge-fill");
    bar.style.width = Math.max(f * 100, f > 0 ? 1 : 0) + "%";
    bar.className = f > 0.8 ? "bad" : f > 0.3 ? "warn" : "";
    d.append(el("br"), (f * 100).toFixed(f < 0.1 ? 2 : 0) + "% of the " + fmtBytes(w.max_bytes) + " limit");
  }
}

function storeBanner(id, s) {
  const b = document.getElementById(id);
  b.hidden = s.available;
  if (s.available) return;
  const text = s.error + (s.read_at ? " — showing what was read at " + clockSeconds(s.read_at) : "");
  b.replaceChildren(stat("store.error", s.error, text));
}

function renderTables(st) {
  storeBanner("store-error-tables", st.store);
  fill(document.querySelector("#tables tbody"), st.tables.map((t) => {
    let last = el("span", { class: "muted" }, "not since start");
    if (t.last_write_at) last = el("span", {}, ago(t.last_write_at, st.generated_at));
    const failed = t.last_failure_at && (!t.last_write_at || t.last_failure_at > t.last_write_at);
    const cell = el("td", {}, last);
    if (failed) cell.append(el("span", { class: "bad-text" }, " · failing since " + ago(t.last_failure_at, st.generated_at)));
    const stored = t.rows_stored === null ? el("span", { class: "muted", "data-stat": "rows_stored." + t.table, "data-value": "" }, "–")
      : stat("rows_stored." + t.table, t.rows_stored, fmtInt(t.rows_stored));
    return el("tr", {}, el("td", { class: "mono" }, t.table), el("td", { class: "num" }, stored),
      el("td", { class: "num" }, stat("rows_written." + t.table, t.rows_written, fmtInt(t.rows_written))), cell);
  }));
}

function barRow(name, label, detail, n, top, color, extra) {
  const bar = el("div", { class: "bar" });
  bar.style.width = (top ? (n / top) * 100 : 0) + "%";
  bar.style.background = color;
  return el("tr", { class: n ? "" : "zero" },
    el("td", { class: "bar-label" }, el("div", {}, label), el("div", { class: "muted small" }, detail)),
    el("td", { class: "bar-cell" }, el("div", { class: "bar-track" }, bar)),
    el("td", { class: "num" }, stat(name, n, fmtInt(n)), extra || ""));
}

function renderScenarios(st) {
  const s = st.store;
  storeBanner("store-error-scenarios", s);
  document.getElementById("scenario-day").textContent = s.day ? "callbacks received on " + s.day + " (IST) matching the CRM document's six examples" : "the CRM document's six, by IST day";
  const top = Math.max(0, ...s.scenarios_today.map((x) => x.callbacks));
  const rows = s.scenarios_today.map((x) => {
    const [label, detail] = SCENARIOS[x.scenario] || [x.scenario, ""];
    return barRow("scenario." + x.scenario, label, detail, x.callbacks, top, "#3b6fd8",
      el("div", { class: "muted small" }, stat("scenario_leads." + x.scenario, x.leads, fmtInt(x.leads)), x.leads === 1 ? " lead" : " leads"));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { class: "muted", colspan: 3 }, "unknown while the store is unavailable")));
  fill(document.querySelector("#scenarios tbody"), rows);
}

function renderDeadLetters(st) {
  const s = st.store;
  storeBanner("store-error-dead", s);
  const total = s.dead_letters_24h.reduce((a, x) => a + x.count, 0);
  const known = s.available || s.read_at;
  setStat("tile.dead_letters", known ? total : st.pipeline.dead_letters, fmtInt(known ? total : st.pipeline.dead_letters));
  document.getElementById("dead-detail").textContent = known ? "kept as dead letters in the last 24 h" : "kept as dead letters since this process started (the store is unavailable)";
  const top = Math.max(0, ...s.dead_letters_24h.map((x) => x.count));
  const rows = s.dead_letters_24h.map((x) => barRow("dead_letters." + x.reason, REASONS[x.reason] || x.reason, x.reason, x.count, top, "#d97a1e"));
  if (!rows.length) rows.push(el("tr", {}, el("td", { class: "muted", colspan: 3 }, s.available ? "none in the last 24 hours" : "unknown while the store is unavailable")));
  fill(document.querySelector("#dead-reasons tbody"), rows);
  const newest = s.newest_dead_letters.map((d) => el("tr", {},
    el("td", {}, clockSeconds(d.received_at) + " ", el("span", { class: "muted" }, "(" + ago(d.received_at, st.generated_at) + ")")),
    el("td", {}, REASONS[d.reason] || d.reason),
    el("td", { class: "num" }, fmtBytes(d.body_bytes))));
  if (!newest.length) newest.push(el("tr", {}, el("td", { class: "muted", colspan: 3 }, "–")));
  fill(document.querySelector("#dead-newest tbody"), newest);
}

function render(st) {
  document.getElementById("offline").hidden = true;
  renderState(st);
  renderOutcomes(st);
  renderWAL(st);
  renderTables(st);
  renderScenarios(st);
  renderDeadLetters(st);
  const up = (new Date(st.generated_at) - new Date(st.started_at)) / 1000;
  document.getElementById("footer-times").textContent =
    "Started " + new Date(st.started_at).toLocaleString() + " (up " + fmtAge(up) + ") · updated " + clockSeconds(st.generated_at) + " · times in your browser's zone";
  document.body.dataset.loaded = st.generated_at;
}

let lastOK = null;
let last = null;

async function poll() {
  try {
    const resp = await fetch("status.json", { cache: "no-store" });
    if (!resp.ok) throw new Error("status.json answered " + resp.status);
    const st = await resp.json();
    lastOK = st.generated_at;
    last = st;
    render(st);
  } catch (e) {
    document.getElementById("offline").hidden = false;
    document.getElementById("offline-since").textContent = lastOK ? clockSeconds(lastOK) : "nowhere yet (" + e.message + ")";
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

window.addEventListener("resize", () => last && render(last));
poll();
