// The live page: polls the JSON endpoints and redraws. Every name and
// figure from the server goes in as text (textContent, attributes), never
// as HTML, so a service named <img src=x onerror=...> is shown as written.
"use strict";

const POLL_MS = 2000;        // the list and the status
const CHART_MS = 5000;       // the detail charts (server-drawn SVG)
const SVGNS = "http://www.w3.org/2000/svg";

const state = { page: 1, q: "", open: null, timer: null, chartTimer: null };
// Figures the browser test reads: how long fetching and drawing took.
window.rightsizeLive = { renders: 0, lastFetchMs: 0, lastRenderMs: 0, maxRenderMs: 0, errors: 0 };

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

// spark draws recent samples as a line over the expected band, with the
// request and limit as dashed lines, all on one scale from zero.
function spark(r, w, h) {
  const svg = svgEl("svg", { class: "spark", width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img" });
  svg.setAttribute("aria-label", `${r.resource}: recent samples`);
  const pts = r.recent || [];
  let top = 0;
  for (const p of pts) top = Math.max(top, p[1]);
  if (r.expected) top = Math.max(top, r.expected.p95);
  if (r.request) top = Math.max(top, r.request);
  if (r.limit) top = Math.max(top, r.limit);
  if (top <= 0) top = 1;
  top *= 1.1;
  const y = (v) => (h - 1 - (v / top) * (h - 2)).toFixed(1);
  svg.append(svgEl("rect", { x: 0, y: 0, width: w, height: h, fill: "#fbfcfd", stroke: "#e2e6ec" }));
  if (r.expected) {
    const y1 = y(r.expected.p95), y0 = y(r.expected.p50);
    svg.append(svgEl("rect", { x: 0, y: y1, width: w, height: Math.max(1, y0 - y1), fill: "rgba(31,119,180,.25)" }));
  }
  for (const [v, color, dash] of [[r.request, "#e07b00", "5 3"], [r.limit, "#c01c28", "2 2"]]) {
    if (v) svg.append(svgEl("line", { x1: 0, x2: w, y1: y(v), y2: y(v), stroke: color, "stroke-dasharray": dash, "stroke-width": 1.2 }));
  }
  if (pts.length > 0) {
    const t0 = pts[0][0], t1 = pts[pts.length - 1][0];
    const x = (t) => (t1 > t0 ? ((t - t0) / (t1 - t0)) * (w - 2) + 1 : w - 2).toFixed(1);
    const line = svgEl("polyline", { fill: "none", stroke: "#1f4e79", "stroke-width": 1.4,
      points: pts.map((p) => `${x(p[0])},${y(p[1])}`).join(" ") });
    svg.append(line);
  }
  return svg;
}

function ago(iso) {
  if (!iso) return "—";
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return new Date(iso).toLocaleString();
}

function resourceCell(r, pending) {
  const nums = el("div", { class: "nums" },
    el("div", { class: "now" }, r.current_text || "—"),
    el("div", { class: "small" }, r.expected ? `expected ${r.expected.text}` : (pending ? "expected: reading the store…" : "expected: —")),
    el("div", { class: "small" }, r.recommendation_text || (pending ? "" : "no recommendation")));
  return el("td", {}, el("div", { class: "cell" }, spark(r, 150, 38), nums));
}

function renderStatus(st) {
  const p = $("status");
  let text;
  if (!st.watching) {
    text = `${st.live_services} services seen live, ${st.live_samples} samples`;
  } else if (!st.at) {
    text = "waiting for the pipeline's first status…";
  } else {
    const ns = Object.values(st.not_stored || {}).reduce((a, b) => a + b, 0);
    text = `${st.records_per_sec.toFixed(0)} records/s · ${st.samples_per_sec.toFixed(0)} samples/s · lag ${st.lag < 0 ? "?" : st.lag}` +
      ` · not stored ${ns} (${st.dead_lettered} dead-lettered) · dropped by this page ${st.best_effort_dropped}`;
    if (st.stalled_seconds > 0) text += ` · STALLED ${Math.round(st.stalled_seconds)} s: ${st.last_error}`;
  }
  p.textContent = text;
  p.classList.toggle("bad", st.stalled_seconds > 0);
}

function renderList(data) {
  const t0 = performance.now();
  renderStatus(data.status);
  state.page = data.page;
  const empty = data.known === 0;
  document.body.dataset.state = empty ? "empty" : "ready";
  $("empty").hidden = !empty;
  $("services").hidden = empty;
  $("count").textContent = data.query ? `${data.total} of ${data.known} services` : `${data.known} services`;
  $("pageinfo").textContent = `page ${data.page} of ${data.pages}`;
  $("prev").disabled = data.page <= 1;
  $("next").disabled = data.page >= data.pages;
  const rows = [];
  for (const s of data.services) {
    const name = el("button", { type: "button", title: "show charts" }, s.name);
    name.addEventListener("click", () => openService(s.name));
    const tr = el("tr", { "data-service": s.name }, el("td", { class: "name" }, name));
    for (const r of s.resources) tr.append(resourceCell(r, s.pending));
    tr.append(el("td", { class: "small" }, ago(s.last_seen)));
    rows.push(tr);
  }
  if (data.services.length === 0 && !empty) {
    rows.push(el("tr", {}, el("td", { colspan: "4", class: "small" }, "No service matches the filter.")));
  }
  $("rows").replaceChildren(...rows);
  const ms = performance.now() - t0;
  const m = window.rightsizeLive;
  m.renders++;
  m.lastRenderMs = ms;
  m.maxRenderMs = Math.max(m.maxRenderMs, ms);
}

async function getJSON(url) {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

async function poll() {
  clearTimeout(state.timer);
  const t0 = performance.now();
  try {
    const q = new URLSearchParams({ page: String(state.page), q: state.q });
    const data = await getJSON(`/api/services?${q}`);
    window.rightsizeLive.lastFetchMs = performance.now() - t0;
    renderList(data);
    if (state.open) await refreshDetail(false);
  } catch (e) {
    window.rightsizeLive.errors++;
    $("status").textContent = `cannot reach the server: ${e.message}`;
    $("status").classList.add("bad");
  }
  state.timer = setTimeout(poll, POLL_MS);
}

async function refreshDetail(reloadCharts) {
  const name = state.open;
  let d;
  try {
    d = await getJSON(`/api/service?${new URLSearchParams({ name })}`);
  } catch (e) {
    $("detail-meta").textContent = `cannot read ${name}: ${e.message}`;
    return;
  }
  if (state.open !== name) return;
  $("detail-name").textContent = d.name;
  let meta = d.last_seen ? `last sample ${ago(d.last_seen)}` : "not seen live; from the store";
  if (d.method) meta += ` · recommendation method: ${d.method}`;
  if (d.error) meta += ` · ${d.error}`;
  $("detail-meta").textContent = meta;
  const rows = d.resources.map((r) => el("tr", {},
    el("td", {}, r.resource),
    el("td", { class: "now" }, r.current_text || "—"),
    el("td", {}, r.expected ? r.expected.text : (d.pending ? "reading the store…" : "—")),
    el("td", {}, r.recommendation_text || "—"),
    el("td", { class: "small" }, r.note || "")));
  $("detail-rows").replaceChildren(...rows);
  const charts = $("detail-charts");
  const have = new Set([...charts.querySelectorAll("figure")].map((f) => f.dataset.resource));
  const want = d.resources.map((r) => r.resource);
  if (want.join("\n") !== [...have].join("\n")) {
    charts.replaceChildren(...d.resources.map((r) => {
      const img = el("img", { alt: `${d.name} ${r.resource} over the last hour`, src: `${r.chart}&t=${Date.now()}` });
      img.addEventListener("error", () => { img.hidden = true; });
      img.addEventListener("load", () => { img.hidden = false; });
      const f = el("figure", { "data-resource": r.resource }, img);
      return f;
    }));
  } else if (reloadCharts) {
    for (const img of charts.querySelectorAll("img")) {
      const next = new Image();
      const src = img.getAttribute("src").replace(/&t=\d+$/, "") + `&t=${Date.now()}`;
      next.onload = () => { img.src = src; img.hidden = false; }; // swap once loaded: no flicker
      next.src = src;
    }
  }
}

function openService(name) {
  state.open = name;
  $("detail").hidden = false;
  $("detail-name").textContent = name;
  $("detail-charts").replaceChildren();
  $("detail-rows").replaceChildren();
  location.hash = new URLSearchParams({ service: name }).toString();
  refreshDetail(true);
  clearInterval(state.chartTimer);
  state.chartTimer = setInterval(() => state.open && refreshDetail(true), CHART_MS);
  window.scrollTo(0, 0);
}

function closeService() {
  state.open = null;
  clearInterval(state.chartTimer);
  $("detail").hidden = true;
  history.replaceState(null, "", location.pathname);
}

function init() {
  let debounce;
  $("filter").addEventListener("input", (e) => {
    clearTimeout(debounce);
    debounce = setTimeout(() => { state.q = e.target.value.trim(); state.page = 1; poll(); }, 200);
  });
  $("prev").addEventListener("click", () => { state.page--; poll(); });
  $("next").addEventListener("click", () => { state.page++; poll(); });
  $("detail-close").addEventListener("click", closeService);
  const h = new URLSearchParams(location.hash.slice(1));
  if (h.get("service")) openService(h.get("service"));
  poll();
}

init();
