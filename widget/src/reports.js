// The Reports page (served at /reports/), for admins (every figure) and agents (their own). Reads
// /api/reports/* (docs/reports.md); each figure links to its definition, rendered below the charts
// from docs/reports.md itself (shipped as definitions.md; in Greek docs/reports.el.md, shipped as
// definitions.el.md). Charts: Chart.js, bundled only here. In English or Greek (staff_i18n.js), the
// user's one choice for the staff pages: a switch redraws the last figures and charts at once.
import {
  BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement,
  Tooltip,
} from "chart.js";
import { MatrixController, MatrixElement } from "chartjs-chart-matrix";
import { $, clear, h, logOut, makeApi, signedIn, toast } from "./ui.js";
import { T, Tn, applyStatic, language, pickLanguage, setLanguage, wireLanguageSwitch } from "./staff_i18n.js";

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
// Numbers and dates for the page's language, whatever the browser's: Greek ones (1.234,5 · 3 Δεκ 2026)
// in Greek, English numbers (1,234.5) and ISO days (2026-12-03) in English.
const greek = () => language() === "el";
const locale = () => (greek() ? "el-GR" : "en");
const isNum = (x) => typeof x === "number" && isFinite(x);
const num = (x) => x.toLocaleString(locale());
const count = (x) => (isNum(x) ? num(x) : "–");
const pct = (x) => (isNum(x) ? num(Math.round(x * 1000) / 10) + " %" : "–");
function secs(x) {
  if (!isNum(x)) return "–";
  if (x < 90) return T("r.unit.s", { n: num(Math.round(x)) });
  if (x < 5400) return T("r.unit.min", { n: num(Math.round(x / 6) / 10) });
  return T("r.unit.h", { n: num(Math.round(x / 360) / 10) });
}
const utcDay = (ymd) => new Date(ymd + "T00:00:00Z");
const day = (ymd) => (greek()
  ? new Intl.DateTimeFormat("el-GR", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(utcDay(ymd))
  : ymd);
const shortDay = (ymd) => (greek() ? `${Number(ymd.slice(8, 10))}/${Number(ymd.slice(5, 7))}` : ymd.slice(5));
// The anchor of a definition: the English heading's words, as GitHub makes them (docs/reports.md#...);
// the Greek definitions carry the same anchors, so a figure's "?" finds its definition in both.
const slug = (title) => title.toLowerCase().replace(/[^\p{L}\p{N} -]/gu, "").trim().replace(/ /g, "-");
const defLink = (id, name) => h("a", { class: "def", href: "#def-" + id, title: T("r.def_of", { name }), text: "?" });

/** A figure: `id` its definition's anchor (and data-figure), `title` its name in the page's language. */
function card(id, title, value, sub) {
  return h("div", { class: "card", dataset: { figure: id } },
    h("div", { class: "k" }, h("span", { text: title }), defLink(id, title)),
    h("div", { class: "v", text: value }),
    sub ? h("div", { class: "sub", text: sub }) : null);
}

function table(columns, rows, empty) {
  if (!rows.length) return h("p", { class: "empty", text: empty || T("r.empty") });
  return h("table", null,
    h("thead", null, h("tr", null, columns.map((c) => h("th", { class: c.n ? "n" : "", title: c.title || null }, c.label,
      c.def ? [" ", defLink(c.def, c.label)] : null)))),
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
  h("a", { class: "csv", href: `/api/reports/${section}/${tbl}.csv?${params()}`, download: "", title: T("r.csv_title"), text: "CSV" });
// A box's heading: its definition's "?" (data-def, the anchor) and its table's CSV link.
function withCsv(boxChild, section, tbl) {
  const h3 = boxChild.closest(".box").querySelector("h3");
  h3.querySelectorAll(".csv, .def").forEach((a) => a.remove());
  const name = h3.querySelector("span[data-def]");
  if (name) h3.appendChild(defLink(name.dataset.def, name.textContent));
  h3.appendChild(csvLink(section, tbl));
}
function sectionCsv(section, tbl) {
  const h2 = $("sec-" + section).querySelector("h2");
  h2.querySelectorAll(".csv").forEach((a) => a.remove());
  h2.appendChild(csvLink(section, tbl));
}

// ---- charts --------------------------------------------------------------------------------------
function chart(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart($(id), config);
}
const tickLabel = (step) => (at) => (step === "hour" ? at.slice(11, 16) + (at.endsWith("T00:00") ? " " + shortDay(at.slice(0, 10)) : "") : shortDay(at.slice(0, 10)));
// the server's day names (Mon … Sun, insights/reports.py) in the page's language
const WEEKDAY = { Mon: () => T("r.day.mon"), Tue: () => T("r.day.tue"), Wed: () => T("r.day.wed"), Thu: () => T("r.day.thu"),
  Fri: () => T("r.day.fri"), Sat: () => T("r.day.sat"), Sun: () => T("r.day.sun") };
const weekday = (d) => (WEEKDAY[d] ? WEEKDAY[d]() : d);
// Chart.js formats its own tick numbers with `locale`
const chartOptions = (o) => Object.assign({ locale: locale() }, o);

function drawActivity(body) {
  const labels = body.series.map((p) => tickLabel(body.step)(p.at));
  const line = (label, key, i) => ({ label, data: body.series.map((p) => p[key]), borderColor: COLORS[i],
    backgroundColor: COLORS[i], tension: 0.2, pointRadius: body.series.length > 40 ? 0 : 2 });
  chart("chart-series", { type: "line", data: { labels, datasets: [line(T("r.fig.conversations"), "conversations", 0),
    line(T("r.fig.handoffs"), "handoffs", 1), line(T("r.fig.contained"), "contained", 2)] },
  options: chartOptions({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: "bottom" } } }) });
  const days = body.heatmap.days.map(weekday);
  const data = [];
  body.heatmap.counts.forEach((row, y) => row.forEach((v, x) => data.push({ x, y, v })));
  const max = Math.max(1, ...data.map((c) => c.v));
  chart("chart-heat", { type: "matrix", data: { datasets: [{ label: T("r.fig.conversations"), data,
    backgroundColor: (c) => `rgba(31, 95, 74, ${c.raw ? 0.06 + 0.94 * (c.raw.v / max) : 0})`,
    borderColor: "#fff", borderWidth: 1,
    width: ({ chart: ch }) => (ch.chartArea || {}).width / 24 - 1,
    height: ({ chart: ch }) => (ch.chartArea || {}).height / 7 - 1 }] },
  options: chartOptions({ plugins: { legend: { display: false }, tooltip: { callbacks: {
    title: (items) => `${days[items[0].raw.y]} ${String(items[0].raw.x).padStart(2, "0")}:00`,
    label: (item) => Tn("r.n_conversations", item.raw.v, { n: count(item.raw.v) }) } } },
  scales: { x: { type: "linear", min: -0.5, max: 23.5, offset: false, grid: { display: false },
    // ticks on whole hours and days: the scale's own would start at its min, -0.5
    afterBuildTicks: (s) => { s.ticks = [0, 3, 6, 9, 12, 15, 18, 21].map((value) => ({ value })); },
    ticks: { callback: (v) => T("r.hour_tick", { h: String(v).padStart(2, "0") }) } },
  y: { type: "linear", min: -0.5, max: 6.5, reverse: true, offset: false, grid: { display: false },
    afterBuildTicks: (s) => { s.ticks = [0, 1, 2, 3, 4, 5, 6].map((value) => ({ value })); },
    ticks: { callback: (v) => days[v] || "" } } } }) });
  withCsv($("chart-series"), "activity", "series");
  withCsv($("chart-heat"), "activity", "heatmap");
}

function drawBot(b) {
  clear($("bot-cards")).append(
    card("conversations", T("r.fig.conversations"), count(b.conversations)),
    card("containment", T("r.fig.containment"), pct(b.containment), T("r.sub.contained", { n: count(b.contained) })),
    card("handoff-rate", T("r.fig.handoff_rate"), pct(b.handoff_rate), T("r.sub.handoffs", { n: count(b.handoffs) })),
    card("answered-rate", T("r.fig.answered_rate"), pct(b.answered_rate), T("r.sub.answered", { n: count(b.answered), of: count(b.questions) })),
    card("not-sure-rate", T("r.fig.not_sure_rate"), pct(b.not_sure_rate), T("r.sub.not_sure", { n: count(b.not_sure) })),
    card("did-that-help", T("r.fig.helped"), pct(b.helped_rate), T("r.sub.helped", { yes: count(b.helped_yes), no: count(b.helped_no) })));
  clear($("bot-articles")).append(table([
    { label: T("r.col.article"), cell: (r) => r.title },
    { label: T("r.col.served"), n: 1, cell: (r) => count(r.served) },
    { label: T("r.col.yes"), n: 1, cell: (r) => count(r.helped_yes) },
    { label: T("r.col.no"), n: 1, cell: (r) => count(r.helped_no) }], b.top_articles));
  clear($("bot-unanswered")).append(table([
    { label: T("r.col.question"), cell: (r) => r.question },
    { label: T("r.col.asked"), n: 1, cell: (r) => count(r.asked) }], b.top_unanswered));
  withCsv($("bot-articles"), "bot", "top_articles");
  withCsv($("bot-unanswered"), "bot", "top_unanswered");
  sectionCsv("bot", "summary");
}

// the handoff reasons the server counts (docs/reports.md "Handoff reasons"); another is shown as it comes
const REASON = { visitor_asked: () => T("r.reason.visitor_asked"), button: () => T("r.reason.button"),
  bot_failed: () => T("r.reason.bot_failed"), agent_took_over: () => T("r.reason.agent_took_over") };
const reasonName = (r) => (REASON[r] ? REASON[r]() : r.replace(/_/g, " "));

function drawQueue(q) {
  clear($("queue-cards")).append(
    card("queued", T("r.fig.queued"), count(q.queued), T("r.sub.from_queue", { n: count(q.answered_from_queue) })),
    card("wait-in-queue", T("r.fig.wait"), secs(q.wait_median_s), T("r.sub.wait", { p90: secs(q.wait_p90_s) })),
    card("abandoned-while-queued", T("r.fig.abandoned"), count(q.abandoned), T("r.sub.of_queued", { rate: pct(q.abandoned_rate) })),
    card("queue-timed-out", T("r.fig.timed_out"), count(q.queue_timed_out)),
    card("missed-offers", T("r.fig.missed"), count(q.missed_offers)),
    card("offline-messages", T("r.fig.offline"), count(q.offline_messages),
      T("r.sub.offline", { n: count(q.offline_replied), median: secs(q.offline_reply_median_s), p90: secs(q.offline_reply_p90_s) })));
  const bars = q.wait_distribution.map((b) => (b.to_s == null ? `${secs(b.from_s)}+` : `< ${secs(b.to_s)}`));
  chart("chart-wait", { type: "bar", data: { labels: bars, datasets: [{ label: T("r.col.chats"), data: q.wait_distribution.map((b) => b.chats),
    backgroundColor: COLORS[0] }] }, options: chartOptions({ plugins: { legend: { display: false } },
    scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }) });
  clear($("queue-reasons")).append(table([
    { label: T("r.col.reason"), cell: (r) => reasonName(r.reason) },
    { label: T("r.fig.handoffs"), n: 1, cell: (r) => count(r.handoffs) }], q.handoff_reasons));
  withCsv($("chart-wait"), "queue", "wait_distribution");
  withCsv($("queue-reasons"), "queue", "handoff_reasons");
  sectionCsv("queue", "summary");
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
  clear($("agents-table")).append(h("h3", null, h("span", { text: T("r.h.per_agent") }), csvLink("agents", "agents")), table([
    { label: T("r.col.agent"), cell: (r) => r.name },
    { label: T("r.col.chats"), n: 1, def: "chats", cell: (r) => count(r.chats) },
    { label: T("r.col.first_median"), n: 1, def: "first-response-time", cell: (r) => secs(r.first_response_median_s) },
    { label: T("r.col.first_p90"), n: 1, cell: (r) => secs(r.first_response_p90_s) },
    { label: T("r.col.handling"), n: 1, def: "handling-time", cell: (r) => secs(r.handling_median_s) },
    { label: T("r.col.ratings"), n: 1, def: "ratings", cell: (r) => count(r.ratings) },
    { label: "CSAT", n: 1, def: "csat", cell: (r) => pct(r.csat) },
    { label: T("r.col.stars"), cell: (r) => starsBar(r.stars) },
    { label: T("r.fig.missed"), n: 1, def: "agent-missed-offers", cell: (r) => count(r.missed_offers) }], rows,
  T("r.no_agents")));
  const labels = [...new Set(a.series.map((p) => p.at))].sort();
  const served = rows.filter((r) => r.chats > 0);
  const sets = (key) => served.map((r, i) => ({ label: r.name, borderColor: COLORS[i % COLORS.length],
    backgroundColor: COLORS[i % COLORS.length], spanGaps: true,
    data: labels.map((at) => { const p = a.series.find((s) => s.agent_id === r.agent_id && s.at === at); return p ? p[key] : null; }) }));
  const shown = labels.map(tickLabel(a.step));
  chart("chart-agent-chats", { type: "bar", data: { labels: shown, datasets: sets("chats") },
    options: chartOptions({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: "bottom" } } }) });
  chart("chart-agent-csat", { type: "line", data: { labels: shown, datasets: sets("csat") },
    options: chartOptions({ scales: { y: { min: 0, max: 1, ticks: { callback: (v) => Math.round(v * 100) + " %" } } },
      plugins: { legend: { position: "bottom" } } }) });
  withCsv($("chart-agent-chats"), "agents", "series");
  withCsv($("chart-agent-csat"), "agents", "series");
}

const money = (list) => (list.length
  ? list.map((m) => `${m.value.toLocaleString(locale(), { minimumFractionDigits: 2 })} ${m.currency}`).join(" · ") : "–");

function drawConversions(c) {
  const names = { bot: () => T("r.kind.bot"), agent: () => T("r.kind.agent"), none: () => T("r.kind.none") };
  const kindName = (k) => (names[k] ? names[k]() : k);
  clear($("conv-cards")).append(...c.by_kind.map((k) =>
    // every kind's card is a conversion rate (its definition), named by its kind
    card("conversion-rate", kindName(k.kind), k.kind === "none" ? count(k.orders) : pct(k.conversion_rate),
      T("r.sub.orders", { kind: kindName(k.kind), orders: Tn("r.n_orders", k.orders, { n: count(k.orders) }), revenue: money(k.revenue) }))));
  clear($("conv-agents")).append(table([
    { label: T("r.col.agent"), cell: (r) => r.name },
    { label: T("r.col.chats"), n: 1, cell: (r) => count(r.chats) },
    { label: T("r.col.orders"), n: 1, cell: (r) => count(r.orders) },
    { label: T("r.fig.conversion_rate"), n: 1, cell: (r) => pct(r.conversion_rate) },
    { label: T("r.col.revenue"), n: 1, cell: (r) => money(r.revenue) }], c.by_agent, T("r.no_agents")));
  withCsv($("conv-agents"), "conversions", "by_agent");
  sectionCsv("conversions", "by_kind");
}

const FILTER_NAMES = { language: () => T("r.nf.language"), reason: () => T("r.nf.reason"), page: () => T("r.nf.page") };

function drawInvitations(v) {
  const rate = (part) => T("r.sub.of_shown", { n: count(part), shown: count(v.shown) });
  clear($("inv-cards")).append(
    card("invitations-shown", T("r.fig.inv_shown"), count(v.shown)),
    card("accepted", T("r.fig.accepted"), count(v.accepted)),
    card("dismissed", T("r.fig.dismissed"), count(v.dismissed)),
    card("chats-started", T("r.fig.chats_started"), count(v.chats_started)),
    card("acceptance-rate", T("r.fig.acceptance_rate"), pct(v.acceptance_rate), rate(v.accepted)),
    card("chat-rate", T("r.fig.chat_rate"), pct(v.chat_rate), rate(v.chats_started)));
  const note = $("inv-note");
  note.hidden = !v.not_filtered_by.length;
  note.textContent = v.not_filtered_by.length
    ? T("r.inv.not_filtered", { filters: v.not_filtered_by.map((f) => (FILTER_NAMES[f] ? FILTER_NAMES[f]() : f)).join(T("r.or")) }) : "";
  clear($("inv-sources")).append(table([
    { label: T("r.col.rule_or_agent"), cell: (r) => (r.source === "agent" ? [r.name, h("span", { class: "muted", text: " · " + T("role.agent") })] : r.name) },
    { label: T("r.col.shown"), n: 1, def: "invitations-shown", cell: (r) => count(r.shown) },
    { label: T("r.fig.accepted"), n: 1, def: "accepted", cell: (r) => count(r.accepted) },
    { label: T("r.fig.dismissed"), n: 1, def: "dismissed", cell: (r) => count(r.dismissed) },
    { label: T("r.col.chats"), n: 1, def: "chats-started", cell: (r) => count(r.chats_started) },
    { label: T("r.col.acceptance"), n: 1, def: "acceptance-rate", cell: (r) => pct(r.acceptance_rate) },
    { label: T("r.fig.chat_rate"), n: 1, def: "chat-rate", cell: (r) => pct(r.chat_rate) }], v.by_source, T("r.no_invitations")));
  const labels = v.series.map((p) => tickLabel(v.step)(p.at));
  const line = (label, key, i) => ({ label, data: v.series.map((p) => p[key]), borderColor: COLORS[i],
    backgroundColor: COLORS[i], tension: 0.2, pointRadius: v.series.length > 40 ? 0 : 2 });
  chart("chart-invitations", { type: "line", data: { labels, datasets: [line(T("r.col.shown"), "shown", 0),
    line(T("r.fig.accepted"), "accepted", 1), line(T("r.fig.chats_started"), "chats_started", 2)] },
  options: chartOptions({ scales: { y: { beginAtZero: true, ticks: { precision: 0 } } }, plugins: { legend: { position: "bottom" } } }) });
  withCsv($("inv-sources"), "invitations", "by_source");
  withCsv($("chart-invitations"), "invitations", "series");
  sectionCsv("invitations", "summary");
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
    shown = Object.fromEntries(sections.map((s, i) => [s, got[i]]));
    draw();
    for (const s of sections) if ($("sec-" + s)) $("sec-" + s).hidden = false;
    document.body.dataset.loaded = String(mine);
  } catch (e) {
    if (mine !== loading) return; // an older choice (e.g. a half-typed range) failed: not this one
    // the server's own message (as it comes, like every staff page), else ours
    $("error").textContent = e.message || T("r.error.load");
    $("error").hidden = false;
  }
}

let shown = null; // the figures on the page: drawn again, not asked again, when the language changes
function draw() {
  if (!shown) return;
  const by = shown;
  const p = Object.values(by)[0].period;
  const total = by.activity ? by.activity.series.reduce((n, x) => n + x.conversations, 0) : null;
  $("range").textContent = `${day(p.from)} – ${day(p.to)} (${p.time_zone})` + (total === 0 ? " · " + T("r.no_conversations") : "");
  if (by.bot) drawBot(by.bot);
  if (by.activity) drawActivity(by.activity);
  if (by.queue) drawQueue(by.queue);
  if (by.agents) drawAgents(by.agents);
  if (by.conversions) drawConversions(by.conversions);
  if (by.invitations) drawInvitations(by.invitations);
}

function fill(select, items, allLabel) {
  const chosen = select.value;
  clear(select).append(h("option", { value: "", text: allLabel }),
    ...items.map((it) => (typeof it === "string" ? h("option", { value: it, text: it }) : h("option", { value: String(it.id), text: it.name }))));
  select.value = chosen;
  if (select.selectedIndex < 0) select.value = "";
}
function fillFilters() {
  fill($("agent"), options.agents, options.role === "admin" ? T("r.all.agents") : options.me.name);
  if (options.role !== "admin") $("agent").value = String(options.me.id);
  fill($("language"), options.languages, T("r.all.languages"));
  fill($("reason"), options.reasons.map((r) => ({ id: r, name: reasonName(r) })), T("r.all.reasons"));
  fill($("page"), options.start_pages, T("r.all.pages"));
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
  box.removeAttribute("data-i18n"); // the definitions now, not "Loading…" again on a relabel
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
      // the Greek headings name the English one's anchor: "### Συγκράτηση <a id="containment"></a>"
      const anchor = /^(.*?)\s*<a id="([\w-]+)"><\/a>$/.exec(heading[2]);
      box.appendChild(h(tag, { id: "def-" + (anchor ? anchor[2] : slug(heading[2])), text: anchor ? anchor[1] : heading[2] }));
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

// The definitions in the page's language, each language's file fetched once.
const definitions = {};
function showDefinitions() {
  const lang = language();
  const file = lang === "el" ? "definitions.el.md" : "definitions.md";
  definitions[lang] = definitions[lang] || fetch(file, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error(r.status))));
  definitions[lang]
    .then((md) => { if (language() === lang) renderDefinitions(md); })
    .catch(() => {
      delete definitions[lang];
      if (language() === lang) $("defs").textContent = T("r.defs.failed");
    });
}

// ---- the page's language: the user's one choice for the staff pages (PUT /api/me/language) ---------------
function relabel() {
  applyStatic(document);
  $("ui-lang").value = language();
  if (!options) return;
  fillFilters();
  draw();
  showDefinitions();
}
wireLanguageSwitch($("ui-lang"), { api, toast, relabel });
setLanguage(pickLanguage(null));
applyStatic(document);

async function start() {
  const me = await signedIn(toLogin);
  if (!me) return;
  setLanguage(pickLanguage(me.language));
  applyStatic(document);
  $("ui-lang").value = language();
  try {
    options = await api("GET", "/api/reports/options");
  } catch (e) {
    $("boot").textContent = e.status === 403 ? T("r.boot.forbidden") : e.message;
    return;
  }
  $("myname").textContent = options.me.name;
  fillFilters();
  if (options.role !== "admin") $("agent").disabled = true;
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
  showDefinitions();
  await load();
}

start();
