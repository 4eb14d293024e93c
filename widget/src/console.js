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
import { loadWidgetAdmin } from "./widget-admin.js";
import { loadPrechatAdmin } from "./prechat-admin.js";

const d = document;
const HEARTBEAT_MS = 10000;
const ACK_MS = 15000;
const TYPING_IDLE_MS = 3000;
const DRAFT_HIDE_MS = 8000;
const OVERVIEW_MS = 5000;
const MAX_LEN = 2000;
const BASE_TITLE = d.title;

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
  if (s < 60) return s + " s";
  if (s < 3600) return Math.floor(s / 60) + " min " + String(s % 60).padStart(2, "0") + " s";
  return Math.floor(s / 3600) + " h " + String(Math.floor((s % 3600) / 60)).padStart(2, "0") + " min";
}
function clock(iso) {
  const t = new Date(iso);
  return isNaN(t) ? "" : t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}
const STATE_LABEL = {
  bot: "with the bot",
  queued: "queued",
  assigned: "with an agent",
  offline_form: "offline form",
  closed: "closed",
  rated: "rated",
};
const REASON_LABEL = {
  visitor_request: "visitor asked for a person",
  visitor_asked: "visitor asked for a person",
  button: "visitor pressed “Talk to a person”",
  bot_failed: "the bot could not answer twice",
  "agent took over": "an agent took over",
};
const reasonText = (r) => (r ? REASON_LABEL[r] || String(r).replace(/_/g, " ") : "");
// The conversation's language (the widget's, or what the visitor writes in: docs/bot.md "Languages").
const LANGUAGE_NAMES = { el: "Greek", en: "English" };
function languageName(code) {
  const c = str(code);
  return c ? (LANGUAGE_NAMES[c.slice(0, 2).toLowerCase()] || c) + " (" + c + ")" : "";
}

function visitorName(v, cid) {
  return str(v && v.name) || "Visitor " + String(cid || "").slice(0, 6);
}
function stateBadge(state) {
  return h("span", { class: "state s-" + str(state, "unknown"), text: STATE_LABEL[state] || str(state, "?") });
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
      d.title = on ? `(${attention.n}) ${attention.label}` : BASE_TITLE;
    }, 1000);
    d.title = `(${attention.n}) ${attention.label}`;
  }
}
d.addEventListener("visibilitychange", () => {
  if (d.hidden) return;
  clearInterval(flashTimer);
  flashTimer = 0;
  attention = { n: 0, label: "" };
  d.title = BASE_TITLE;
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
    return ack || { ok: false, error: { code: "no_ack", message: "no answer" } };
  } catch (e) {
    return { ok: false, error: { code: "timeout", message: "no answer from the server; retrying when reconnected" } };
  }
}
function fail(ack, what) {
  const err = (ack && ack.error) || {};
  toast(`${what}: ${err.message || err.code || "failed"}`, "bad");
}

sock.on("connect", async () => {
  $("conn").hidden = true;
  const snap = await call("hello");
  if (!snap.ok) return fail(snap, "Could not load the console");
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
    if (!mine.has(c.cid) && !c.ended) c.end("This chat is no longer yours.");
  if (!active && chats.size) activate([...chats.keys()][0]);
  renderQueue(snap.queue || []);
  updateCounts();
}

// ---------------------------------------------------------------- header: me, presence, accepting
function renderMe() {
  $("myname").textContent = `${me.name || me.display_name || ""} · ${me.role}`;
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
  toast(presenceChoice === "away" ? "You are away: no new chats are offered." : "You are online.");
});
$("accepting").addEventListener("change", async (e) => {
  const want = e.target.checked;
  try {
    const u = await api("PATCH", `/api/agents/${me.id}`, { accepting_chats: want });
    me.accepting_chats = u.accepting_chats;
    toast(want ? "Accepting new chats." : "Not accepting new chats.");
  } catch (err) {
    e.target.checked = !want;
    toast("Could not change it: " + err.message, "bad");
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
  const count = h("span", { class: "count", "aria-label": "seconds left" });
  const kind = o.kind === "transfer" ? `Transfer from ${str(o.from_agent, "an agent")}` : o.kind === "sticky" ? "Returning visitor" : "New chat";
  const accept = h("button", { type: "button", class: "btn primary", text: "Accept" });
  const decline = h("button", { type: "button", class: "btn", text: "Decline" });
  const el = h(
    "div",
    { class: "offer", dataset: { offer: String(o.offer_id) } },
    h("div", { class: "ring", "aria-hidden": "true" }),
    h(
      "div",
      { class: "oinfo" },
      h("div", { class: "okind", text: kind }),
      h("div", { class: "oname", text: visitorName(v, o.conversation_id) }),
      h(
        "div",
        { class: "odetail" },
        [reasonText(o.reason), languageName(v.language), str(v.email), str(v.order_number) && "order " + v.order_number, str(v.page_title) || str(v.page_url)]
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
    if (!ack.ok) return fail(ack, "Could not accept");
    if (ack.conversation_id) openMine(ack.conversation_id, true);
  });
  decline.addEventListener("click", async () => {
    accept.disabled = decline.disabled = true;
    const ack = await call("decline", { offer_id: o.offer_id });
    removeOffer(o.offer_id);
    if (!ack.ok && ack.error.code !== "offer_gone") fail(ack, "Could not decline");
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
    e.count.textContent = left > 0 ? left + " s" : "0 s";
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
  if (w.why === "missed") toast("You missed a chat: it went to the next agent.", "bad");
  else if (w.why === "withdrawn") toast("A chat offer was withdrawn (taken or left the queue).");
});

// ---------------------------------------------------------------- transcript rendering
const WHO = { visitor: "Visitor", bot: "Bot", agent: "Agent", note: "Note", system: "System" };
function messageRow(m, info) {
  const sender = WHO[m.sender] ? m.sender : "system";
  let who = WHO[sender];
  if (sender === "visitor") who = visitorName(info && info.visitor, info && info.conversation_id);
  if (sender === "agent") who = str(m.agent_name, "Agent");
  if (sender === "note") who = "Internal note · " + str(m.agent_name, "agent");
  const row = h(
    "div",
    { class: "m m-" + sender, dataset: { seq: String(m.seq) } },
    h("div", { class: "mh" }, h("span", { class: "who", text: who }), h("time", { text: clock(m.created_at) })),
    body(m, sender)
  );
  if (m.kb && typeof m.kb.title === "string") row.appendChild(h("div", { class: "src", text: "Article: " + m.kb.title }));
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
  if (m.attachment && typeof m.attachment === "object") b.appendChild(attachmentEl(m.attachment, "en", fileUrl));
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
  add("Name", str(v.name, "not given"));
  add("E-mail", str(v.email, "not given"));
  add("Order number", str(v.order_number, "not given"));
  // the pre-chat form's other answers (engage/prechat.py; name, e-mail, order number are above)
  const pre = info.prechat && typeof info.prechat === "object" ? info.prechat : {};
  add("Phone", str(pre.phone));
  add("Topic", str(pre.choice));
  if (typeof pre.consent === "boolean") add("Privacy consent", pre.consent ? "given" : "not given");
  add("Handoff reason", reasonText(info.handoff_reason) || "–");
  add("State", STATE_LABEL[info.state] || info.state);
  add("Language", languageName(v.language) || "–");
  add("Current page", str(v.page_title) || str(v.page_url) || "–");
  if (str(v.page_url) && str(v.page_title)) add("URL", v.page_url);
  add("Referrer", str(info.referrer, "–"));
  add("Pages seen", info.pages_seen || (v.page_url ? 1 : 0));
  add("Started", when(info.created_at));
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
    this.log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Transcript" });
    this.transcript = new Transcript(this.log);
    this.draft = h("div", { class: "draft", role: "status", hidden: true });
    this.input = h("textarea", {
      class: "input",
      rows: 3,
      maxlength: MAX_LEN,
      placeholder: "Reply to the visitor… (# for canned responses, Enter to send, Shift+Enter for a new line)",
      "aria-label": "Message",
    });
    this.noteBox = h("input", { type: "checkbox", class: "notebox" });
    this.sendBtn = h("button", { type: "submit", class: "btn primary", text: "Send" });
    this.fileInput = h("input", { type: "file", hidden: true, accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf" });
    this.attachBtn = h("button", { type: "button", class: "btn", text: "Attach file", title: "Send an image or a PDF" });
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
        h("label", { class: "switch" }, this.noteBox, " Internal note (agents only)"),
        h("span", { class: "hint", text: "#shortcut inserts a canned response" }),
        this.fileInput,
        this.attachBtn,
        this.sendBtn
      )
    );
    this.transferSel = h("select", { class: "tsel", "aria-label": "Transfer to" });
    this.transferBtn = h("button", { type: "button", class: "btn", text: "Transfer" });
    this.returnBtn = h("button", { type: "button", class: "btn", text: "Return to bot" });
    this.closeBtn = h("button", { type: "button", class: "btn danger", text: "Close chat" });
    this.dismissBtn = h("button", { type: "button", class: "btn", text: "Dismiss", hidden: true });
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
      h("aside", { class: "side" }, h("h3", { text: "Visitor" }), this.side, h("h3", { text: "Customer history" }), this.history)
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
      this.input.placeholder = this.noteBox.checked
        ? "Internal note: only agents see it"
        : "Reply to the visitor… (# for canned responses, Enter to send, Shift+Enter for a new line)";
      if (this.noteBox.checked) this.typing(false);
    });
    this.transferSel.addEventListener("focus", () => refreshAgents().then(() => this.fillTransfer()));
    this.transferBtn.addEventListener("click", () => this.transfer());
    this.returnBtn.addEventListener("click", () => this.act("return_to_bot", "Returned to the bot."));
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
    this.tab.title = flag ? "Inactive: no message for a while (its slot is free)" : "";
  }

  async load() {
    const ack = await call("open_chat", { conversation_id: this.cid, after_seq: this.transcript.max });
    if (!ack.ok) {
      if (ack.error.code === "not_owner") this.end("This chat is no longer yours.");
      return;
    }
    this.setInfo(ack.chat);
    for (const m of ack.messages) this.transcript.add(m);
    // The server's word on ownership (events about a chat may arrive in any order around it).
    if (ack.chat.state === "closed" || ack.chat.state === "rated") this.end("This chat is closed.");
    else if (ack.chat.state !== "assigned" || (me && ack.chat.agent_id !== me.id)) this.end("This chat is no longer with you.");
    this.log.scrollTop = this.log.scrollHeight;
    if (!this.loaded) this.loadHistory();
    this.loaded = true;
  }

  async loadHistory() {
    clear(this.history);
    try {
      const r = await api("GET", `/api/console/conversations/${encodeURIComponent(this.cid)}/history`);
      if (!r.conversations.length) this.history.appendChild(h("li", { class: "muted", text: "No earlier conversations." }));
      for (const c of r.conversations) this.history.appendChild(summaryItem(c, () => openPast(c.conversation_id)));
    } catch (e) {
      this.history.appendChild(h("li", { class: "muted", text: "History unavailable." }));
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
        notify("New message", 660, visitorName(this.info.visitor, this.cid) + ": " + str(m.text), "chat-" + this.cid);
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
    this.draft.appendChild(h("span", { class: "dlabel", text: "Visitor is typing: " }));
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
    if (text.length > MAX_LEN) return toast(`A message can be at most ${MAX_LEN} characters.`, "bad");
    const note = this.noteBox.checked;
    const client_id = uuid();
    this.input.value = "";
    this.ac.hide();
    if (!note) this.typing(false);
    const attempt = async () => {
      const ack = await call(note ? "note" : "send", { conversation_id: this.cid, text, client_id });
      if (ack.ok) return this.transcript.add(ack.message);
      if (ack.error.code === "timeout") return pendingSends.push(attempt);
      fail(ack, note ? "Note not saved" : "Message not sent");
      if (!this.input.value) this.input.value = text;
    };
    await attempt();
  }

  async sendFile(file) {
    if (this.ended) return;
    const bad = checkFile(file, "en");
    if (bad) return toast("File not sent: " + bad, "bad");
    const path = `/api/console/conversations/${encodeURIComponent(this.cid)}/attachments`;
    try {
      const ack = await upload(path, file, { "X-Requested-With": "shopchat", "X-Client-Id": uuid() });
      this.transcript.add(ack.message);
    } catch (err) {
      toast("File not sent: " + str(err.message, str(err.code, "error")), "bad");
    }
  }

  fillTransfer() {
    const keep = this.transferSel.value;
    clear(this.transferSel);
    this.transferSel.appendChild(h("option", { value: "", text: "Transfer to…" }));
    this.transferSel.appendChild(h("option", { value: "queue", text: "Back to the queue" }));
    for (const a of agents) {
      if (me && a.id === me.id) continue;
      const free = a.presence === "online" && a.accepting_chats && a.running < a.max_chats;
      this.transferSel.appendChild(
        h("option", {
          value: String(a.id),
          text: `${a.name} (${a.presence}, ${a.running}/${a.max_chats})`,
          disabled: !free,
        })
      );
    }
    this.transferSel.value = [...this.transferSel.options].some((o) => o.value === keep && !o.disabled) ? keep : "";
  }

  async transfer() {
    const v = this.transferSel.value;
    if (!v) return toast("Choose an agent or the queue first.");
    const to = v === "queue" ? null : Number(v);
    const ack = await call("transfer", { conversation_id: this.cid, to_agent_id: to });
    if (!ack.ok) return fail(ack, "Transfer failed");
    if (to === null) toast("The chat is back in the queue.");
    else {
      const a = agents.find((x) => x.id === to);
      this.transferPending = true;
      this.banner.textContent = `Waiting for ${a ? a.name : "the agent"} to accept the transfer… The chat stays with you until then.`;
      this.banner.hidden = false;
    }
  }

  confirmClose() {
    if (this.closeBtn.dataset.armed) {
      clearTimeout(this.armTimer);
      delete this.closeBtn.dataset.armed;
      this.closeBtn.textContent = "Close chat";
      return this.act("close", "Chat closed.");
    }
    this.closeBtn.dataset.armed = "1";
    this.closeBtn.textContent = "Click again to close";
    this.armTimer = setTimeout(() => {
      delete this.closeBtn.dataset.armed;
      this.closeBtn.textContent = "Close chat";
    }, 4000);
  }

  async act(event, done) {
    const ack = await call(event, { conversation_id: this.cid });
    if (!ack.ok) return fail(ack, "Could not do that");
    toast(done);
  }

  end(why) {
    if (this.ended) return;
    this.ended = true;
    this.typing(false);
    this.typingSent = false;
    this.banner.textContent = why;
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
    if (c) c.end(`Transferred to ${to ? to.name : "another agent"}.`);
    toast(`${to ? to.name : "The other agent"} accepted the transfer.`);
  }
});
sock.on("chat_released", (r) => {
  const c = r && chats.get(r.conversation_id);
  if (!c) return;
  if (r.why === "inactive") return c.setInactive(true);
  const why = {
    closed: "This chat is closed.",
    "returned to bot": "Returned to the bot.",
    "transferred to queue": "Transferred back to the queue.",
    transferred: "Transferred to another agent.",
    "agent went offline": "You were offline too long: the chat went back to the queue.",
  };
  c.end(why[r.why] || "This chat is no longer with you.");
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
      toast("Another agent took that chat.");
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
  toast(`The transfer was ${t && t.why === "declined" ? "declined" : "not accepted in time"}: the chat stays with you.`, "bad");
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
    shop_name: shopName || "our shop",
    order_number: str(v.order_number),
  });
}

class Autocomplete {
  constructor(chat) {
    this.chat = chat;
    this.items = [];
    this.at = 0;
    this.el = h("ul", { class: "ac", role: "listbox", hidden: true, "aria-label": "Canned responses" });
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
class Viewer {
  constructor(box, cid, opts) {
    this.box = clear(box);
    this.cid = cid;
    this.live = !!(opts && opts.live);
    this.stateEl = h("span");
    this.title = h("h3");
    this.facts = h("div", { class: "facts-box" });
    this.log = h("div", { class: "log ro", role: "log", "aria-label": "Transcript" });
    this.draft = h("div", { class: "draft", hidden: true });
    this.transcript = new Transcript(this.log);
    this.actions = h("div", { class: "cactions" });
    this.extra = h("div", { class: "vextra" });
    const closeBtn = h("button", { type: "button", class: "btn ghost", text: "Close view", onclick: () => this.close() });
    box.appendChild(h("div", { class: "chead" }, h("div", { class: "ctitlebox" }, this.title, this.stateEl), h("div", { class: "cactions" }, this.actions, closeBtn)));
    box.appendChild(h("div", { class: "vbody" }, h("div", { class: "vlog" }, this.log, this.draft), h("aside", { class: "side" }, this.facts, this.extra)));
    box.hidden = false;
  }
  show(chat, messages) {
    this.info = chat;
    this.transcript.info = chat;
    this.title.textContent = visitorName(chat.visitor, chat.conversation_id);
    this.setState(chat.state);
    clear(this.facts).appendChild(detailsList(chat));
    // Admins: this visitor's data request (export, erase) starts from here (privacy.js).
    if (me && me.role === "admin")
      this.facts.appendChild(h("a", { class: "datareq", href: "/privacy/#conversation=" + encodeURIComponent(this.cid), text: "Data request (export, erase)…" }));
    for (const m of messages) this.transcript.add(m);
    this.log.scrollTop = this.log.scrollHeight;
  }
  setState(state) {
    if (this.info) this.info.state = state;
    this.stateEl.replaceWith((this.stateEl = stateBadge(state)));
    clear(this.actions);
    if (this.live && ["bot", "queued", "offline_form"].includes(state))
      this.actions.appendChild(h("button", { type: "button", class: "btn primary", text: "Take over", onclick: () => takeOver(this.cid) }));
  }
  showDraft(draft) {
    clearTimeout(this.dt);
    const t = str(draft).trim();
    this.draft.hidden = !t;
    this.draft.textContent = t ? "Visitor is typing: " + t : "";
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
  if (!ack.ok) return fail(ack, "Cannot open this chat");
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
    toast("Cannot open this conversation: " + e.message, "bad");
    return null;
  }
}

async function takeOver(cid) {
  const ack = await call("take_over", { conversation_id: cid });
  if (!ack.ok) return fail(ack, "Could not take over");
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
        h("span", {
          class: "unverified",
          title: "Linked only by an e-mail address the visitor typed, which nobody checked: it may be another person's conversation.",
          text: "Unverified link: same typed e-mail, another browser",
        }),
      h("span", { class: "rline", text: c.match ? c.match : str(c.first_message, "(no visitor message)") }),
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
    $("ov-updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("ov-updated").textContent = "could not update";
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
        h("td", { class: "acts" }, h("button", { type: "button", class: "btn small primary", text: "Take over", onclick: () => takeOver(e.conversation_id) }))
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
  if (q.length < 2) return list.appendChild(h("li", { class: "muted", text: "Type at least 2 characters." }));
  try {
    const r = await api("GET", "/api/console/search?q=" + encodeURIComponent(q));
    if (!r.conversations.length) list.appendChild(h("li", { class: "muted", text: "Nothing found." }));
    for (const c of r.conversations) list.appendChild(summaryItem(c, () => openPast(c.conversation_id)));
  } catch (err) {
    list.appendChild(h("li", { class: "muted", text: "Search failed: " + err.message }));
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
    list.appendChild(h("li", { class: "muted", text: "Could not load: " + e.message }));
  }
}
async function openTicket(t) {
  const v = await openPast(t.conversation_id, $("ticket"));
  if (!v) return;
  const text = h("textarea", { rows: 4, maxlength: 4000, "aria-label": "Reply", placeholder: "Your reply (stored in the chat and e-mailed to the visitor when e-mail is set up)" });
  const send = h("button", { type: "submit", class: "btn primary", text: "Send reply" });
  const done = h("button", { type: "button", class: "btn", text: "Close ticket" });
  const msg = h("span", { class: "msgline", role: "status" });
  const form = h(
    "form",
    { class: "ticketform" },
    h("h3", { text: "Offline message" }),
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
      msg.textContent = r.emailed ? "Reply sent by e-mail and stored." : "Reply stored (e-mail is not configured).";
      const fresh = await api("GET", `/api/console/conversations/${encodeURIComponent(t.conversation_id)}`);
      for (const m of fresh.messages) v.transcript.add(m);
    } catch (err) {
      msg.textContent = "Not sent: " + err.message;
    }
  });
  done.addEventListener("click", async () => {
    try {
      await api("POST", `/api/console/tickets/${t.id}/close`);
      toast("Ticket closed.");
      v.close();
      loadTickets();
    } catch (err) {
      msg.textContent = "Not closed: " + err.message;
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
    $("myrating").textContent = s.ratings ? `★ ${s.avg_stars.toFixed(1)} (${s.ratings})` : "★ no ratings yet";
    return r;
  } catch (e) {
    return null;
  }
}
// Live: a visitor rated a chat (mine: the header and the list; any: the admins' ranking).
sock.on("rated", (r) => {
  if (!r || !me) return;
  if (r.agent_id === me.id) {
    toast(`A visitor rated your chat ${"★".repeat(Math.max(1, Math.min(5, Number(r.stars) || 1)))}`);
    if (view !== "ratings") loadMyRating();
  }
  if (view === "ratings") loadRatings();
});
async function loadRatings() {
  const r = await loadMyRating();
  if (r) {
    const s = r.summary;
    $("r-summary").textContent = s.ratings
      ? `${s.ratings} ratings · average ${s.avg_stars.toFixed(2)} stars · CSAT ${pct(s.csat)} (4 or 5 stars)`
      : "No ratings yet.";
    const list = clear($("r-list"));
    for (const x of r.ratings)
      list.appendChild(
        h(
          "li",
          {},
          h("span", { class: "stars", "aria-label": `${x.stars} of 5 stars`, text: "★".repeat(x.stars) + "☆".repeat(5 - x.stars) }),
          h("b", { text: str(x.visitor_name, "Visitor") }),
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
    tb.appendChild(h("tr", {}, h("td", { colspan: 8, text: "Could not load: " + e.message })));
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
    $("settings-msg").textContent = "Could not load: " + e.message;
  }
  const tb = clear($("agents").tBodies[0]);
  try {
    await refreshAgents();
    const presence = new Map(agents.map((a) => [a.id, a]));
    const r = await api("GET", "/api/agents");
    for (const u of r.agents) {
      const max = h("input", { type: "number", min: 1, max: 20, value: String(u.max_chats), "aria-label": "Max chats", class: "narrow" });
      const prio = h("input", { type: "number", min: 1, max: 100, value: String(u.priority), "aria-label": "Priority", class: "narrow" });
      const acc = h("input", { type: "checkbox", checked: !!u.accepting_chats, "aria-label": "Accepting chats" });
      const save = h("button", { type: "button", class: "btn small", text: "Save" });
      const p = presence.get(u.id);
      save.addEventListener("click", async () => {
        try {
          await api("PATCH", `/api/agents/${u.id}`, { max_chats: Number(max.value), priority: Number(prio.value), accepting_chats: acc.checked });
          toast(`Saved ${u.display_name}.`);
        } catch (err) {
          toast(`Not saved: ${err.message}`, "bad");
        }
      });
      tb.appendChild(
        h(
          "tr",
          {},
          h("td", { text: str(u.display_name) }),
          h("td", { text: str(u.email) }),
          h("td", { text: str(u.role) + (u.active ? "" : " (inactive)") }),
          h("td", { text: p ? `${p.presence} · ${p.running}/${p.max_chats}` : "–" }),
          h("td", {}, u.role === "editor" ? "–" : max),
          h("td", {}, u.role === "editor" ? "–" : prio),
          h("td", {}, u.role === "editor" ? "–" : acc),
          h("td", {}, u.role === "editor" ? null : save)
        )
      );
    }
  } catch (e) {
    tb.appendChild(h("tr", {}, h("td", { colspan: 8, text: "Could not load: " + e.message })));
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
    $("settings-msg").textContent = "Saved: the new rules apply to the next decision.";
  } catch (err) {
    $("settings-msg").textContent = "Not saved: " + err.message;
  }
});

// ---------------------------------------------------------------- boot
async function boot() {
  const user = await signedIn(toLogin);
  if (!user) return;
  if (user.role === "editor") return location.replace("/editor/"); // editors work in the knowledge-base editor
  if (user.role !== "agent" && user.role !== "admin") {
    $("boot").textContent = "The agent console is for agents and admins. Your account edits the knowledge base.";
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
