// The "Visitors' data" page (served at /privacy/), for admins: data requests (find, export, erase),
// the audit log, retention and the privacy-notice link, conversion-tracking API keys and the latest
// orders. Reads /api/privacy/* and /api/conversions/* (docs/privacy.md, docs/conversions.md).
// A visitor is named in POST bodies only, never in a URL; `#conversation=<id>` (the console's link
// from a conversation) prefills the search.
import { $, clear, h, logOut, makeApi, signedIn, str, toast, when } from "./ui.js";
import { T, Tn, applyStatic, language, live, pickLanguage, relabelLive, setLanguage, wireLanguageSwitch } from "./staff_i18n.js";

const toLogin = () => location.replace("/login?next=/privacy/");
const api = makeApi(toLogin);
const PLACEHOLDER = { email: () => "maria@example.com", visitor_id: () => T("p.req.ph_browser"), conversation_id: () => T("p.req.ph_conversation") };
let subject = null; // the last search: {email | visitor_id | conversation_id: value}
let found = null;
let staff = {};

function rows(table, list, cells, empty) {
  const body = clear($(table).tBodies[0]);
  if (!list.length) body.appendChild(h("tr", null, live(h("td", { class: "empty", colspan: 9 }), empty)));
  for (const item of list) body.appendChild(h("tr", null, cells(item).map((c) => h("td", null, c))));
}

function money(c) {
  return str(c.value) + " " + str(c.currency);
}

// ---- data requests -------------------------------------------------------------------------------
async function find(e) {
  if (e) e.preventDefault();
  $("find-error").hidden = true;
  $("done").hidden = true;
  $("confirm").hidden = true;
  subject = { [$("kind").value]: $("value").value.trim() };
  try {
    found = await api("POST", "/api/privacy/find", subject);
  } catch (err) {
    $("found").hidden = true;
    $("find-error").textContent = err.message;
    $("find-error").hidden = false;
    return;
  }
  const n = found.conversations.length;
  const { conversions, browser_rows: browser } = found;
  live($("found-summary"), () =>
    n || conversions || browser
      ? T("p.req.found", { conversations: Tn("p.n_conversations", n), conversions: Tn("p.n_conversions", conversions),
          browser: Tn("p.n_browser_rows", browser) })
      : T("p.req.nothing"));
  rows("found-table", found.conversations, (c) => [
    h("code", { text: c.conversation_id }), when(c.created_at), str(c.state), str(c.visitor_name, "–"),
    str(c.visitor_email, "–"), c.visitor_id ? h("code", { text: c.visitor_id }) : "–",
  ], () => T("p.req.no_conversations"));
  $("erase").disabled = !(n || conversions || browser); // a visitor who only browsed has rows too
  $("found").hidden = false;
}

async function download() {
  const r = await fetch("/api/privacy/export", {
    method: "POST", credentials: "same-origin",
    headers: { "X-Requested-With": "shopchat", "Content-Type": "application/json" },
    body: JSON.stringify(subject),
  });
  if (r.status === 401) return toLogin();
  if (!r.ok) return toast(T("p.req.export_failed", { status: r.status }), "bad");
  const blob = await r.blob();
  const name = (/filename="([^"]+)"/.exec(r.headers.get("Content-Disposition") || "") || [])[1] || "visitor-data.json";
  const a = h("a", { href: URL.createObjectURL(blob), download: name });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  loadAudit();
}

function askErase() {
  const n = found.conversations.length;
  const { conversions, browser_rows: browser } = found;
  live($("confirm-text"), () => T("p.req.confirm", { conversations: Tn("p.n_conversations", n),
    conversions: Tn("p.n_conversions", conversions), browser: Tn("p.n_browser_rows", browser) }));
  $("confirm").hidden = false;
  $("erase-no").focus();
}

async function erase() {
  $("confirm").hidden = true;
  try {
    const r = await api("POST", "/api/privacy/erase", subject);
    const e = r.erased;
    live($("done"), () => T("p.req.erased", { conversations: e.conversations, conversions: e.conversions,
      browser: e.browser_rows, events: e.tracker_events }));
    $("done").hidden = false;
    $("found").hidden = true;
  } catch (err) {
    toast(T("p.req.not_erased", { error: err.message }), "bad");
  }
  loadAudit();
}

async function loadAudit() {
  const r = await api("GET", "/api/privacy/audit");
  rows("audit", r.entries, (a) => [
    when(a.at), a.user_id ? str(staff[a.user_id], "#" + a.user_id) : T("p.automatic"), str(a.action), str(a.found_by),
    String(a.conversations), String(a.conversions), String(a.tracker_events),
  ], () => T("p.req.no_audit"));
}

// ---- settings ------------------------------------------------------------------------------------
async function loadSettings() {
  // The form is disabled (privacy.html) until the saved values are in: typed sooner, they were
  // overwritten by them, and a save then stored the old values.
  try {
    const s = await api("GET", "/api/privacy/settings");
    $("retention").value = s.retention_days == null ? "" : String(s.retention_days);
    $("notice").value = str(s.privacy_notice_url);
  } finally {
    for (const f of $("settings").elements) f.disabled = false;
  }
}

async function saveSettings(e) {
  e.preventDefault();
  const days = $("retention").value.trim();
  try {
    await api("PUT", "/api/privacy/settings", {
      retention_days: days ? Number(days) : null,
      privacy_notice_url: $("notice").value.trim() || null,
    });
    $("settings-msg").textContent = T("p.set.saved");
  } catch (err) {
    $("settings-msg").textContent = T("common.not_saved", { error: err.message });
  }
}

// ---- conversion tracking ---------------------------------------------------------------------------
async function loadKeys() {
  const r = await api("GET", "/api/conversions/keys");
  rows("keys", r.keys, (k) => [
    h("span", { class: k.revoked_at ? "revoked" : "", text: k.name }), h("code", { text: k.hint }), when(k.created_at),
    k.last_used_at ? when(k.last_used_at) : T("p.never"),
    k.revoked_at
      ? T("p.revoked", { when: when(k.revoked_at) })
      : h("button", { type: "button", class: "btn", text: T("p.revoke"), onclick: () => revoke(k) }),
  ], () => T("p.no_keys"));
}

async function revoke(k) {
  try {
    await api("POST", `/api/conversions/keys/${k.id}/revoke`);
    toast(T("p.key_revoked", { name: k.name }));
  } catch (err) {
    toast(T("p.not_revoked", { error: err.message }), "bad");
  }
  loadKeys();
}

async function newKey(e) {
  e.preventDefault();
  try {
    const k = await api("POST", "/api/conversions/keys", { name: $("keyname").value.trim() });
    $("newkey-value").textContent = k.key;
    $("newkey-out").hidden = false;
    $("keyname").value = "";
  } catch (err) {
    toast(T("p.no_key_made", { error: err.message }), "bad");
  }
  loadKeys();
}

async function loadOrders() {
  const r = await api("GET", "/api/conversions");
  live($("window"), () => T("p.conv.window", { n: r.window_days }));
  const kind = { bot: () => T("p.a.bot"), none: () => T("p.a.none") };
  rows("orders", r.conversions, (c) => [
    h("code", { text: c.order_id }), money(c), when(c.ordered_at),
    c.attribution === "agent"
      ? T("p.a.agent", { agent: str(staff[c.agent_id], T("c.offer.an_agent")) })
      : kind[c.attribution] ? kind[c.attribution]() : str(c.attribution),
    str(c.source),
  ], () => T("p.no_orders"));
}

// ---- start -------------------------------------------------------------------------------------------
// ---- the page's language: the user's one choice for the staff pages (PUT /api/me/language) ---------------
let admin = false;
function relabel() {
  applyStatic(document);
  $("ui-lang").value = language();
  relabelLive();
  if (!admin) return;
  $("value").placeholder = PLACEHOLDER[$("kind").value]();
  loadAudit().catch(() => {});
  loadKeys().catch(() => {});
  loadOrders().catch(() => {});
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
  $("myname").textContent = str(me.display_name);
  $("logout").addEventListener("click", logOut);
  $("boot").hidden = true;
  $("app").hidden = false;
  if (me.role !== "admin") {
    $("notadmin").hidden = false;
    return;
  }
  $("main").hidden = false;
  admin = true;
  $("value").placeholder = PLACEHOLDER[$("kind").value]();
  try {
    for (const u of (await api("GET", "/api/agents")).agents) staff[u.id] = u.display_name;
  } catch (e) {
    staff = {};
  }
  $("kind").addEventListener("change", () => ($("value").placeholder = PLACEHOLDER[$("kind").value]()));
  $("find").addEventListener("submit", find);
  $("export").addEventListener("click", download);
  $("erase").addEventListener("click", askErase);
  $("erase-yes").addEventListener("click", erase);
  $("erase-no").addEventListener("click", () => ($("confirm").hidden = true));
  $("settings").addEventListener("submit", saveSettings);
  $("newkey").addEventListener("submit", newKey);
  const m = /^#conversation=([A-Za-z0-9]{1,32})$/.exec(location.hash);
  if (m) {
    $("kind").value = "conversation_id";
    $("value").value = m[1];
    find();
  }
  await Promise.all([loadAudit(), loadSettings(), loadKeys(), loadOrders()]);
}

start();
