// Ferry dashboard: follows /api/v1/events (Server-Sent Events, one
// "snapshot" a second) and calls /api/v1/explain. Plain DOM, no framework;
// every value from the server is set with textContent, never as HTML.
// world.js holds the land outlines, panels.js the tables of decisions,
// subjects, streams, logs and events.
"use strict";

const W = 720, H = 360, SVG = "http://www.w3.org/2000/svg";
const MODES = ["publish", "unicast", "broadcast", "multicast", "anycast"];
const $ = (id) => document.getElementById(id);
let prev = null; // previous snapshot, for rates

// ---- helpers -------------------------------------------------------------

function el(tag, attrs, ...children) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.setAttribute("class", v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c ?? ""));
  return e;
}

function cell(v, num, cls) { return el("td", num || cls ? { class: `${num ? "num" : ""} ${cls || ""}`.trim() } : {}, v); }

function fill(tbody, rows, empty, cols) {
  tbody.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: cols, class: "muted" }, empty))]));
}

function duration(s) {
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

function rate(n) { return n >= 100 ? Math.round(n).toLocaleString() : n.toFixed(1); }

// projection: equirectangular
function project(lat, lon) { return [((lon + 180) / 360) * W, ((90 - lat) / 180) * H]; }

// A stable colour per region (hue from a string hash); grey when none.
function regionColor(region) {
  if (!region) return "#6b7280";
  let h = 0;
  for (const ch of region) h = (h * 31 + ch.codePointAt(0)) >>> 0;
  return `hsl(${h % 360}, 65%, 45%)`;
}

// ---- header and counters ---------------------------------------------------

function renderServer(s) {
  $("name").textContent = s.server || "ferry";
  $("version").textContent = s.version ? "v" + s.version : "";
  document.title = `${s.server || "ferry"} · Ferry dashboard`;
  $("uptime").textContent = duration(s.uptime_seconds);
  $("connections").textContent = s.connections;
  $("endpoints-count").textContent = s.endpoints;
  $("slow").textContent = s.slow_consumers;
  $("dropped").textContent = s.dropped;
  $("failovers").textContent = s.failovers;

  // Rates come from two successive snapshots; the server's uptime is the
  // clock, so a late event does not inflate them.
  const dt = prev ? s.uptime_seconds - prev.uptime_seconds : 0;
  const per = (now, before) => (dt > 0 && now >= before ? (now - before) / dt : null);
  const show = (v) => (v === null ? "–" : rate(v));
  $("rate-in").textContent = show(prev && per(s.messages_in, prev.messages_in));
  $("rate-out").textContent = show(prev && per(s.messages_out, prev.messages_out));
  const byMode = s.messages_in_by_mode || {};
  const prevMode = (prev && prev.messages_in_by_mode) || {};
  fill($("modes"), MODES.map((m) => el("tr", {},
    el("th", {}, m),
    cell(show(prev && per(byMode[m] || 0, prevMode[m] || 0)), true),
    cell(`${(byMode[m] || 0).toLocaleString()} total`, true))), "", 3);
  prev = s;
}

// ---- map -------------------------------------------------------------------

function drawLand(svg) {
  const d = WORLD.map((ring) => "M" + ring.map(([lon, lat]) => project(lat, lon).map((v) => v.toFixed(1)).join(",")).join("L") + "Z").join("");
  svg.append(el("svg:path", { d, class: "land" }));
}

function drawGraticule(svg) {
  const g = el("svg:g", {});
  for (let lon = -180; lon <= 180; lon += 30) {
    const [x] = project(0, lon);
    g.append(el("svg:line", { x1: x, y1: 0, x2: x, y2: H, class: lon === 0 ? "grid axis" : "grid" }));
    if (lon > -180 && lon < 180) g.append(el("svg:text", { x: x + 2, y: H - 3, class: "deg" }, `${lon}°`));
  }
  for (let lat = -90; lat <= 90; lat += 30) {
    const [, y] = project(lat, 0);
    g.append(el("svg:line", { x1: 0, y1: y, x2: W, y2: y, class: lat === 0 ? "grid axis" : "grid" }));
    if (lat > -90 && lat < 90) g.append(el("svg:text", { x: 2, y: y - 2, class: "deg" }, `${lat}°`));
  }
  svg.append(g, el("svg:g", { id: "arcs" }), el("svg:g", { id: "dots" }), el("svg:g", { id: "labels" }));
}

function renderMap(endpoints) {
  const regions = new Map(), dots = [], points = [], labels = [];
  for (const ep of endpoints) {
    if (!ep.location) continue;
    const [x, y] = project(ep.location.lat, ep.location.lon);
    const color = regionColor(ep.region);
    regions.set(ep.region || "(no region)", color);
    const tip = `${ep.id}${ep.region ? " · " + ep.region : ""} (${ep.location.lat}, ${ep.location.lon})`;
    dots.push(el("svg:g", { id: "ep-" + ep.id, class: "marker", "data-endpoint": ep.id, "data-region": ep.region || "" },
      el("svg:circle", { cx: x, cy: y, r: 5, fill: color, stroke: "#fff", "stroke-width": 1.5 }, el("svg:title", {}, tip))));
    points.push({ id: ep.id, x, y });
  }
  // Labels go where they stay on the map and overlap no other label or
  // marker: right of the marker, else below, above or to the left.
  const placed = [], hit = (a, b) => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
  for (const p of points) {
    const w = p.id.length * 6, spots = [[7, 3.5], [7, 15], [7, -8], [-7 - w, 3.5], [-7 - w, 15], [-7 - w, -8]];
    let best = spots[0];
    for (const [dx, dy] of spots) {
      const r = { x1: p.x + dx, x2: p.x + dx + w, y1: p.y + dy - 8, y2: p.y + dy + 2 };
      if (r.x1 >= 0 && r.x2 <= W && r.y1 >= 0 && r.y2 <= H && !placed.some((q) => hit(r, q)) && !points.some((o) => hit(r, { x1: o.x - 5, x2: o.x + 5, y1: o.y - 5, y2: o.y + 5 }))) {
        best = [dx, dy];
        break;
      }
    }
    placed.push({ x1: p.x + best[0], x2: p.x + best[0] + w, y1: p.y + best[1] - 8, y2: p.y + best[1] + 2 });
    labels.push(el("svg:text", { x: p.x + best[0], y: p.y + best[1], "data-label": p.id }, p.id));
  }
  $("dots").replaceChildren(...dots);
  $("labels").replaceChildren(...labels);
  const legend = [...regions].sort().map(([r, c]) => {
    const i = el("i");
    i.style.background = c;
    return el("span", {}, i, r);
  });
  const unplaced = endpoints.filter((e) => !e.location).length;
  if (unplaced) legend.push(el("span", { class: "muted" }, `${unplaced} endpoint(s) without a location`));
  $("legend").replaceChildren(...legend);
}

// Lines from the sender to the receivers of the newest decisions, the
// newest drawn strongest.
function renderArcs(endpoints, decisions) {
  const at = new Map(endpoints.filter((e) => e.location).map((e) => [e.id, project(e.location.lat, e.location.lon)]));
  const lines = [];
  decisions.slice(0, 5).forEach((d, i) => {
    const from = at.get(d.sender);
    if (!from) return;
    for (const id of d.chosen || []) {
      const to = at.get(id);
      if (!to || id === d.sender) continue;
      const [mx, my] = [(from[0] + to[0]) / 2, (from[1] + to[1]) / 2 - Math.hypot(to[0] - from[0], to[1] - from[1]) / 5];
      lines.push(el("svg:path", { d: `M${from[0]},${from[1]} Q${mx},${my} ${to[0]},${to[1]}`,
        class: `arc ${d.mode}`, opacity: (1 - i * 0.18).toFixed(2) }, el("svg:title", {}, `${d.mode} ${d.subject}: ${d.reason}`)));
    }
  });
  $("arcs").replaceChildren(...lines);
}

// ---- tables ----------------------------------------------------------------

function labelsText(labels) {
  return Object.entries(labels || {}).sort().map(([k, v]) => `${k}=${v}`).join(", ");
}

function renderEndpoints(endpoints) {
  fill($("endpoints"), endpoints.map((ep) => el("tr", {},
    cell(ep.id), cell(ep.name || ""), cell(ep.region || ""), cell(labelsText(ep.labels)),
    cell((ep.groups || []).join(", ")), cell(ep.subscriptions, true),
    cell(`${ep.pending_msgs} msgs / ${ep.pending_bytes} B`, true))), "no endpoints connected", 7);
}

function renderGroups(groups) {
  fill($("groups"), groups.map((g) => el("tr", {}, cell(g.name), cell((g.members || []).join(", ")))),
    "no groups", 2);
}

// ---- live updates ------------------------------------------------------------

function onSnapshot(ev) {
  let snap;
  try { snap = JSON.parse(ev.data); } catch { return; }
  renderServer(snap.server);
  renderMap(snap.endpoints || []);
  renderArcs(snap.endpoints || [], snap.decisions || []);
  renderEndpoints(snap.endpoints || []);
  renderGroups(snap.groups || []);
  renderPanels(snap);
}

function setLive(text, cls) {
  const s = $("live");
  s.textContent = text;
  s.className = "status " + cls;
}

function connect() {
  const es = new EventSource("/api/v1/events");
  es.addEventListener("snapshot", (ev) => { setLive("live", "ok"); onSnapshot(ev); });
  es.onerror = () => {
    setLive("disconnected, retrying…", "bad");
    prev = null; // a gap makes the next rate meaningless
    if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 3000); }
  };
}

// ---- explain -----------------------------------------------------------------

async function explain(ev) {
  ev.preventDefault();
  const q = new URLSearchParams();
  for (const [k, v] of new FormData(ev.target)) if (String(v).trim() !== "") q.set(k, String(v).trim());
  const out = $("explain-result");
  out.className = "";
  out.textContent = "…";
  try {
    const resp = await fetch("/api/v1/explain?" + q);
    const body = await resp.json();
    if (!resp.ok) throw new Error(body.error || resp.statusText);
    renderExplain(body);
  } catch (err) {
    out.className = "error";
    out.textContent = String(err.message || err);
    $("candidates").replaceChildren();
  }
}

function renderExplain(ex) {
  const chosen = new Set(ex.chosen || []);
  const out = $("explain-result");
  out.replaceChildren(
    el("b", {}, chosen.size ? `Chosen: ${[...chosen].join(", ")}` : "Nobody chosen"),
    ` — ${ex.reason || ""}`,
    el("span", { class: "muted" }, ` (${ex.mode}${ex.policy ? ", " + ex.policy : ""}${ex.where ? ", where " + ex.where : ""})`));
  const rows = (ex.candidates || []).map((c) => el("tr", chosen.has(c.id) ? { class: "chosen" } : {},
    cell(c.rank || "", true), cell(c.id), cell(c.region || ""),
    cell(c.matched ? "yes" : "no"), cell(c.subscribed ? "yes" : "no"),
    cell(c.distance_km == null ? "" : Math.round(c.distance_km).toLocaleString(), true),
    cell(`${c.pending_msgs} msgs / ${c.pending_bytes} B`, true)));
  fill($("candidates"), rows, "no candidates", 7);
}

// ---- start ---------------------------------------------------------------------

drawLand($("map"));
drawGraticule($("map"));
$("explain").addEventListener("submit", explain);
connect();
