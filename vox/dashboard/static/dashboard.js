// The vox dashboard: reads the worker's read-only JSON endpoints (/api) every few seconds and
// draws them with plain DOM and SVG (no library, nothing fetched from elsewhere).
"use strict";

const REFRESH_MS = 5000;
const rateHistory = [];  // events per second seen by this page, for the health sparkline

const $ = (id) => document.getElementById(id);
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}
function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}
const fmt = new Intl.NumberFormat("en");
const signed = (x) => (x >= 0 ? "+" : "−") + Math.abs(x).toFixed(2);
const when = (text) => (text ? text.slice(0, 16).replace("T", " ") + " UTC" : "");
const toTime = (text) => Date.parse(text.replace(" ", "T") + "Z");

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${path}: HTTP ${response.status}`);
  return body;
}

// -- typology -------------------------------------------------------------------------------

const LEVEL_WORDS = { low: "low", medium: "medium", high: "high" };

function drawTypology(t) {
  const matrix = $("matrix");
  matrix.replaceChildren();
  const total = t.cells.reduce((sum, c) => sum + c.customers, 0);
  const most = Math.max(1, ...t.cells.map((c) => c.customers));
  matrix.append(el("div", { class: "axis" }, "competence ↓ / implication →"));
  for (const level of t.levels) matrix.append(el("div", { class: "axis" }, `${LEVEL_WORDS[level]} implication`));
  for (const competence of [...t.levels].reverse()) {
    matrix.append(el("div", { class: "axis" }, `${LEVEL_WORDS[competence]} competence`));
    for (const implication of t.levels) {
      const c = t.cells.find((x) => x.competence_level === competence && x.implication_level === implication);
      const alpha = 0.08 + 0.6 * (c.customers / most);
      const cell = el("div", { class: "cell", "data-cell": c.cell, "data-customers": c.customers,
        title: c.customers ? `mean competence ${c.mean_competence}, mean implication ${c.mean_implication} (0-100)` : "nobody" },
        el("div", { class: "name" }, c.cell),
        el("div", { class: "n" }, fmt.format(c.customers)),
        el("div", { class: "share" }, total ? `${Math.round((100 * c.customers) / total)} % of customers` : "no customer"));
      cell.style.background = `rgba(44, 90, 160, ${alpha.toFixed(2)})`;
      matrix.append(cell);
    }
  }
  $("flows-title").textContent = t.day ? `Moves between cells on ${t.day} (latest day)` : "Moves between cells";
  const flows = $("flows");
  flows.replaceChildren();
  if (!t.flows.length) flows.append(el("li", { class: "quiet" }, "no move between cells yet"));
  const busiest = Math.max(1, ...t.flows.map((f) => f.moves));
  for (const f of t.flows.slice(0, 12)) {
    const bar = el("span", { class: "bar" });
    bar.style.width = `${Math.max(3, (120 * f.moves) / busiest)}px`;
    flows.append(el("li", { "data-from": f.from, "data-to": f.to }, `${f.from} → ${f.to}: ${fmt.format(f.moves)} customer${f.moves === 1 ? "" : "s"}`, bar));
  }
}

// -- sentiment ------------------------------------------------------------------------------

function timelineChart(subject, days, asOf) {
  const width = 320, height = 120, left = 28, right = 6, top = 6, bottom = 18;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
    "aria-label": `mean opinion of ${subject.subject_kind} ${subject.subject}` });
  const end = toTime(asOf) + 3600e3, start = end - days * 86400e3;
  const x = (t) => left + ((t - start) / (end - start)) * (width - left - right);
  const y = (v) => top + ((1 - v) / 2) * (height - top - bottom);
  for (const v of [-1, 0, 1]) {
    chart.append(svg("line", { x1: left, x2: width - right, y1: y(v), y2: y(v), stroke: v ? "#eceff3" : "#b8c0cc" }));
    const label = svg("text", { x: left - 4, y: y(v) + 3, "text-anchor": "end" });
    label.textContent = v > 0 ? "+1" : v < 0 ? "−1" : "0";
    chart.append(label);
  }
  for (let d = 0; d <= days; d += Math.max(1, Math.round(days / 3))) {
    const t = start + d * 86400e3, label = svg("text", { x: x(t), y: height - 4, "text-anchor": "middle" });
    label.textContent = new Date(t).toISOString().slice(5, 10);
    chart.append(label);
  }
  for (const a of subject.alerts) {
    for (const [at, dash] of [[a.started_at, "3 2"], [a.detected_at, ""]]) {
      const t = toTime(at);
      if (t >= start) chart.append(svg("line", { x1: x(t), x2: x(t), y1: top, y2: height - bottom,
        stroke: a.direction === "positive" ? "#1e8449" : "#c0392b", "stroke-dasharray": dash, "data-alert-id": a.alert_id }));
    }
  }
  const points = subject.windows.map((w) => `${x(toTime(w.start)).toFixed(1)},${y(w.mean).toFixed(1)}`);
  if (points.length) chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: "#2c5aa0", "stroke-width": 1.5 }));
  return chart;
}

function drawSentiment(s) {
  $("bucket").textContent = String(s.bucket_hours);
  const list = $("alert-list");
  list.replaceChildren();
  if (!s.open_alerts.length) list.append(el("p", { class: "quiet" }, s.has_data ? "No open alert: sentiment is steady on every subject." : "No sentiment yet."));
  for (const a of s.open_alerts) {
    const verb = a.direction === "negative" ? "fell" : "rose";
    list.append(el("div", { class: `alert ${a.direction}`, "data-alert-id": a.alert_id, "data-subject": `${a.subject_kind}:${a.subject}` },
      el("div", { class: "what" }, `Sentiment of ${a.subject_kind} ${a.subject} ${verb} from ${signed(a.baseline)} to ${signed(a.level)}`),
      el("div", {}, `${a.magnitude_sd.toFixed(1)} standard deviations; change started about ${when(a.started_at)}, ` +
        `alert raised ${when(a.detected_at)} after ${fmt.format(a.events_since_change)} opinions`),
      el("div", { class: "ev" }, a.evidence.length ? `evidence, its strongest opinions since the change: ${a.evidence.join(", ")}` : "")));
  }
  const timelines = $("timelines");
  timelines.replaceChildren();
  if (!s.subjects.length) timelines.append(el("p", { class: "quiet" }, "No opinion has reached the sentiment stage yet."));
  for (const subject of s.subjects) {
    const n = subject.windows.reduce((sum, w) => sum + w.opinions, 0);
    const mean = n ? subject.windows.reduce((sum, w) => sum + w.mean * w.opinions, 0) / n : 0;
    timelines.append(el("div", { class: "card", "data-subject": `${subject.subject_kind}:${subject.subject}` },
      el("h3", {}, `${subject.subject_kind}: ${subject.subject}`),
      el("div", { class: "sub" }, `${fmt.format(n)} opinions in the ${s.days} days to ${when(subject.as_of).slice(0, 10)}, mean ${signed(mean)}` +
        (subject.alerts.length ? `, ${subject.alerts.length} alert${subject.alerts.length > 1 ? "s" : ""}` : "")),
      timelineChart(subject, s.days, subject.as_of)));
  }
}

// -- leaders --------------------------------------------------------------------------------

function dims(leader) {
  const box = el("span", { class: "dims", title: `who ${leader.who}, what ${leader.what}, whom ${leader.whom}, credibility ${leader.credibility}` });
  for (const value of [leader.who, leader.what, leader.whom, leader.credibility]) {
    const bar = el("span");
    bar.style.height = `${Math.max(1, Math.round(value * 16))}px`;
    box.append(bar);
  }
  return box;
}

function drawLeaders(l) {
  const list = $("leader-list");
  list.replaceChildren();
  if (!l.topics.length) list.append(el("p", { class: "quiet" }, "No opinion leader yet: a topic needs enough exchanges first."));
  for (const topic of l.topics) {
    const body = el("tbody");
    for (const leader of topic.leaders) {
      body.append(el("tr", { "data-customer": leader.customer_id, "data-topic": topic.topic },
        el("td", { class: "n" }, leader.rank), el("td", {}, leader.customer_id),
        el("td", {}, el("span", { class: `kind ${leader.kind}` }, leader.kind)),
        el("td", { class: "n" }, leader.score.toFixed(2)), el("td", {}, dims(leader))));
    }
    const head = el("thead", {}, el("tr", {}, el("th", { class: "n" }, "#"), el("th", {}, "customer"),
      el("th", {}, "leads as"), el("th", { class: "n" }, "score"), el("th", {}, "who / what / whom / cred.")));
    list.append(el("div", { class: "card" }, el("h3", {}, topic.topic), el("table", {}, head, body)));
  }
}

// -- pipeline -------------------------------------------------------------------------------

function sparkline(values) {
  const width = 150, height = 28, chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%" });
  const most = Math.max(1, ...values);
  const points = values.map((v, i) => `${(i * width) / Math.max(1, values.length - 1)},${height - 2 - (v / most) * (height - 4)}`);
  if (values.length > 1) chart.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: "#2c5aa0" }));
  return chart;
}

function drawPipeline(h, d) {
  if (h.events_per_second !== null) rateHistory.push(h.events_per_second);
  if (rateHistory.length > 60) rateHistory.shift();
  const tile = (label, value, bad, extra) => el("div", { class: `tile${bad ? " bad" : ""}`, "data-metric": label },
    el("div", { class: "v" }, value), el("div", { class: "l" }, label), ...(extra ? [extra] : []));
  const age = h.seconds_since_last_batch;
  $("tiles").replaceChildren(
    tile("worker status", h.status === "ok" ? "ok" : "stalled", h.status !== "ok"),
    tile("events per second (last minute)", h.events_per_second === null ? "…" : fmt.format(h.events_per_second), false, sparkline(rateHistory)),
    tile("messages behind (consumer lag)", fmt.format(h.consumer_lag), h.consumer_lag > 10000),
    tile("rejected messages (all workers)", fmt.format(d.total), false),
    tile("failed ClickHouse writes (retried)", fmt.format(h.write_errors), h.write_errors > 0),
    tile("seconds since the last batch", age === null ? "none yet" : fmt.format(age), false));
  const body = $("reasons").tBodies[0];
  body.replaceChildren();
  if (!d.by_reason.length) body.append(el("tr", {}, el("td", { class: "quiet", colSpan: 3 }, "no rejected message")));
  for (const r of d.by_reason) body.append(el("tr", { "data-reason": r.reason_class },
    el("td", {}, r.reason_class), el("td", {}, r.topic), el("td", { class: "n" }, fmt.format(r.messages))));
}

// -- refresh --------------------------------------------------------------------------------

async function refresh() {
  try {
    const [typology, sentiment, leaders, health, deadLetters] = await Promise.all(
      ["/api/typology", "/api/sentiment", "/api/leaders", "/api/health", "/api/dead-letters"].map(getJson));
    const hasData = typology.has_data || sentiment.has_data || leaders.has_data;
    $("no-data").hidden = hasData;
    $("unreachable").hidden = true;
    document.querySelector("main").hidden = !hasData;
    $("as-of").textContent = sentiment.as_of ? `data up to ${when(sentiment.as_of)}; page updated ${new Date().toLocaleTimeString()}`
      : `page updated ${new Date().toLocaleTimeString()}`;
    if (hasData) {
      drawTypology(typology);
      drawSentiment(sentiment);
      drawLeaders(leaders);
      drawPipeline(health, deadLetters);
    }
    document.body.dataset.state = hasData ? "ready" : "empty";
  } catch (error) {
    $("unreachable").hidden = false;
    $("unreachable").textContent = `The worker did not answer (${error.message}); retrying every ${REFRESH_MS / 1000} s.`;
    document.body.dataset.state = "error";
  }
}

refresh();
setInterval(refresh, REFRESH_MS);
