// The agent console (served at /console/). Speaks the agent protocol of docs/protocol.md over
// Socket.IO namespace /agent, plus the console's HTTP API (/api/console/...) and the accounts API.
// Every text that comes from a visitor or the server is set with textContent, never as HTML.
import { io } from "socket.io-client";
import { markdown } from "./markdown.js";
import { fillCanned } from "./canned_fill.js";
import { attachmentEl, checkFile, dropZone, upload } from "./attach.js";
import { checkSound, desktop, prefs, setupNotifications } from "./console_notify.js";
import { $, clear, h, logOut, makeApi, signedIn, str, toast, when } from "./ui.js";
import { renderVisitors } from "./visitors.js";
import { T, Tn, applyStatic, dateLocale, language, live, pickLanguage, relabelLive, setLanguage, wireLanguageSwitch } from "./staff_i18n.js";
import { loadWidgetAdmin, relabelWidgetAdmin } from "./widget-admin.js";
import { loadPrechatAdmin } from "./prechat-admin.js";

const d = document;
const HEARTBEAT_MS = 10000;
const ACK_MS = 15000;
const TYPING_IDLE_MS = 3000;
const DRAFT_HIDE_MS = 8000;
const OVERVIEW_MS = 5000;
const MAX_LEN = 2000;
const baseTitle = () => T("c.page.title");

function uuid() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 12);
}

let skewMs = 0; // server clock minus ours (from hello's `now`)
const serverNow = () => Date.now() + skewMs;
function ago(iso) {
  const t = Date.parse(iso);
  return isNaN(t) ? null : Math.max(0, (serverNow() - t) / 1000);
}
function dur(s) {
  if (s == null || isNaN(s)) return "–";
  s = Math.round(s);
  if (s < 60) return T("c.dur.s", { s });
  if (s < 3600) return T("c.dur.ms", { m: Math.floor(s / 60), s: String(s % 60).padStart(2, "0") });
  return T("c.dur.hm", { h: Math.floor(s / 3600), m: String(Math.floor((s % 3600) / 60)).padStart(2, "0") });
}
function clock(iso) {
  const t = new Date(iso);
  return isNaN(t) ? "" : t.toLocaleTimeString(dateLocale(), { hour: "2-digit", minute: "2-digit" });
}
const STATE_LABEL = {
  bot: () => T("c.state.bot"),
  queued: () => T("c.state.queued"),
  assigned: () => T("c.state.assigned"),
  offline_form: () => T("c.state.offline_form"),
  closed: () => T("c.state.closed"),
  rated: () => T("c.state.rated"),
};
const stateLabel = (st) => (STATE_LABEL[st] ? STATE_LABEL[st]() : str(st, "?"));
const REASON_LABEL = {
  visitor_request: () => T("c.reason.asked"),
  visitor_asked: () => T("c.reason.asked"),
  button: () => T("c.reason.button"),
  bot_failed: () => T("c.reason.bot_failed"),
  "agent took over": () => T("c.reason.took_over"),
};
const reasonText = (r) => (r ? (REASON_LABEL[r] ? REASON_LABEL[r]() : String(r).replace(/_/g, " ")) : "");
// The conversation's language (the widget's, or what the visitor writes in: docs/bot.md "Languages").
const LANGUAGE_NAMES = { el: () => T("c.lang.el"), en: () => T("c.lang.en") };
function languageName(code) {
  const c = str(code);
  const name = LANGUAGE_NAMES[c.slice(0, 2).toLowerCase()];
  return c ? (name ? name() : c) + " (" + c + ")" : "";
}

const presenceName = (p) => (p === "online" ? T("c.p.online") : p === "away" ? T("c.p.away") : p === "offline" ? T("c.p.offline") : str(p));
const roleName = (r) => (r === "admin" ? T("role.admin") : r === "agent" ? T("role.agent") : r === "editor" ? T("role.editor") : str(r));

function visitorName(v, cid) {
  return str(v && v.name) || T("c.visitor_n", { id: String(cid || "").slice(0, 6) });
}
function stateBadge(state) {
  return live(h("span", { class: "state s-" + str(state, "unknown") }), () => stateLabel(state));
}

// ---------------------------------------------------------------- sound, title
let audio = null;
function unlockAudio() {
  try {
    if (!audio) audio = new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
  } catch (e) {
    audio = null;
  }
}
d.addEventListener("pointerdown", unlockAudio, { once: false, passive: true });
d.addEventListener("keydown", unlockAudio, { once: false, passive: true });
function beep(freq) {
  if (!audio || audio.state !== "running") return;
  const o = audio.createOscillator();
  const g = audio.createGain();
  o.frequency.value = freq || 880;
  g.gain.setValueAtTime(0.0001, audio.currentTime);
  g.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02);
  g.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.25);
  o.connect(g).connect(audio.destination);
  o.start();
  o.stop(audio.currentTime + 0.3);
}

// The title bar flashes "(n) New chat" while the tab is in the background and something happened.
let attention = { n: 0, label: "" };
let flashTimer = 0;
function notify(label, freq, detail, tag) {
  // each an agent preference (console_notify.js)
  if (prefs.sound) beep(freq);
  desktop(label, detail, tag);
  if (!d.hidden || !prefs.title_flash) return;
  attention = { n: attention.n + 1, label };
  if (!flashTimer) {
    let on = false;
    flashTimer = setInterval(() => {
      on = !on;
      d.title = on ? `(${attention.n}) ${attention.label}` : baseTitle();
    }, 1000);
    d.title = `(${attention.n}) ${attention.label}`;
  }
}
d.addEventListener("visibilitychange", () => {
  if (d.hidden) return;
  clearInterval(flashTimer);
  flashTimer = 0;
  attention = { n: 0, label: "" };
  d.title = baseTitle();
  const c = chats.get(active);
  if (c && view === "chats") markRead(c);
});

// ---------------------------------------------------------------- HTTP
function toLogin() {
  location.replace("/login?next=/console/");
}
const api = makeApi(toLogin);

// ---------------------------------------------------------------- state
let me = null;
let settings = null;
let agents = [];
let canned = [];
let shopName = "";
let view = "chats";
let active = null; // conversation id of the chat tab shown
const offers = new Map(); // offer_id -> {o, deadline, el}
const chats = new Map(); // conversation_id -> Chat (my chats)
let queueEntries = [];
let presenceChoice = "online";

// ---------------------------------------------------------------- socket
const sock = io("/agent", { withCredentials: true, reconnectionDelayMax: 5000, autoConnect: false });

async function call(event, data) {
  try {
    const ack = await sock.timeout(ACK_MS).emitWithAck(event, data || {});
    return ack || { ok: false, error: { code: "no_ack", message: T("c.err.no_answer") } };
  } catch (e) {
    return { ok: false, error: { code: "timeout", message: T("c.err.timeout") } };
  }
}
function fail(ack, what) {
  const err = (ack && ack.error) || {};
  toast(`${what}: ${err.message || err.code || T("common.failed")}`, "bad");
}

sock.on("connect", async () => {
  $("conn").hidden = true;
  const snap = await call("hello");
  if (!snap.ok) return fail(snap, T("c.err.load"));
  applySnapshot(snap);
  await beat();
  for (const c of chats.values()) if (!c.ended) await c.load();
  for (const p of pendingSends.splice(0)) p();
  if (viewerChat) viewerChat.refresh();
});
sock.on("disconnect", () => {
  $("conn").hidden = false;
});
sock.on("connect_error", async (err) => {
  $("conn").hidden = false;
  if (err && /unauthorized|origin/.test(String(err.message))) {
    try {
      await api("GET", "/api/me"); // 401 goes to the login page
    } catch (e) {
      /* handled */
    }
  }
});

async function beat() {
  const ack = await call("heartbeat", { status: presenceChoice });
  if (ack.ok && me) me.status = ack.status;
}
setInterval(() => {
  if (!sock.connected) return;
  beat();
  // who is online for transfers (a list that is open is left alone)
  refreshAgents().then(() => {
    for (const c of chats.values()) if (d.activeElement !== c.transferSel) c.fillTransfer();
  });
}, HEARTBEAT_MS);

function applySnapshot(snap) {
  const t = Date.parse(snap.now);
  if (!isNaN(t)) skewMs = t - Date.now();
  me = Object.assign(me || {}, snap.me);
  settings = snap.settings;
  agents = snap.agents || [];
  renderMe();
  // offers: what the server holds now
  const live = new Set((snap.offers || []).map((o) => o.offer_id));
  for (const id of [...offers.keys()]) if (!live.has(id)) removeOffer(id);
  for (const o of snap.offers || []) {
    const left = Date.parse(o.expires_at) - serverNow();
    addOffer(o, Date.now() + Math.max(0, left), false);
  }
  // my chats
  const mine = new Set();
  for (const info of snap.chats || []) {
    mine.add(info.conversation_id);
    const c = chats.get(info.conversation_id) || new Chat(info.conversation_id);
    c.setInfo(info);
    c.setInactive(info.inactive);
  }
  for (const c of chats.values())
    if (!mine.has(c.cid) && !c.ended) c.end(() => T("c.end.not_yours"));
  if (!active && chats.size) activate([...chats.keys()][0]);
  renderQueue(snap.queue || []);
  updateCounts();
}

// ---------------------------------------------------------------- header: me, presence, accepting
function renderMe() {
  $("myname").textContent = `${me.name || me.display_name || ""} · ${roleName(me.role)}`;
  $("presence").value = presenceChoice;
  $("accepting").checked = !!me.accepting_chats;
  $("nav-admin").hidden = me.role !== "admin";
  $("nav-widget").hidden = me.role !== "admin";
  $("nav-prechat").hidden = me.role !== "admin";
  $("nav-privacy").hidden = me.role !== "admin";
  $("ranking-box").hidden = me.role !== "admin";
}
$("presence").addEventListener("change", async (e) => {
  presenceChoice = e.target.value === "away" ? "away" : "online";
  await beat();
  toast(presenceChoice === "away" ? T("c.toast.away") : T("c.toast.online"));
});
$("accepting").addEventListener("change", async (e) => {
  const want = e.target.checked;
  try {
    const u = await api("PATCH", `/api/agents/${me.id}`, { accepting_chats: want });
    me.accepting_chats = u.accepting_chats;
    toast(want ? T("c.toast.accepting") : T("c.toast.not_accepting"));
  } catch (err) {
    e.target.checked = !want;
    toast(T("c.err.not_changed", { error: err.message }), "bad");
  }
});
$("logout").addEventListener("click", async () => {
  if (sock.connected) await call("sign_off");
  await logOut();
});

// ---------------------------------------------------------------- navigation
for (const b of d.querySelectorAll(".nav button")) b.addEventListener("click", () => show(b.dataset.view));
function show(name) {
  view = name;
  for (const b of d.querySelectorAll(".nav button")) {
    b.classList.toggle("on", b.dataset.view === name);
    if (b.dataset.view === name) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  for (const s of d.querySelectorAll(".view")) s.hidden = s.id !== "view-" + name;
  if (name === "overview") loadOverview();
  if (name === "tickets") loadTickets();
  if (name === "ratings") loadRatings();
  if (name === "admin") loadAdmin();
  if (name === "widget") loadWidgetAdmin(api);
  if (name === "prechat") loadPrechatAdmin(api);
  if (name === "chats" && chats.get(active)) markRead(chats.get(active));
}
function updateCounts() {
  // an ended chat (closed, transferred, returned) is no longer one of "my chats"
  const open = [...chats.values()].filter((c) => !c.ended);
  const unread = open.reduce((n, c) => n + c.unread, 0);
  const b = $("n-chats");
  b.textContent = unread ? String(unread) : String(open.length);
  b.hidden = !open.length;
  b.classList.toggle("hot", unread > 0);
  $("n-queue").textContent = String(queueEntries.length);
  $("n-queue").hidden = !queueEntries.length;
  $("nochat").hidden = chats.size > 0;
}

// ---------------------------------------------------------------- offers
function addOffer(o, deadline, fresh) {
  if (offers.has(o.offer_id)) return;
  const v = o.visitor || {};
  const count = live(h("span", { class: "count" }), () => T("c.offer.seconds_left"), "aria-label");
  const kindText = () =>
    o.kind === "transfer" ? T("c.offer.transfer", { agent: str(o.from_agent, T("c.offer.an_agent")) }) : o.kind === "sticky" ? T("c.offer.returning") : T("c.offer.new");
  const kind = kindText();
  const accept = live(h("button", { type: "button", class: "btn primary" }), () => T("c.offer.accept"));
  const decline = live(h("button", { type: "button", class: "btn" }), () => T("c.offer.decline"));
  const el = h(
    "div",
    { class: "offer", dataset: { offer: String(o.offer_id) } },
    h("div", { class: "ring", "aria-hidden": "true" }),
    h(
      "div",
      { class: "oinfo" },
      live(h("div", { class: "okind" }), kindText),
      live(h("div", { class: "oname" }), () => visitorName(v, o.conversation_id)),
      live(h("div", { class: "odetail" }), () =>
        [reasonText(o.reason), languageName(v.language), str(v.email), str(v.order_number) && T("c.offer.order", { n: v.order_number }), str(v.page_title) || str(v.page_url)]
          .filter(Boolean)
          .join(" · ")
      )
    ),
    count,
    accept,
    decline
  );
  const entry = { o, deadline, el, count };
  offers.set(o.offer_id, entry);
  accept.addEventListener("click", async () => {
    accept.disabled = decline.disabled = true;
    const ack = await call("accept", { offer_id: o.offer_id });
    removeOffer(o.offer_id);
    if (!ack.ok) return fail(ack, T("c.err.accept"));
    if (ack.conversation_id) openMine(ack.conversation_id, true);
  });
  decline.addEventListener("click", async () => {
    accept.disabled = decline.disabled = true;
    const ack = await call("decline", { offer_id: o.offer_id });
    removeOffer(o.offer_id);
    if (!ack.ok && ack.error.code !== "offer_gone") fail(ack, T("c.err.decline"));
  });
  $("offers").appendChild(el);
  tickOffers();
  if (fresh) notify(kind, 880, visitorName(v, o.conversation_id), "offer-" + o.offer_id);
}
function removeOffer(id) {
  const e = offers.get(id);
  if (!e) return;
  e.el.remove();
  offers.delete(id);
}
function tickOffers() {
  for (const [id, e] of offers) {
    const left = Math.ceil((e.deadline - Date.now()) / 1000);
    e.count.textContent = T("c.dur.s", { s: Math.max(0, left) });
    e.el.classList.toggle("late", left <= 5);
    if (left < -3) removeOffer(id); // the server's offer_withdrawn normally comes first
  }
}
setInterval(tickOffers, 250);

sock.on("offer", (o) => {
  if (!o || typeof o.offer_id !== "number") return;
  addOffer(o, Date.now() + Math.max(1, Number(o.ring_s) || 30) * 1000, true);
});
sock.on("offer_withdrawn", (w) => {
  if (!w || !offers.has(w.offer_id)) return;
  removeOffer(w.offer_id);
  if (w.why === "missed") toast(T("c.toast.missed"), "bad");
  else if (w.why === "withdrawn") toast(T("c.toast.withdrawn"));
});

// ---------------------------------------------------------------- transcript rendering
const WHO = { visitor: () => T("c.who.visitor"), bot: () => T("c.who.bot"), agent: () => T("c.who.agent"), note: () => T("c.who.note"), system: () => T("c.who.system") };
function messageRow(m, info) {
  const sender = WHO[m.sender] ? m.sender : "system";
  const who = () => {
    if (sender === "visitor") return visitorName(info && info.visitor, info && info.conversation_id);
    if (sender === "agent") return str(m.agent_name, T("c.who.agent"));
    if (sender === "note") return T("c.who.internal_note", { agent: str(m.agent_name, T("role.agent")) });
    return WHO[sender]();
  };
  const row = h(
    "div",
    { class: "m m-" + sender, dataset: { seq: String(m.seq) } },
    h("div", { class: "mh" }, live(h("span", { class: "who" }), who), live(h("time"), () => clock(m.created_at))),
    body(m, sender)
  );
  if (m.kb && typeof m.kb.title === "string") row.appendChild(live(h("div", { class: "src" }), () => T("c.article", { title: m.kb.title })));
  if (Array.isArray(m.quick_replies) && m.quick_replies.length)
    row.appendChild(
      h(
        "div",
        { class: "qr" },
        m.quick_replies.map((q) => h("span", { text: str(q && q.title) }))
      )
    );
  return row;
}
// The bot's and agents' messages are the widget's safe markdown subset (DOM nodes only); visitors'
// messages and notes are plain text.
function body(m, sender) {
  const b = h("div", { class: "mb" });
  if (m.attachment && typeof m.attachment === "object") b.appendChild(attachmentEl(m.attachment, language(), fileUrl));
  else if (sender === "bot" || sender === "agent") {
    b.classList.add("md");
    b.appendChild(markdown(str(m.text)));
  } else b.textContent = str(m.text);
  return b;
}

// Files: the console's login cookie is the agent's pass (attachments/web.py).
const fileUrl = (att, thumb) => "/api/attachments/" + att.id + (thumb ? "/thumb" : "");

// A transcript keyed by seq: nothing shown twice, always in order.
class Transcript {
  constructor(el) {
    this.el = el;
    this.rows = new Map();
    this.max = 0;
    this.info = null;
  }
  add(m) {
    if (!m || typeof m.seq !== "number" || this.rows.has(m.seq)) return false;
    const row = messageRow(m, this.info);
    let next = null;
    for (const [seq, r] of this.rows) if (seq > m.seq && (!next || seq < Number(next.dataset.seq))) next = r;
    const stick = this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 80;
    this.el.insertBefore(row, next);
    this.rows.set(m.seq, row);
    this.max = Math.max(this.max, m.seq);
    if (stick || m.sender === "agent" || m.sender === "note") this.el.scrollTop = this.el.scrollHeight;
    return true;
  }
  reset() {
    clear(this.el);
    this.rows.clear();
    this.max = 0;
  }
}

function detailsList(info) {
  const v = info.visitor || {};
  const dl = h("dl", { class: "facts" });
  const add = (k, val) => {
    if (val == null || val === "") return;
    dl.appendChild(h("dt", { text: k }));
    dl.appendChild(h("dd", { text: String(val) }));
  };
  const none = T("c.f.not_given");
  add(T("c.w.name"), str(v.name, none));
  add(T("c.a.email"), str(v.email, none));
  add(T("c.f.order"), str(v.order_number, none));
  // the pre-chat form's other answers (engage/prechat.py; name, e-mail, order number are above)
  const pre = info.prechat && typeof info.prechat === "object" ? info.prechat : {};
  add(T("c.f.phone"), str(pre.phone));
  add(T("c.f.topic"), str(pre.choice));
  if (typeof pre.consent === "boolean") add(T("c.f.consent"), pre.consent ? T("c.f.given") : none);
  add(T("c.f.reason"), reasonText(info.handoff_reason) || "–");
  add(T("c.col.state"), info.state ? stateLabel(info.state) : "");
  add(T("col.language"), languageName(v.language) || "–");
  add(T("c.col.page"), str(v.page_title) || str(v.page_url) || "–");
  if (str(v.page_url) && str(v.page_title)) add("URL", v.page_url);
  add(T("c.col.referrer"), str(info.referrer, "–"));
  add(T("c.f.pages_seen"), info.pages_seen || (v.page_url ? 1 : 0));
  add(T("c.f.started"), when(info.created_at));
  return dl;
}

// ---------------------------------------------------------------- my chats
const pendingSends = []; // sends to retry once the socket is back

class Chat {
  constructor(cid) {
    this.cid = cid;
    this.info = { conversation_id: cid, visitor: {} };
    this.unread = 0;
    this.ended = false;
    this.loaded = false;
    this.typingSent = false;
    this.typingTimer = 0;
    this.draftTimer = 0;
    this.transferPending = false;
    chats.set(cid, this);
    this.build();
    updateCounts();
  }

  build() {
    this.tabName = h("span", { class: "tname" });
    this.tabBadge = h("b", { class: "badge hot", hidden: true });
    this.tab = h(
      "button",
      { type: "button", role: "tab", class: "tab", "aria-selected": "false", onclick: () => activate(this.cid) },
      this.tabName,
      this.tabBadge
    );
    $("tabs").appendChild(this.tab);

    this.title = h("h2", { class: "ctitle" });
    this.stateEl = h("span");
    this.banner = h("div", { class: "cbanner", role: "status", hidden: true });
    this.log = live(h("div", { class: "log", role: "log", "aria-live": "polite" }), () => T("c.chat.transcript"), "aria-label");
    this.transcript = new Transcript(this.log);
    this.draft = h("div", { class: "draft", role: "status", hidden: true });
    this.noteBox = h("input", { type: "checkbox", class: "notebox" });
    this.input = h("textarea", { class: "input", rows: 3, maxlength: MAX_LEN });
    live(this.input, () => (this.noteBox.checked ? T("c.chat.note_ph") : T("c.chat.reply_ph")), "placeholder");
    live(this.input, () => T("c.chat.message"), "aria-label");
    this.sendBtn = live(h("button", { type: "submit", class: "btn primary" }), () => T("c.chat.send"));
    this.fileInput = h("input", { type: "file", hidden: true, accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf" });
    this.attachBtn = live(live(h("button", { type: "button", class: "btn" }), () => T("c.chat.attach")), () => T("c.chat.attach_title"), "title");
    this.attachBtn.addEventListener("click", () => this.fileInput.click());
    this.fileInput.addEventListener("change", () => {
      for (const f of this.fileInput.files) this.sendFile(f);
      this.fileInput.value = "";
    });
    this.ac = new Autocomplete(this);
    this.form = h(
      "form",
      { class: "composer", autocomplete: "off" },
      this.ac.el,
      this.input,
      h(
        "div",
        { class: "crow" },
        h("label", { class: "switch" }, this.noteBox, " ", live(h("span"), () => T("c.chat.note"))),
        live(h("span", { class: "hint" }), () => T("c.chat.hint")),
        this.fileInput,
        this.attachBtn,
        this.sendBtn
      )
    );
    this.transferSel = live(h("select", { class: "tsel" }), () => T("c.chat.transfer_to"), "aria-label");
    this.transferBtn = live(h("button", { type: "button", class: "btn" }), () => T("c.chat.transfer"));
    this.returnBtn = live(h("button", { type: "button", class: "btn" }), () => T("c.chat.return"));
    this.closeBtn = h("button", { type: "button", class: "btn danger" });
    live(this.closeBtn, () => (this.closeBtn.dataset.armed ? T("c.chat.close_again") : T("c.chat.close")));
    this.dismissBtn = live(h("button", { type: "button", class: "btn", hidden: true }), () => T("c.chat.dismiss"));
    this.side = h("div", { class: "facts-box" });
    this.history = h("ul", { class: "results small" });
    this.pane = h(
      "div",
      { class: "pane", role: "tabpanel", hidden: true },
      h(
        "div",
        { class: "chatcol" },
        h(
          "div",
          { class: "chead" },
          h("div", { class: "ctitlebox" }, this.title, this.stateEl),
          h("div", { class: "cactions" }, this.transferSel, this.transferBtn, this.returnBtn, this.closeBtn, this.dismissBtn)
        ),
        this.banner,
        this.log,
        this.draft,
        this.form
      ),
      h("aside", { class: "side" }, live(h("h3"), () => T("c.col.visitor")), this.side, live(h("h3"), () => T("c.chat.customer_history")), this.history)
    );
    $("panes").appendChild(this.pane);
    // files dropped on the chat or pasted into it are sent as "Attach file" sends them
    dropZone(this.pane, () => !this.ended && !this.attachBtn.disabled, (f) => this.sendFile(f));

    this.form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener("keydown", (e) => {
      if (this.ac.key(e)) return;
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.submit();
      }
    });
    this.input.addEventListener("input", () => {
      this.ac.update();
      if (!this.noteBox.checked) this.typing(true);
    });
    this.input.addEventListener("blur", () => setTimeout(() => this.ac.hide(), 150));
    this.noteBox.addEventListener("change", () => {
      this.form.classList.toggle("note-mode", this.noteBox.checked);
      this.input.placeholder = this.noteBox.checked ? T("c.chat.note_ph") : T("c.chat.reply_ph");
      if (this.noteBox.checked) this.typing(false);
    });
    this.transferSel.addEventListener("focus", () => refreshAgents().then(() => this.fillTransfer()));
    this.transferBtn.addEventListener("click", () => this.transfer());
    this.returnBtn.addEventListener("click", () => this.act("return_to_bot", () => T("c.end.returned")));
    this.closeBtn.addEventListener("click", () => this.confirmClose());
    this.dismissBtn.addEventListener("click", () => this.remove());
    this.fillTransfer();
  }

  setInfo(info) {
    this.info = Object.assign(this.info, info);
    this.transcript.info = this.info;
    const name = visitorName(this.info.visitor, this.cid);
    this.tabName.textContent = name;
    this.title.textContent = name;
    this.stateEl.replaceWith((this.stateEl = stateBadge(this.info.state)));
    clear(this.side).appendChild(detailsList(this.info));
  }

  setInactive(flag) {
    this.tab.classList.toggle("inactive", !!flag);
    live(this.tab, () => (flag ? T("c.chat.inactive") : ""), "title");
  }

  async load() {
    const ack = await call("open_chat", { conversation_id: this.cid, after_seq: this.transcript.max });
    if (!ack.ok) {
      if (ack.error.code === "not_owner") this.end(() => T("c.end.not_yours"));
      return;
    }
    this.setInfo(ack.chat);
    for (const m of ack.messages) this.transcript.add(m);
    // The server's word on ownership (events about a chat may arrive in any order around it).
    if (ack.chat.state === "closed" || ack.chat.state === "rated") this.end(() => T("c.end.closed"));
    else if (ack.chat.state !== "assigned" || (me && ack.chat.agent_id !== me.id)) this.end(() => T("c.end.not_with_you"));
    this.log.scrollTop = this.log.scrollHeight;
    if (!this.loaded) this.loadHistory();
    this.loaded = true;
  }

  async loadHistory() {
    clear(this.history);
    try {
      const r = await api("GET", `/api/console/conversations/${encodeURIComponent(this.cid)}/history`);
      if (!r.conversations.length) this.history.appendChild(live(h("li", { class: "muted" }), () => T("c.chat.no_history")));
      for (const c of r.conversations) this.history.appendChild(summaryItem(c, () => openPast(c.conversation_id)));
    } catch (e) {
      this.history.appendChild(live(h("li", { class: "muted" }), () => T("c.chat.history_failed")));
    }
  }

  onMessage(m) {
    if (!this.transcript.add(m)) return;
    if (m.sender === "visitor") {
      this.showDraft("");
      const seen = !d.hidden && view === "chats" && active === this.cid;
      if (!seen) {
        this.unread += 1;
        this.renderUnread();
        notify(T("c.notify.message"), 660, visitorName(this.info.visitor, this.cid) + ": " + str(m.text), "chat-" + this.cid);
      }
    }
  }

  renderUnread() {
    this.tabBadge.textContent = String(this.unread);
    this.tabBadge.hidden = !this.unread;
    updateCounts();
  }

  showDraft(draft) {
    clearTimeout(this.draftTimer);
    const text = str(draft).trim();
    if (!text) {
      this.draft.hidden = true;
      return;
    }
    clear(this.draft).appendChild(h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i")));
    this.draft.appendChild(live(h("span", { class: "dlabel" }), () => T("c.chat.typing") + " "));
    this.draft.appendChild(h("span", { class: "dtext", text }));
    this.draft.hidden = false;
    this.draftTimer = setTimeout(() => (this.draft.hidden = true), DRAFT_HIDE_MS);
  }

  typing(on) {
    if (this.ended) return;
    clearTimeout(this.typingTimer);
    if (on) {
      if (!this.typingSent) call("typing", { conversation_id: this.cid, typing: true });
      this.typingSent = true;
      this.typingTimer = setTimeout(() => this.typing(false), TYPING_IDLE_MS);
    } else if (this.typingSent) {
      this.typingSent = false;
      call("typing", { conversation_id: this.cid, typing: false });
    }
  }

  async submit() {
    const text = this.input.value.trim();
    if (!text || this.ended) return;
    if (text.length > MAX_LEN) return toast(T("c.err.too_long", { n: MAX_LEN }), "bad");
    const note = this.noteBox.checked;
    const client_id = uuid();
    this.input.value = "";
    this.ac.hide();
    if (!note) this.typing(false);
    const attempt = async () => {
      const ack = await call(note ? "note" : "send", { conversation_id: this.cid, text, client_id });
      if (ack.ok) return this.transcript.add(ack.message);
      if (ack.error.code === "timeout") return pendingSends.push(attempt);
      fail(ack, note ? T("c.err.note") : T("c.err.message"));
      if (!this.input.value) this.input.value = text;
    };
    await attempt();
  }

  async sendFile(file) {
    if (this.ended) return;
    const bad = checkFile(file, language());
    if (bad) return toast(T("c.err.file", { error: bad }), "bad");
    const path = `/api/console/conversations/${encodeURIComponent(this.cid)}/attachments`;
    try {
      const ack = await upload(path, file, { "X-Requested-With": "shopchat", "X-Client-Id": uuid() });
      this.transcript.add(ack.message);
    } catch (err) {
      toast(T("c.err.file", { error: str(err.message, str(err.code, "error")) }), "bad");
    }
  }

  fillTransfer() {
    const keep = this.transferSel.value;
    clear(this.transferSel);
    this.transferSel.appendChild(h("option", { value: "", text: T("c.chat.transfer_to_opt") }));
    this.transferSel.appendChild(h("option", { value: "queue", text: T("c.chat.to_queue") }));
    for (const a of agents) {
      if (me && a.id === me.id) continue;
      const free = a.presence === "online" && a.accepting_chats && a.running < a.max_chats;
      this.transferSel.appendChild(
        h("option", {
          value: String(a.id),
          text: `${a.name} (${presenceName(a.presence)}, ${a.running}/${a.max_chats})`,
          disabled: !free,
        })
      );
    }
    this.transferSel.value = [...this.transferSel.options].some((o) => o.value === keep && !o.disabled) ? keep : "";
  }

  async transfer() {
    const v = this.transferSel.value;
    if (!v) return toast(T("c.chat.choose"));
    const to = v === "queue" ? null : Number(v);
    const ack = await call("transfer", { conversation_id: this.cid, to_agent_id: to });
    if (!ack.ok) return fail(ack, T("c.err.transfer"));
    if (to === null) toast(T("c.toast.back_in_queue"));
    else {
      const a = agents.find((x) => x.id === to);
      this.transferPending = true;
      live(this.banner, () => T("c.chat.waiting_transfer", { agent: a ? a.name : T("c.chat.the_agent") }));
      this.banner.hidden = false;
    }
  }

  confirmClose() {
    if (this.closeBtn.dataset.armed) {
      clearTimeout(this.armTimer);
      delete this.closeBtn.dataset.armed;
      this.closeBtn.textContent = T("c.chat.close");
      return this.act("close", () => T("c.toast.closed"));
    }
    this.closeBtn.dataset.armed = "1";
    this.closeBtn.textContent = T("c.chat.close_again");
    this.armTimer = setTimeout(() => {
      delete this.closeBtn.dataset.armed;
      this.closeBtn.textContent = T("c.chat.close");
    }, 4000);
  }

  async act(event, done) {
    const ack = await call(event, { conversation_id: this.cid });
    if (!ack.ok) return fail(ack, T("c.err.act"));
    toast(done());
  }

  end(why) {
    if (this.ended) return;
    this.ended = true;
    this.typing(false);
    this.typingSent = false;
    live(this.banner, why);
    this.banner.hidden = false;
    this.pane.classList.add("ended");
    this.tab.classList.add("ended");
    for (const e of [this.input, this.sendBtn, this.attachBtn, this.noteBox, this.transferSel, this.transferBtn, this.returnBtn, this.closeBtn])
      e.disabled = true;
    this.dismissBtn.hidden = false;
    this.draft.hidden = true;
    call("unwatch", { conversation_id: this.cid });
    if (active !== this.cid || view !== "chats") this.remove(); // not in front: it just leaves
    else updateCounts();
  }

  drop() {
    this.tab.remove();
    this.pane.remove();
    chats.delete(this.cid);
  }

  remove() {
    this.tab.remove();
    this.pane.remove();
    chats.delete(this.cid);
    if (active === this.cid) {
      active = null;
      const next = [...chats.keys()][0];
      if (next) activate(next);
    }
    updateCounts();
  }
}

function markRead(c) {
  if (!c.unread) return;
  c.unread = 0;
  c.renderUnread();
}

function activate(cid) {
  const c = chats.get(cid);
  if (!c) return;
  // an ended chat stays only while it is the one shown (its last words, the Dismiss button)
  for (const x of [...chats.values()]) if (x.ended && x !== c) x.drop();
  active = cid;
  for (const x of chats.values()) {
    x.pane.hidden = x !== c;
    x.tab.classList.toggle("on", x === c);
    x.tab.setAttribute("aria-selected", String(x === c));
  }
  markRead(c);
  c.log.scrollTop = c.log.scrollHeight;
}

async function openMine(cid, focus) {
  let c = chats.get(cid);
  if (c && c.ended) {
    c.remove();
    c = null;
  }
  if (!c) c = new Chat(cid);
  await c.load();
  if (focus || !active) {
    activate(cid);
    show("chats");
    c.input.focus();
  }
}

sock.on("chat_assigned", (a) => {
  if (!a || !me) return;
  if (a.agent_id === me.id) openMine(a.conversation_id, !active);
  else if (a.previous_agent_id === me.id) {
    const c = chats.get(a.conversation_id);
    const to = agents.find((x) => x.id === a.agent_id);
    if (c) c.end(() => T("c.end.transferred_to", { agent: to ? to.name : T("c.end.another_agent") }));
    toast(to ? T("c.toast.transfer_accepted", { agent: to.name }) : T("c.toast.transfer_accepted_other"));
  }
});
sock.on("chat_released", (r) => {
  const c = r && chats.get(r.conversation_id);
  if (!c) return;
  if (r.why === "inactive") return c.setInactive(true);
  const why = {
    closed: () => T("c.end.closed"),
    "returned to bot": () => T("c.end.returned"),
    "transferred to queue": () => T("c.end.to_queue"),
    transferred: () => T("c.end.transferred"),
    "agent went offline": () => T("c.end.offline"),
  };
  c.end(why[r.why] || (() => T("c.end.not_with_you")));
});
sock.on("chat_state", (s) => {
  if (!s) return;
  const c = chats.get(s.conversation_id);
  if (c && s.state) {
    if (s.state === "assigned" && c.transferPending && /transfer (declined|missed)/.test(str(s.reason))) {
      c.transferPending = false;
      c.banner.hidden = true;
    }
    c.setInfo({ state: s.state });
  }
  if (viewerChat && viewerChat.cid === s.conversation_id) {
    if (s.state === "assigned" && !chats.has(s.conversation_id)) {
      viewerChat.close(); // another agent took it: their chat, not ours to read
      toast(T("c.toast.taken"));
    } else viewerChat.setState(s.state);
  }
  if (view === "overview") scheduleOverview();
});
sock.on("transfer_failed", (t) => {
  const c = t && chats.get(t.conversation_id);
  if (c) {
    c.transferPending = false;
    c.banner.hidden = true;
  }
  toast(t && t.why === "declined" ? T("c.toast.transfer_declined") : T("c.toast.transfer_late"), "bad");
});
sock.on("message", (m) => {
  if (!m) return;
  const c = chats.get(m.conversation_id);
  if (c) c.onMessage(m);
  if (viewerChat && viewerChat.cid === m.conversation_id) viewerChat.transcript.add(m);
});
sock.on("visitor_typing", (t) => {
  if (!t) return;
  const c = chats.get(t.conversation_id);
  if (c && !c.ended) c.showDraft(t.draft);
  if (viewerChat && viewerChat.cid === t.conversation_id) viewerChat.showDraft(t.draft);
});

// ---------------------------------------------------------------- canned responses (#shortcut)
function fill(text, chat) {
  const v = (chat && chat.info.visitor) || {};
  return fillCanned(text, {
    visitor_name: str(v.name),
    agent_name: (me && (me.name || me.display_name)) || "",
    shop_name: shopName || T("c.our_shop"),
    order_number: str(v.order_number),
  });
}

class Autocomplete {
  constructor(chat) {
    this.chat = chat;
    this.items = [];
    this.at = 0;
    this.el = live(h("ul", { class: "ac", role: "listbox", hidden: true }), () => T("nav.canned"), "aria-label");
  }
  query() {
    const input = this.chat.input;
    const before = input.value.slice(0, input.selectionStart);
    const m = /(^|\s)#([\w-]{0,50})$/.exec(before);
    return m ? { q: m[2].toLowerCase(), start: before.length - m[2].length - 1 } : null;
  }
  update() {
    const q = this.query();
    if (!q || !canned.length) return this.hide();
    const starts = canned.filter((c) => c.shortcut.toLowerCase().startsWith(q.q));
    const has = canned.filter((c) => !starts.includes(c) && (c.shortcut + " " + c.title).toLowerCase().includes(q.q));
    this.items = starts.concat(has).slice(0, 8);
    this.range = q;
    if (!this.items.length) return this.hide();
    this.at = 0;
    this.render();
  }
  render() {
    clear(this.el);
    this.items.forEach((c, i) => {
      const li = h(
        "li",
        { role: "option", class: i === this.at ? "on" : "", "aria-selected": String(i === this.at) },
        h("b", { text: "#" + c.shortcut }),
        h("span", { class: "actitle", text: " " + c.title }),
        h("div", { class: "acprev", text: fill(c.text, this.chat) })
      );
      li.addEventListener("mousedown", (e) => {
        e.preventDefault();
        this.pick(i);
      });
      this.el.appendChild(li);
    });
    this.el.hidden = false;
  }
  hide() {
    this.el.hidden = true;
    this.items = [];
  }
  key(e) {
    if (this.el.hidden || !this.items.length) return false;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      this.at = (this.at + (e.key === "ArrowDown" ? 1 : -1) + this.items.length) % this.items.length;
      this.render();
    } else if (e.key === "Enter" || e.key === "Tab") this.pick(this.at);
    else if (e.key === "Escape") this.hide();
    else return false;
    e.preventDefault();
    return true;
  }
  pick(i) {
    const c = this.items[i];
    const input = this.chat.input;
    if (!c || !this.range) return;
    const text = fill(c.text, this.chat);
    const end = input.selectionStart;
    input.value = input.value.slice(0, this.range.start) + text + input.value.slice(end);
    const caret = this.range.start + text.length;
    input.setSelectionRange(caret, caret);
    this.hide();
    input.focus();
  }
}

async function loadCanned() {
  try {
    const r = await api("GET", "/api/console/canned");
    canned = r.canned || [];
    shopName = str(r.shop_name);
  } catch (e) {
    canned = [];
  }
}

// ---------------------------------------------------------------- read-only viewer (overview, history)
let viewerChat = null; // the live read-only view (overview), if any
const viewers = new Set(); // every Viewer shown (their facts are written again on a language switch)
class Viewer {
  constructor(box, cid, opts) {
    viewers.add(this);
    this.box = clear(box);
    this.cid = cid;
    this.live = !!(opts && opts.live);
    this.stateEl = h("span");
    this.title = h("h3");
    this.facts = h("div", { class: "facts-box" });
    this.log = live(h("div", { class: "log ro", role: "log" }), () => T("c.chat.transcript"), "aria-label");
    this.draft = h("div", { class: "draft", hidden: true });
    this.transcript = new Transcript(this.log);
    this.actions = h("div", { class: "cactions" });
    this.extra = h("div", { class: "vextra" });
    const closeBtn = live(h("button", { type: "button", class: "btn ghost", onclick: () => this.close() }), () => T("c.v.close"));
    box.appendChild(h("div", { class: "chead" }, h("div", { class: "ctitlebox" }, this.title, this.stateEl), h("div", { class: "cactions" }, this.actions, closeBtn)));
    box.appendChild(h("div", { class: "vbody" }, h("div", { class: "vlog" }, this.log, this.draft), h("aside", { class: "side" }, this.facts, this.extra)));
    box.hidden = false;
  }
  show(chat, messages) {
    this.info = chat;
    this.transcript.info = chat;
    this.title.textContent = visitorName(chat.visitor, chat.conversation_id);
    this.setState(chat.state);
    this.writeFacts();
    for (const m of messages) this.transcript.add(m);
    this.log.scrollTop = this.log.scrollHeight;
  }
  writeFacts() {
    const chat = this.info;
    clear(this.facts).appendChild(detailsList(chat));
    // Admins: this visitor's data request (export, erase) starts from here (privacy.js).
    if (me && me.role === "admin")
      this.facts.appendChild(live(h("a", { class: "datareq", href: "/privacy/#conversation=" + encodeURIComponent(this.cid) }), () => T("c.v.data_request")));
  }
  setState(state) {
    if (this.info) this.info.state = state;
    this.stateEl.replaceWith((this.stateEl = stateBadge(state)));
    clear(this.actions);
    if (this.live && ["bot", "queued", "offline_form"].includes(state))
      this.actions.appendChild(live(h("button", { type: "button", class: "btn primary", onclick: () => takeOver(this.cid) }), () => T("c.take_over")));
  }
  showDraft(draft) {
    clearTimeout(this.dt);
    const t = str(draft).trim();
    this.draft.hidden = !t;
    this.draft.textContent = t ? T("c.chat.typing") + " " + t : "";
    this.dt = setTimeout(() => (this.draft.hidden = true), DRAFT_HIDE_MS);
  }
  async refresh() {
    const ack = await call("open_chat", { conversation_id: this.cid, after_seq: this.transcript.max });
    if (ack.ok) {
      this.setState(ack.chat.state);
      for (const m of ack.messages) this.transcript.add(m);
    }
  }
  close() {
    this.box.hidden = true;
    clear(this.box);
    if (viewerChat === this) {
      viewerChat = null;
      if (!chats.has(this.cid)) call("unwatch", { conversation_id: this.cid });
    }
  }
}

async function viewLive(cid) {
  if (viewerChat) viewerChat.close();
  const ack = await call("open_chat", { conversation_id: cid, after_seq: 0 });
  if (!ack.ok) return fail(ack, T("c.err.open_chat"));
  viewerChat = new Viewer($("ov-viewer"), cid, { live: true });
  viewerChat.show(ack.chat, ack.messages);
  $("ov-viewer").scrollIntoView({ block: "nearest" });
}

async function openPast(cid, box) {
  show(box === $("ticket") ? "tickets" : "history");
  const target = box || $("hist-viewer");
  try {
    const r = await api("GET", `/api/console/conversations/${encodeURIComponent(cid)}`);
    const v = new Viewer(target, cid);
    v.show(r.chat, r.messages);
    if (r.rating)
      v.extra.appendChild(
        h("p", { class: "rated" }, h("b", { text: "★".repeat(r.rating.stars) + "☆".repeat(5 - r.rating.stars) }), " ", str(r.rating.comment))
      );
    return v;
  } catch (e) {
    toast(T("c.err.open_conversation", { error: e.message }), "bad");
    return null;
  }
}

async function takeOver(cid) {
  const ack = await call("take_over", { conversation_id: cid });
  if (!ack.ok) return fail(ack, T("c.err.take_over"));
  if (viewerChat && viewerChat.cid === cid) viewerChat.close();
  await openMine(cid, true);
}

function summaryItem(c, onopen) {
  const who = visitorName(c.visitor, c.conversation_id);
  return h(
    "li",
    {},
    h(
      "button",
      { type: "button", class: "result", onclick: onopen },
      h("span", { class: "rtop" }, h("b", { text: who }), stateBadge(c.state), h("time", { text: when(c.created_at) })),
      // Linked by an e-mail the visitor typed, not by this browser: maybe someone else's chats.
      c.unverified &&
        live(live(h("span", { class: "unverified" }), () => T("c.h.unverified")), () => T("c.h.unverified_title"), "title"),
      live(h("span", { class: "rline" }), () => (c.match ? c.match : str(c.first_message, T("c.h.no_message")))),
      h(
        "span",
        { class: "rmeta", text: [c.agents && c.agents.filter(Boolean).join(", "), c.stars ? "★ " + c.stars : "", str(c.visitor && c.visitor.email)].filter(Boolean).join(" · ") }
      )
    )
  );
}

// ---------------------------------------------------------------- overview
let ovTimer = 0;
let ovPending = 0;
function scheduleOverview() {
  clearTimeout(ovPending);
  ovPending = setTimeout(loadOverview, 300);
}
async function loadOverview() {
  clearTimeout(ovTimer);
  if (view !== "overview") return;
  try {
    const r = await api("GET", "/api/console/visitors"); // engage/: everyone on the site
    renderOverview(r.visitors || []);
    $("ov-updated").textContent = T("c.ov.updated", { time: new Date().toLocaleTimeString(dateLocale()) });
  } catch (e) {
    $("ov-updated").textContent = T("c.ov.not_updated");
  }
  ovTimer = setTimeout(loadOverview, OVERVIEW_MS);
}
function renderOverview(rows) {
  $("ov-empty").hidden = rows.length > 0;
  $("n-visitors").textContent = String(rows.length);
  $("n-visitors").hidden = !rows.length;
  renderVisitors($("ov-table").tBodies[0], rows, { api, viewLive, takeOver, stateBadge, visitorName, dur });
}

// ---------------------------------------------------------------- queue
sock.on("queue", (q) => renderQueue((q && q.entries) || []));
function renderQueue(entries) {
  queueEntries = Array.isArray(entries) ? entries : [];
  const tb = clear($("q-table").tBodies[0]);
  $("q-empty").hidden = queueEntries.length > 0;
  const now = Date.now();
  for (const e of queueEntries) {
    e._since = now - (Number(e.waited_s) || 0) * 1000;
    tb.appendChild(
      h(
        "tr",
        {},
        h("td", { class: "num", text: String(e.position) }),
        h("td", {}, h("div", { text: visitorName(e.visitor, e.conversation_id) }), h("div", { class: "muted", text: str(e.visitor && e.visitor.email) })),
        h("td", { text: reasonText(e.reason) }),
        h("td", { class: "num waited", dataset: { since: String(e._since) }, text: dur(e.waited_s) }),
        h("td", { class: "num", text: e.estimated_wait_s == null ? "–" : "~" + dur(e.estimated_wait_s) }),
        h("td", { class: "acts" }, h("button", { type: "button", class: "btn small primary", text: T("c.take_over"), onclick: () => takeOver(e.conversation_id) }))
      )
    );
  }
  updateCounts();
}
setInterval(() => {
  for (const td of d.querySelectorAll("#q-table .waited")) td.textContent = dur((Date.now() - Number(td.dataset.since)) / 1000);
}, 1000);

// ---------------------------------------------------------------- history & search
$("search").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = $("search-q").value.trim();
  const list = clear($("search-results"));
  if (q.length < 2) return list.appendChild(live(h("li", { class: "muted" }), () => T("c.h.too_short")));
  try {
    const r = await api("GET", "/api/console/search?q=" + encodeURIComponent(q));
    if (!r.conversations.length) list.appendChild(live(h("li", { class: "muted" }), () => T("c.h.nothing")));
    for (const c of r.conversations) list.appendChild(summaryItem(c, () => openPast(c.conversation_id)));
  } catch (err) {
    list.appendChild(h("li", { class: "muted", text: T("c.h.failed", { error: err.message }) }));
  }
});

// ---------------------------------------------------------------- offline messages (tickets)
// Live: an offline message arrived, or a colleague replied to or closed one.
sock.on("tickets_changed", () => loadTickets());
async function loadTickets() {
  const list = clear($("tickets"));
  try {
    const r = await api("GET", "/api/console/tickets");
    $("t-empty").hidden = r.tickets.length > 0;
    $("n-tickets").textContent = String(r.tickets.length);
    $("n-tickets").hidden = !r.tickets.length;
    for (const t of r.tickets)
      list.appendChild(
        h(
          "li",
          {},
          h(
            "button",
            { type: "button", class: "result", onclick: () => openTicket(t) },
            h("span", { class: "rtop" }, h("b", { text: str(t.name, t.email) }), h("time", { text: when(t.created_at) })),
            h("span", { class: "rline", text: str(t.message) }),
            h("span", { class: "rmeta", text: str(t.email) })
          )
        )
      );
  } catch (e) {
    list.appendChild(h("li", { class: "muted", text: T("common.load_failed", { error: e.message }) }));
  }
}
async function openTicket(t) {
  const v = await openPast(t.conversation_id, $("ticket"));
  if (!v) return;
  const text = live(live(h("textarea", { rows: 4, maxlength: 4000 }), () => T("c.t.reply"), "aria-label"), () => T("c.t.reply_ph"), "placeholder");
  const send = live(h("button", { type: "submit", class: "btn primary" }), () => T("c.t.send"));
  const done = live(h("button", { type: "button", class: "btn" }), () => T("c.t.close"));
  const msg = h("span", { class: "msgline", role: "status" });
  const form = h(
    "form",
    { class: "ticketform" },
    live(h("h3"), () => T("c.t.heading")),
    h("p", { class: "tmsg", text: str(t.message) }),
    h("p", { class: "muted", text: `${str(t.name)} <${str(t.email)}>` }),
    text,
    h("div", { class: "actions" }, send, done, msg)
  );
  v.extra.appendChild(form);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const r = await api("POST", `/api/console/tickets/${t.id}/reply`, { text: text.value });
      text.value = "";
      msg.textContent = r.emailed ? T("c.t.emailed") : T("c.t.stored");
      const fresh = await api("GET", `/api/console/conversations/${encodeURIComponent(t.conversation_id)}`);
      for (const m of fresh.messages) v.transcript.add(m);
    } catch (err) {
      msg.textContent = T("c.t.not_sent", { error: err.message });
    }
  });
  done.addEventListener("click", async () => {
    try {
      await api("POST", `/api/console/tickets/${t.id}/close`);
      toast(T("c.t.closed"));
      v.close();
      loadTickets();
    } catch (err) {
      msg.textContent = T("c.t.not_closed", { error: err.message });
    }
  });
}

// ---------------------------------------------------------------- ratings and ranking
function pct(x) {
  return x == null ? "–" : Math.round(x * 100) + " %";
}
async function loadMyRating() {
  try {
    const r = await api("GET", "/api/console/ratings/mine");
    const s = r.summary;
    live($("myrating"), () => (s.ratings ? `★ ${s.avg_stars.toFixed(1)} (${s.ratings})` : T("c.r.none_yet")));
    return r;
  } catch (e) {
    return null;
  }
}
// Live: a visitor rated a chat (mine: the header and the list; any: the admins' ranking).
sock.on("rated", (r) => {
  if (!r || !me) return;
  if (r.agent_id === me.id) {
    toast(T("c.r.rated", { stars: "★".repeat(Math.max(1, Math.min(5, Number(r.stars) || 1))) }));
    if (view !== "ratings") loadMyRating();
  }
  if (view === "ratings") loadRatings();
});
async function loadRatings() {
  const r = await loadMyRating();
  if (r) {
    const s = r.summary;
    live($("r-summary"), () => (s.ratings ? Tn("c.r.summary", s.ratings, { avg: s.avg_stars.toFixed(2), csat: pct(s.csat) }) : T("c.r.none")));
    const list = clear($("r-list"));
    for (const x of r.ratings)
      list.appendChild(
        h(
          "li",
          {},
          h("span", { class: "stars", "aria-label": T("c.r.stars", { n: x.stars }), text: "★".repeat(x.stars) + "☆".repeat(5 - x.stars) }),
          h("b", { text: str(x.visitor_name, T("c.col.visitor")) }),
          h("time", { text: when(x.created_at) }),
          h("div", { class: "comment", text: str(x.comment) })
        )
      );
  }
  if (me && me.role === "admin") loadRanking();
}
async function loadRanking() {
  const tb = clear($("ranking").tBodies[0]);
  try {
    const r = await api("GET", "/api/console/ranking?days=" + encodeURIComponent($("ranking-days").value));
    r.agents.forEach((a, i) =>
      tb.appendChild(
        h(
          "tr",
          {},
          h("td", { class: "num", text: String(i + 1) }),
          h("td", { text: str(a.name) }),
          h("td", { class: "num", text: pct(a.csat) }),
          h("td", { class: "num", text: a.avg_stars == null ? "–" : a.avg_stars.toFixed(2) }),
          h("td", { class: "num", text: String(a.ratings) }),
          h("td", { class: "num", text: String(a.chats) }),
          h("td", { class: "num", text: String(a.missed) }),
          h("td", { class: "num", text: a.avg_first_response_s == null ? "–" : dur(a.avg_first_response_s) })
        )
      )
    );
  } catch (e) {
    tb.appendChild(h("tr", {}, h("td", { colspan: 8, text: T("common.load_failed", { error: e.message }) })));
  }
}
$("ranking-days").addEventListener("change", loadRanking);

// ---------------------------------------------------------------- admin: routing settings, agents
async function refreshAgents() {
  try {
    agents = (await api("GET", "/api/console/agents")).agents;
  } catch (e) {
    /* keep the last list */
  }
}
async function loadAdmin() {
  if (!me || me.role !== "admin") return;
  const form = $("settings");
  try {
    const r = await api("GET", "/api/console/settings");
    for (const [k, v] of Object.entries(r.settings)) if (form.elements[k]) form.elements[k].value = String(v);
  } catch (e) {
    $("settings-msg").textContent = T("common.load_failed", { error: e.message });
  }
  const tb = clear($("agents").tBodies[0]);
  try {
    await refreshAgents();
    const presence = new Map(agents.map((a) => [a.id, a]));
    const r = await api("GET", "/api/agents");
    for (const u of r.agents) {
      const max = h("input", { type: "number", min: 1, max: 20, value: String(u.max_chats), "aria-label": T("c.a.max_chats"), class: "narrow" });
      const prio = h("input", { type: "number", min: 1, max: 100, value: String(u.priority), "aria-label": T("c.a.priority"), class: "narrow" });
      const acc = h("input", { type: "checkbox", checked: !!u.accepting_chats, "aria-label": T("c.accepting") });
      const save = live(h("button", { type: "button", class: "btn small" }), () => T("c.save"));
      live(max, () => T("c.a.max_chats"), "aria-label");
      live(prio, () => T("c.a.priority"), "aria-label");
      live(acc, () => T("c.accepting"), "aria-label");
      const p = presence.get(u.id);
      save.addEventListener("click", async () => {
        try {
          await api("PATCH", `/api/agents/${u.id}`, { max_chats: Number(max.value), priority: Number(prio.value), accepting_chats: acc.checked });
          toast(T("c.a.saved_agent", { name: u.display_name }));
        } catch (err) {
          toast(T("common.not_saved", { error: err.message }), "bad");
        }
      });
      tb.appendChild(
        h(
          "tr",
          {},
          h("td", { text: str(u.display_name) }),
          h("td", { text: str(u.email) }),
          live(h("td"), () => roleName(u.role) + (u.active ? "" : " " + T("c.a.inactive"))),
          live(h("td"), () => (p ? `${presenceName(p.presence)} · ${p.running}/${p.max_chats}` : "–")),
          h("td", {}, u.role === "editor" ? "–" : max),
          h("td", {}, u.role === "editor" ? "–" : prio),
          h("td", {}, u.role === "editor" ? "–" : acc),
          h("td", {}, u.role === "editor" ? null : save)
        )
      );
    }
  } catch (e) {
    tb.appendChild(h("tr", {}, h("td", { colspan: 8, text: T("common.load_failed", { error: e.message }) })));
  }
}
$("settings").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = e.target;
  const body = { strategy: form.elements.strategy.value };
  for (const k of ["routing_time_s", "inactivity_s", "breathing_s", "presence_timeout_s", "grace_s", "max_queue_wait_s"])
    body[k] = Number(form.elements[k].value);
  try {
    const r = await api("PUT", "/api/console/settings", body);
    settings = r.settings;
    $("settings-msg").textContent = T("c.a.saved");
  } catch (err) {
    $("settings-msg").textContent = T("common.not_saved", { error: err.message });
  }
});

// ---------------------------------------------------------------- the console's language
// One choice per user for the console and the editor (PUT /api/me/language, kept on the server, so it
// follows the agent to another browser); never chosen: the browser's language, else English.
/** Every text on the page in the current language: the static ones, the live ones, the lists. */
function relabel() {
  applyStatic(d);
  $("ui-lang").value = language();
  relabelLive();
  if (!me) return;
  renderMe();
  for (const c of chats.values()) {
    c.setInfo({});
    c.fillTransfer();
  }
  for (const v of [...viewers]) {
    if (!v.facts.isConnected) viewers.delete(v);
    else if (v.info) v.writeFacts();
  }
  renderQueue(queueEntries);
  if (view === "overview") loadOverview();
  if (view === "ratings") loadRatings();
  if (view === "widget") relabelWidgetAdmin();
}
wireLanguageSwitch($("ui-lang"), { api, toast, relabel, saved: () => T("c.lang.saved") });
setLanguage(pickLanguage(null)); // "Loading…" already in the likely language
applyStatic(d);

// ---------------------------------------------------------------- boot
async function boot() {
  const user = await signedIn(toLogin);
  if (!user) return;
  setLanguage(pickLanguage(user.language));
  applyStatic(d);
  $("ui-lang").value = language();
  if (user.role === "editor") return location.replace("/editor/"); // editors work in the knowledge-base editor
  if (user.role !== "agent" && user.role !== "admin") {
    $("boot").textContent = T("c.boot.not_agent");
    return;
  }
  me = { id: user.id, name: user.display_name, role: user.role, accepting_chats: user.accepting_chats };
  presenceChoice = user.status === "away" ? "away" : "online";
  renderMe();
  $("boot").hidden = true;
  $("app").hidden = false;
  updateCounts();
  await setupNotifications({ api, unlockAudio, audioRunning: () => !!audio && audio.state === "running",
                             before: $("logout"), bar: $("offers") });
  await loadCanned();
  loadMyRating();
  loadTickets();
  sock.connect();
}
boot();
