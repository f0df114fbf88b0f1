// Ferry dashboard panels fed by the snapshot: routing decisions, subjects,
// streams, logs and events. Helpers (el, cell, fill, $) are in app.js.
"use strict";

function clock(t) {
  const d = new Date(t);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour12: false });
}

function bytes(n) {
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${u[i]}`;
}

function badge(text, cls) { return el("span", { class: `badge ${cls || text}` }, text); }

function targetText(x) {
  const parts = [];
  if (x.to) parts.push(x.to);
  if (x.where) parts.push(`where ${x.where}`);
  if (x.policy) parts.push(x.policy);
  return parts.join(" · ") || "–";
}

let newestDecision = ""; // time of the newest decision already shown

function renderDecisions(ds) {
  const seen = newestDecision;
  if (ds.length) newestDecision = ds[0].time;
  fill($("decisions"), ds.map((d) => {
    let chosen = (d.chosen || []).join(", ");
    if (d.count > (d.chosen || []).length) chosen += ` +${d.count - d.chosen.length} more`;
    const attrs = { "data-mode": d.mode, "data-subject": d.subject };
    if (seen && Date.parse(d.time) > Date.parse(seen)) attrs.class = "new";
    return el("tr", attrs,
      cell(clock(d.time)), el("td", {}, badge(d.mode)), cell(d.subject), cell(d.sender || ""),
      cell(targetText(d)), cell(d.count ? chosen : "nobody"), cell(d.reason, false, "reason"));
  }), "no targeted sends yet: unicast, broadcast, multicast and anycast decisions show here", 7);
}

function renderSubjects(subjects) {
  fill($("subjects"), subjects.map((s) => el("tr", {},
    cell(s.subject), cell(rate(s.rate), true), cell(s.total.toLocaleString(), true))),
  "no messages yet", 3);
}

function renderStreams(list) {
  const streams = list.streams || [];
  $("streams-count").textContent = list.total ?? streams.length;
  fill($("streams"), streams.map((s) => {
    const credit = s.unpaced ? "unpaced" : `${s.credit.msgs} msgs / ${bytes(s.credit.bytes)}`;
    const recv = s.receivers.map((r) => r.id + (r.lossy ? " (lossy)" : "")).join(", ");
    return el("tr", {},
      cell(`#${s.id}`), el("td", {}, badge(s.channel ? "channel" : "stream")), cell(s.subject), cell(s.opener),
      cell(`${s.mode}${s.to ? " " + s.to : ""}${s.where ? " where " + s.where : ""}`), cell(recv),
      cell(credit, true), cell(`${s.messages.toLocaleString()} (${bytes(s.bytes)})`, true));
  }), "no open streams", 8);
}

function renderLogs(logs) {
  fill($("logs"), logs.map((l) => {
    const cons = l.consumers.map((c) => `${c.name}: ${c.lag.toLocaleString()} / ${c.pending}`).join(", ");
    const name = el("td", {}, l.name, l.read_only ? badge("read-only", "bad") : "");
    if (l.read_only) name.title = l.read_only;
    return el("tr", {}, name, cell(l.subjects.join(", ")), cell(l.messages.toLocaleString(), true),
      cell(bytes(l.bytes), true), cell(l.last_seq ? `${l.first_seq}–${l.last_seq}` : "empty", true), cell(cons || "none"));
  }), "no durable logs", 6);
}

function renderEvents(events) {
  fill($("events"), events.map((e) => el("tr", {},
    cell(clock(e.time)), el("td", {}, badge(e.kind, "event")), cell(e.text))),
  "nothing to report: no slow consumers, drops, stalls or failovers", 3);
}

function renderPanels(snap) {
  renderDecisions(snap.decisions || []);
  renderSubjects(snap.subjects || []);
  renderStreams(snap.streams || {});
  renderLogs(snap.logs || []);
  renderEvents(snap.events || []);
}
