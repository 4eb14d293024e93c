// The Reports page (served at /reports/), for admins (every figure) and agents (their own). Reads
// /api/reports/* (docs/reports.md); each figure links to its definition, rendered below the charts
// from docs/reports.md itself (shipped as definitions.md). Charts: Chart.js, bundled only here.
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement,
  Tooltip,
} from "chart.js";
import { MatrixController, MatrixElement } from "chartjs-chart-matrix";
import { $, clear, h, logOut, makeApi, signedIn } from "./ui.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement,
  Tooltip, Legend, MatrixController, MatrixElement);
Chart.defaults.animation = false;
Chart.defaults.font.family = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
Chart.defaults.maintainAspectRatio = false;

const toLogin = () => location.replace("/login?next=/reports/");
const api = makeApi(toLogin);
const COLORS = ["#1f5f4a", "#d9822b", "#3b6fb6", "#9c4f96", "#b3261e", "#5b8c2a", "#7a6a4f", "#2a8c8c"];
const FILTERS = ["agent", "language", "reason", "page"];
const charts = {};
let options = null;

// ---- formatting -------------------------------------------------------------------------------
const isNum = (x) => typeof x === "number" && isFinite(x);
const count = (x) => (isNum(x) ? x.toLocaleString() : "–");
const pct = (x) => (isNum(x) ? (Math.round(x * 1000) / 10).toLocaleString() + " %" : "–");
function secs(x) {
  if (!isNum(x)) return "–";
  if (x < 90) return Math.round(x) + " s";
  if (x < 5400) return Math.round(x / 6) / 10 + " min";
  return Math.round(x / 360) / 10 + " h";
}
// The anchor of a definition: the heading's words, as GitHub makes them (docs/reports.md#...).
const slug = (title) => title.toLowerCase().replace(/[^\p{L}\p{N} -]/gu, "").trim().replace(/ /g, "-");
const defLink = (title) => h("a", { class: "def", href: "#def-" + slug(title), title: "Definition: " + title, text: "?" });

function card(title, value, sub) {
  return h("div", { class: "card", dataset: { figure: slug(title) } },
    h("div", { class: "k" }, h("span", { text: title }), defLink(title)),
    h("div", { class: "v", text: value }),
    sub ? h("div", { class: "sub", text: sub }) : null);
}

function table(columns, rows, empty) {
  if (!rows.length) return h("p", { class: "empty", text: empty || "Nothing in this period." });
  return h("table", null,
    h("thead", null, h("tr", null, columns.map((c) => h("th", { class: c.n ? "n" : "", title: c.title || null }, c.label,
      c.def ? [" ", defLink(c.def)] : null)))),
    h("tbody", null, rows.map((r) => h("tr", null, columns.map((c) => h("td", { class: c.n ? "n" : "" }, c.cell(r)))))));
}

// ---- the query string of the period and filters ---------------------------------------------------
function params() {
  const p = new URLSearchParams({ period: $("period").value });
  if ($("period").value === "custom") {
    p.set("from", $("from").value);
    p.set("to", $("to").value);
  }
  for (const f of FILTERS) if ($(f).value) p.set(f, $(f).value);
  return p;
}
const csvLink = (section, tbl) =>
  h("a", { class: "csv", href: `/api/reports/${section}/${tbl}.csv?${params()}`, download: "", text: "CSV" });
function withCsv(boxChild, section, tbl, definition) {
  const h3 = boxChild.closest(".box").querySelector("h3");
  h3.querySelectorAll(".csv").forEach((a) => a.remove());
  if (h3.querySelector("span") && !h3.querySelector(".def")) h3.appendChild(defLink(definition || h3.querySelector("span").textContent));
  h3.appendChild(csvLink(section, tbl));
}

// ---- charts --------------------------------------------------------------------------------------
function chart(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart($(id), config);
}
const tickLabel = (step) => (at) => (step === "hour" ? at.slice(11, 16) + (at.endsWith("T00:00") ? " " + at.slice(5, 10) : "") : at.slice(5));

function drawActivity(body) {
  const labels = body.series.map((p) => tickLabel(body.step)(p.at));
  const line = (label, key, i) => ({ label, data: body.series.map((p) => p[key]), borderColor: COLORS[i],
    backgroundColor: COLORS[i], tension: 0.2, pointRadius: body.series.length > 40 ? 0 : 2 });
  chart("chart-series", { type: "line", data: { labels, datasets: [line("Conversations", "conversations", 0),
    line("Handoffs", "handoffs", 1), line("Contained", "contained", 2)] },
  options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: "bottom" } } } });
  const days = body.heatmap.days;
  const data = [];
  body.heatmap.counts.forEach((row, y) => row.forEach((v, x) => data.push({ x, y, v })));
  const max = Math.max(1, ...data.map((c) => c.v));
  chart("chart-heat", { type: "matrix", data: { datasets: [{ label: "Conversations", data,
    backgroundColor: (c) => `rgba(31, 95, 74, ${c.raw ? 0.06 + 0.94 * (c.raw.v / max) : 0})`,
    borderColor: "#fff", borderWidth: 1,
    width: ({ chart: ch }) => (ch.chartArea || {}).width / 24 - 1,
    height: ({ chart: ch }) => (ch.chartArea || {}).height / 7 - 1 }] },
  options: { plugins: { legend: { display: false }, tooltip: { callbacks: {
    title: (items) => `${days[items[0].raw.y]} ${String(items[0].raw.x).padStart(2, "0")}:00`,
    label: (item) => `${item.raw.v} conversations` } } },
  scales: { x: { type: "linear", min: -0.5, max: 23.5, offset: false, grid: { display: false },
    // ticks on whole hours and days: the scale's own would start at its min, -0.5
    afterBuildTicks: (s) => { s.ticks = [0, 3, 6, 9, 12, 15, 18, 21].map((value) => ({ value })); },
    ticks: { callback: (v) => String(v).padStart(2, "0") + "h" } },
  y: { type: "linear", min: -0.5, max: 6.5, reverse: true, offset: false, grid: { display: false },
    afterBuildTicks: (s) => { s.ticks = [0, 1, 2, 3, 4, 5, 6].map((value) => ({ value })); },
    ticks: { callback: (v) => days[v] || "" } } } } });
  withCsv($("chart-series"), "activity", "series");
  withCsv($("chart-heat"), "activity", "heatmap");
}

function drawBot(b) {
  clear($("bot-cards")).append(
    card("Conversations", count(b.conversations)),
    card("Containment", pct(b.containment), `${count(b.contained)} contained`),
    card("Handoff rate", pct(b.handoff_rate), `${count(b.handoffs)} handoffs`),
    card("Answered rate", pct(b.answered_rate), `${count(b.answered)} of ${count(b.questions)} questions`),
    card("Not sure rate", pct(b.not_sure_rate), `${count(b.not_sure)} "not sure"`),
    card("Did that help", pct(b.helped_rate), `${count(b.helped_yes)} yes · ${count(b.helped_no)} no`));
  clear($("bot-articles")).append(table([
    { label: "Article", cell: (r) => r.title },
    { label: "Served", n: 1, cell: (r) => count(r.served) },
    { label: "Yes", n: 1, cell: (r) => count(r.helped_yes) },
    { label: "No", n: 1, cell: (r) => count(r.helped_no) }], b.top_articles));
  clear($("bot-unanswered")).append(table([
    { label: "Question", cell: (r) => r.question },
    { label: "Asked", n: 1, cell: (r) => count(r.asked) }], b.top_unanswered));
  withCsv($("bot-articles"), "bot", "top_articles");
  withCsv($("bot-unanswered"), "bot", "top_unanswered");
  const h2 = $("sec-bot").querySelector("h2");
  h2.querySelectorAll(".csv").forEach((a) => a.remove());
  h2.appendChild(csvLink("bot", "summary"));
}

function drawQueue(q) {
  clear($("queue-cards")).append(
    card("Queued", count(q.queued), `${count(q.answered_from_queue)} answered from the queue`),
    card("Wait in queue", secs(q.wait_median_s), `median · 90th percentile ${secs(q.wait_p90_s)}`),
    card("Abandoned while queued", count(q.abandoned), pct(q.abandoned_rate) + " of queued"),
    card("Queue timed out", count(q.queue_timed_out)),
    card("Missed offers", count(q.missed_offers)),
    card("Offline messages", count(q.offline_messages),
      `${count(q.offline_replied)} replied · median ${secs(q.offline_reply_median_s)}, p90 ${secs(q.offline_reply_p90_s)}`));
  const bars = q.wait_distribution.map((b) => (b.to_s == null ? `${secs(b.from_s)}+` : `< ${secs(b.to_s)}`));
  chart("chart-wait", { type: "bar", data: { labels: bars, datasets: [{ label: "Chats", data: q.wait_distribution.map((b) => b.chats),
    backgroundColor: COLORS[0] }] }, options: { plugins: { legend: { display: false } },
    scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } } });
  clear($("queue-reasons")).append(table([
    { label: "Reason", cell: (r) => r.reason.replace(/_/g, " ") },
    { label: "Handoffs", n: 1, cell: (r) => count(r.handoffs) }], q.handoff_reasons));
  withCsv($("chart-wait"), "queue", "wait_distribution");
  withCsv($("queue-reasons"), "queue", "handoff_reasons");
  const h2 = $("sec-queue").querySelector("h2");
  h2.querySelectorAll(".csv").forEach((a) => a.remove());
  h2.appendChild(csvLink("queue", "summary"));
}

function starsBar(stars) {
  const total = Object.values(stars).reduce((a, b) => a + b, 0);
  const shades = { 1: "#b3261e", 2: "#e07b39", 3: "#d8b84a", 4: "#7fae6a", 5: "#1f5f4a" };
  return h("span", { class: "stars", title: [1, 2, 3, 4, 5].map((s) => `${s}★ ${stars[s]}`).join(" · ") },
    total ? [1, 2, 3, 4, 5].map((s) => {
      const part = h("i"); // CSSOM, not a style attribute: the page's CSP allows no inline styles
      part.style.width = (100 * stars[s]) / total + "%";
      part.style.background = shades[s];
      return part;
    }) : null);
}

function drawAgents(a) {
  const rows = a.agents;
  clear($("agents-table")).append(h("h3", null, h("span", { text: "Per agent" }), csvLink("agents", "agents")), table([
    { label: "Agent", cell: (r) => r.name },
    { label: "Chats", n: 1, def: "Chats", cell: (r) => count(r.chats) },
    { label: "First response (median)", n: 1, def: "First response time", cell: (r) => secs(r.first_response_median_s) },
    { label: "First response (p90)", n: 1, cell: (r) => secs(r.first_response_p90_s) },
    { label: "Handling (median)", n: 1, def: "Handling time", cell: (r) => secs(r.handling_median_s) },
    { label: "Ratings", n: 1, def: "Ratings", cell: (r) => count(r.ratings) },
    { label: "CSAT", n: 1, def: "CSAT", cell: (r) => pct(r.csat) },
    { label: "1–5 stars", cell: (r) => starsBar(r.stars) },
    { label: "Missed offers", n: 1, def: "Agent missed offers", cell: (r) => count(r.missed_offers) }], rows,
  "No agents."));
  const labels = [...new Set(a.series.map((p) => p.at))].sort();
  const served = rows.filter((r) => r.chats > 0);
  const sets = (key) => served.map((r, i) => ({ label: r.name, borderColor: COLORS[i % COLORS.length],
    backgroundColor: COLORS[i % COLORS.length], spanGaps: true,
    data: labels.map((at) => { const p = a.series.find((s) => s.agent_id === r.agent_id && s.at === at); return p ? p[key] : null; }) }));
  const shown = labels.map(tickLabel(a.step));
  chart("chart-agent-chats", { type: "bar", data: { labels: shown, datasets: sets("chats") },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: "bottom" } } } });
  chart("chart-agent-csat", { type: "line", data: { labels: shown, datasets: sets("csat") },
    options: { scales: { y: { min: 0, max: 1, ticks: { callback: (v) => Math.round(v * 100) + " %" } } },
      plugins: { legend: { position: "bottom" } } } });
  withCsv($("chart-agent-chats"), "agents", "series", "Agents over time");
  withCsv($("chart-agent-csat"), "agents", "series", "Agents over time");
}

const money = (list) => (list.length ? list.map((m) => `${m.value.toLocaleString(undefined, { minimumFractionDigits: 2 })} ${m.currency}`).join(" · ") : "–");

function drawConversions(c) {
  const names = { bot: "Bot only", agent: "With an agent", none: "No chat" };
  clear($("conv-cards")).append(...c.by_kind.map((k) => {
    const el = card("Conversion rate", k.kind === "none" ? count(k.orders) : pct(k.conversion_rate),
      `${names[k.kind]} · ${count(k.orders)} orders · ${money(k.revenue)}`);
    el.querySelector(".k span").textContent = names[k.kind];
    return el;
  }));
  clear($("conv-agents")).append(table([
    { label: "Agent", cell: (r) => r.name },
    { label: "Chats", n: 1, cell: (r) => count(r.chats) },
    { label: "Orders", n: 1, cell: (r) => count(r.orders) },
    { label: "Conversion rate", n: 1, cell: (r) => pct(r.conversion_rate) },
    { label: "Revenue", n: 1, cell: (r) => money(r.revenue) }], c.by_agent, "No agents."));
  withCsv($("conv-agents"), "conversions", "by_agent");
  const h2 = $("sec-conversions").querySelector("h2");
  h2.querySelectorAll(".csv").forEach((a) => a.remove());
  h2.appendChild(csvLink("conversions", "by_kind"));
}

const FILTER_NAMES = { language: "language", reason: "handoff reason", page: "start page" };

function drawInvitations(v) {
  const rate = (part) => `${count(part)} of ${count(v.shown)} shown`;
  clear($("inv-cards")).append(
    card("Invitations shown", count(v.shown)),
    card("Accepted", count(v.accepted)),
    card("Dismissed", count(v.dismissed)),
    card("Chats started", count(v.chats_started)),
    card("Acceptance rate", pct(v.acceptance_rate), rate(v.accepted)),
    card("Chat rate", pct(v.chat_rate), rate(v.chats_started)));
  const note = $("inv-note");
  note.hidden = !v.not_filtered_by.length;
  note.textContent = v.not_filtered_by.length
    ? `Invitations have no ${v.not_filtered_by.map((f) => FILTER_NAMES[f] || f).join(" or ")}: not filtered by it.` : "";
  clear($("inv-sources")).append(table([
    { label: "Rule or agent", cell: (r) => (r.source === "agent" ? [r.name, h("span", { class: "muted", text: " · agent" })] : r.name) },
    { label: "Shown", n: 1, def: "Invitations shown", cell: (r) => count(r.shown) },
    { label: "Accepted", n: 1, def: "Accepted", cell: (r) => count(r.accepted) },
    { label: "Dismissed", n: 1, def: "Dismissed", cell: (r) => count(r.dismissed) },
    { label: "Chats", n: 1, def: "Chats started", cell: (r) => count(r.chats_started) },
    { label: "Acceptance", n: 1, def: "Acceptance rate", cell: (r) => pct(r.acceptance_rate) },
    { label: "Chat rate", n: 1, def: "Chat rate", cell: (r) => pct(r.chat_rate) }], v.by_source, "No rules and no invitations."));
  const labels = v.series.map((p) => tickLabel(v.step)(p.at));
  const line = (label, key, i) => ({ label, data: v.series.map((p) => p[key]), borderColor: COLORS[i],
    backgroundColor: COLORS[i], tension: 0.2, pointRadius: v.series.length > 40 ? 0 : 2 });
  chart("chart-invitations", { type: "line", data: { labels, datasets: [line("Shown", "shown", 0),
    line("Accepted", "accepted", 1), line("Chats started", "chats_started", 2)] },
  options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: "bottom" } } } });
  withCsv($("inv-sources"), "invitations", "by_source");
  withCsv($("chart-invitations"), "invitations", "series");
  const h2 = $("sec-invitations").querySelector("h2");
  h2.querySelectorAll(".csv").forEach((a) => a.remove());
  h2.appendChild(csvLink("invitations", "summary"));
}

// ---- loading ------------------------------------------------------------------------------------
let loading = 0;
async function load() {
  const mine = ++loading;
  $("error").hidden = true;
  const sections = options.sections;
  try {
    const q = "?" + params();
    const got = await Promise.all(sections.map((s) => api("GET", `/api/reports/${s}${q}`)));
    if (mine !== loading) return; // a newer choice is loading
    const by = Object.fromEntries(sections.map((s, i) => [s, got[i]]));
    const p = got[0].period;
    const total = by.activity ? by.activity.series.reduce((n, x) => n + x.conversations, 0) : null;
    $("range").textContent = `${p.from} – ${p.to} (${p.time_zone})` + (total === 0 ? " · no conversations in this period" : "");
    if (by.bot) drawBot(by.bot);
    if (by.activity) drawActivity(by.activity);
    if (by.queue) drawQueue(by.queue);
    if (by.agents) drawAgents(by.agents);
    if (by.conversions) drawConversions(by.conversions);
    if (by.invitations) drawInvitations(by.invitations);
    for (const s of sections) if ($("sec-" + s)) $("sec-" + s).hidden = false;
    document.body.dataset.loaded = String(mine);
  } catch (e) {
    if (mine !== loading) return; // an older choice (e.g. a half-typed range) failed: not this one
    $("error").textContent = e.message || "The report could not be loaded.";
    $("error").hidden = false;
  }
}

function fill(select, items, allLabel) {
  clear(select).append(h("option", { value: "", text: allLabel }),
    ...items.map((it) => (typeof it === "string" ? h("option", { value: it, text: it }) : h("option", { value: String(it.id), text: it.name }))));
}

// ---- the definitions: docs/reports.md, as text nodes only -----------------------------------------
function inline(text) {
  const out = [];
  const re = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*]+\*|\[[^\]]+\]\([^)\s]+\))/g;
  let last = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    const t = m[0];
    const link = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(t);
    if (link) {
      const local = /^(img\/|[\w-]+\.md)/.test(link[2]); // another page of docs/: shown as text
      out.push(/^https:\/\//.test(link[2]) && !local
        ? h("a", { href: link[2], rel: "noopener noreferrer", target: "_blank", text: link[1] })
        : link[1]);
    } else if (t.startsWith("`")) out.push(h("code", { text: t.slice(1, -1) }));
    else if (t.startsWith("**")) out.push(h("b", { text: t.slice(2, -2) }));
    else out.push(h("i", { text: t.slice(1, -1) }));
    last = m.index + t.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

function renderDefinitions(md) {
  const box = clear($("defs"));
  box.classList.remove("muted");
  let para = [];
  let list = null;
  const flush = () => {
    if (para.length) box.appendChild(h("p", null, inline(para.join(" "))));
    para = [];
  };
  for (const raw of md.split("\n")) {
    const line = raw.trimEnd();
    if (line.startsWith("# ") || line.startsWith("![")) continue;
    const heading = /^(##|###) (.+)$/.exec(line);
    if (heading) {
      flush();
      list = null;
      const tag = heading[1] === "##" ? "h3" : "h4";
      box.appendChild(h(tag, { id: "def-" + slug(heading[2]), text: heading[2] }));
    } else if (/^\|/.test(line)) {
      flush();
      list = null;
      const cells = line.slice(1, line.endsWith("|") ? -1 : undefined).split("|").map((c) => c.trim());
      if (cells.every((c) => /^-+:?$/.test(c))) continue;
      let tbl = box.lastChild;
      if (!tbl || tbl.tagName !== "TABLE") box.appendChild((tbl = h("table", { class: "doc" })));
      tbl.appendChild(h("tr", null, cells.map((c) => h(tbl.rows.length ? "td" : "th", null, inline(c)))));
    } else if (/^- /.test(line)) {
      flush();
      if (!list) box.appendChild((list = h("ul")));
      list.appendChild(h("li", null, inline(line.slice(2))));
    } else if (!line) {
      flush();
      list = null;
    } else if (list && /^ {2}/.test(raw)) {
      list.lastChild.append(" ", ...inline(line.trim()));
    } else {
      para.push(line);
    }
  }
  flush();
  if (location.hash.startsWith("#def-") && $(location.hash.slice(1))) $(location.hash.slice(1)).scrollIntoView();
}

async function start() {
  const me = await signedIn(toLogin);
  if (!me) return;
  try {
    options = await api("GET", "/api/reports/options");
  } catch (e) {
    $("boot").textContent = e.status === 403 ? "Reports are for admins and agents." : e.message;
    return;
  }
  $("myname").textContent = options.me.name;
  fill($("agent"), options.agents, options.role === "admin" ? "All agents" : options.me.name);
  if (options.role !== "admin") {
    $("agent").value = String(options.me.id);
    $("agent").disabled = true;
  }
  fill($("language"), options.languages, "All languages");
  fill($("reason"), options.reasons.map((r) => ({ id: r, name: r.replace(/_/g, " ") })), "All reasons");
  fill($("page"), options.start_pages, "All pages");
  const today = new Date().toISOString().slice(0, 10);
  $("from").value = $("to").value = today;
  $("period").addEventListener("change", () => {
    $("custom").hidden = $("period").value !== "custom";
    load();
  });
  for (const id of ["from", "to", ...FILTERS]) $(id).addEventListener("change", load);
  $("pick").addEventListener("submit", (e) => e.preventDefault());
  $("logout").addEventListener("click", logOut);
  $("boot").hidden = true;
  $("app").hidden = false;
  fetch("definitions.md", { credentials: "same-origin" })
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.status))))
    .then(renderDefinitions)
    .catch(() => { $("defs").textContent = "The definitions could not be loaded; see docs/reports.md."; });
  await load();
}

start();
