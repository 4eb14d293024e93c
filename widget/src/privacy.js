// The "Visitors' data" page (served at /privacy/), for admins: data requests (find, export, erase),
// the audit log, retention and the privacy-notice link, conversion-tracking API keys and the latest
// orders. Reads /api/privacy/* and /api/conversions/* (docs/privacy.md, docs/conversions.md).
// A visitor is named in POST bodies only, never in a URL; `#conversation=<id>` (the console's link
// from a conversation) prefills the search.
import { $, clear, h, logOut, makeApi, signedIn, str, toast, when } from "./ui.js";

const toLogin = () => location.replace("/login?next=/privacy/");
const api = makeApi(toLogin);
const PLACEHOLDER = { email: "maria@example.com", visitor_id: "the widget's browser id", conversation_id: "a conversation id" };
let subject = null; // the last search: {email | visitor_id | conversation_id: value}
let found = null;
let staff = {};

function rows(table, list, cells, empty) {
  const body = clear($(table).tBodies[0]);
  if (!list.length) body.appendChild(h("tr", null, h("td", { class: "empty", colspan: 9, text: empty })));
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
  $("found-summary").textContent =
    n || found.conversions
      ? `${n} conversation${n === 1 ? "" : "s"} and ${found.conversions} conversion${found.conversions === 1 ? "" : "s"} found.`
      : "Nothing stored about this visitor.";
  rows("found-table", found.conversations, (c) => [
    h("code", { text: c.conversation_id }), when(c.created_at), str(c.state), str(c.visitor_name, "–"),
    str(c.visitor_email, "–"), c.visitor_id ? h("code", { text: c.visitor_id }) : "–",
  ], "No conversations.");
  $("erase").disabled = !(n || found.conversions);
  $("found").hidden = false;
}

async function download() {
  const r = await fetch("/api/privacy/export", {
    method: "POST", credentials: "same-origin",
    headers: { "X-Requested-With": "shopchat", "Content-Type": "application/json" },
    body: JSON.stringify(subject),
  });
  if (r.status === 401) return toLogin();
  if (!r.ok) return toast("Export failed (" + r.status + ")", "bad");
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
  $("confirm-text").textContent =
    `Erase ${n} conversation${n === 1 ? "" : "s"} (messages, tickets, ratings, logged questions, Rasa's events) ` +
    `and ${found.conversions} conversion${found.conversions === 1 ? "" : "s"}? This cannot be undone.`;
  $("confirm").hidden = false;
  $("erase-no").focus();
}

async function erase() {
  $("confirm").hidden = true;
  try {
    const r = await api("POST", "/api/privacy/erase", subject);
    const e = r.erased;
    $("done").textContent = `Erased: ${e.conversations} conversations, ${e.conversions} conversions, ${e.tracker_events} Rasa events.`;
    $("done").hidden = false;
    $("found").hidden = true;
  } catch (err) {
    toast("Not erased: " + err.message, "bad");
  }
  loadAudit();
}

async function loadAudit() {
  const r = await api("GET", "/api/privacy/audit");
  rows("audit", r.entries, (a) => [
    when(a.at), a.user_id ? str(staff[a.user_id], "#" + a.user_id) : "automatic", str(a.action), str(a.found_by),
    String(a.conversations), String(a.conversions), String(a.tracker_events),
  ], "No data requests yet.");
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
    $("settings-msg").textContent = "Saved.";
  } catch (err) {
    $("settings-msg").textContent = "Not saved: " + err.message;
  }
}

// ---- conversion tracking ---------------------------------------------------------------------------
async function loadKeys() {
  const r = await api("GET", "/api/conversions/keys");
  rows("keys", r.keys, (k) => [
    h("span", { class: k.revoked_at ? "revoked" : "", text: k.name }), h("code", { text: k.hint }), when(k.created_at),
    k.last_used_at ? when(k.last_used_at) : "never",
    k.revoked_at
      ? "revoked " + when(k.revoked_at)
      : h("button", { type: "button", class: "btn", text: "Revoke", onclick: () => revoke(k) }),
  ], "No keys: the shop's server cannot report orders yet.");
}

async function revoke(k) {
  try {
    await api("POST", `/api/conversions/keys/${k.id}/revoke`);
    toast(`Key "${k.name}" revoked: it no longer works.`);
  } catch (err) {
    toast("Not revoked: " + err.message, "bad");
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
    toast("No key made: " + err.message, "bad");
  }
  loadKeys();
}

async function loadOrders() {
  const r = await api("GET", "/api/conversions");
  $("window").textContent = String(r.window_days);
  const kind = { bot: "a chat with the bot", agent: "a chat with ", none: "no chat" };
  rows("orders", r.conversions, (c) => [
    h("code", { text: c.order_id }), money(c), when(c.ordered_at),
    c.attribution === "agent" ? kind.agent + str(staff[c.agent_id], "an agent") : str(kind[c.attribution], c.attribution),
    str(c.source),
  ], "No orders reported yet.");
}

// ---- start -------------------------------------------------------------------------------------------
async function start() {
  const me = await signedIn(toLogin);
  if (!me) return;
  $("myname").textContent = str(me.display_name);
  $("logout").addEventListener("click", logOut);
  $("boot").hidden = true;
  $("app").hidden = false;
  if (me.role !== "admin") {
    $("notadmin").hidden = false;
    return;
  }
  $("main").hidden = false;
  try {
    for (const u of (await api("GET", "/api/agents")).agents) staff[u.id] = u.display_name;
  } catch (e) {
    staff = {};
  }
  $("kind").addEventListener("change", () => ($("value").placeholder = PLACEHOLDER[$("kind").value]));
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
