// The chat UI inside the iframe (CHAT-HOST/widget/chat.html). Speaks docs/protocol.md.
import { io } from "socket.io-client";
import { markdown } from "./markdown.js";
import { fill, pickLang, strings } from "./i18n.js";
import { maybePrechat } from "./prechat.js";
import { attachButton, attachmentEl, checkFile, dropZone, upload } from "./attach.js";
import { loadLook, preview } from "./look.js";

const NS = "shopchat";
const SID_KEY = "shopchat.sid";
const VID_KEY = "shopchat.vid";
const OUTBOX_KEY = "shopchat.outbox";
const MAX_LEN = 2000;
const TYPING_MS = 300; // the draft goes to the agent at most this often
// The server's rules for the offline form (chat/visitor_ns.py check_offline_message, handoff/mailer.py).
const EMAIL_RE =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?=.{4,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$/;
const ACK_MS = 15000;
const RETRY_MS = 2000;
const SESSION_ERRORS = ["unknown_session", "no_session", "session_mismatch"];

const d = document;
const $ = (id) => d.getElementById(id);

// ---------------------------------------------------------------- config (from the loader)
// The loader passes {o: host page origin, p: {url,title,referrer}, l: lang, c: color, t: title}
// in the URL hash, so none of it reaches the server's access log.
let cfg = {};
try {
  cfg = JSON.parse(decodeURIComponent(location.hash.slice(1))) || {};
} catch (e) {
  /* opened on its own */
}
const embedded = window.parent !== window;
const parentOrigin = embedded && typeof cfg.o === "string" ? cfg.o : null;
// The visitor's language: their choice in the widget (the switch in the header, kept in this
// browser), else the loader's (data-lang, else the page's <html lang>), else the browser's.
const LANG_KEY = "shopchat.lang";
let chosenLang = null;
try {
  chosenLang = localStorage.getItem(LANG_KEY);
} catch (e) {
  /* storage blocked: no remembered choice */
}
// The admins' preview of the appearance (look.js), for the console's Widget page only (same origin):
// no connection, the language it asks for.
const previewView = cfg.preview && parentOrigin === location.origin ? String(cfg.preview) : "";
const lang = pickLang((!previewView && chosenLang) || cfg.l || navigator.language);
const T = strings(lang);
const D = { ...T }; // the widget's own texts, under the admins' (look.js)

function cleanPage(p) {
  const s = (v) => (typeof v === "string" ? v.slice(0, 2048) : "");
  return p && typeof p === "object"
    ? { url: s(p.url), title: s(p.title), referrer: s(p.referrer) }
    : { url: "", title: "", referrer: "" };
}
let page = cleanPage(cfg.p);

// ---------------------------------------------------------------- storage (may be blocked)
const mem = {};
function get(k) {
  try {
    return localStorage.getItem(k);
  } catch (e) {
    return k in mem ? mem[k] : null;
  }
}
function put(k, v) {
  try {
    if (v == null) localStorage.removeItem(k);
    else localStorage.setItem(k, v);
  } catch (e) {
    if (v == null) delete mem[k];
    else mem[k] = v;
  }
}
// The outbox is shared by the visitor's tabs: always read-modify-write.
function outbox() {
  try {
    const a = JSON.parse(get(OUTBOX_KEY) || "[]");
    return Array.isArray(a) ? a.filter((x) => x && x.client_id && typeof x.message === "string") : [];
  } catch (e) {
    return [];
  }
}
function saveOutbox(a) {
  put(OUTBOX_KEY, a.length ? JSON.stringify(a) : null);
}
function dropFromOutbox(cid) {
  saveOutbox(outbox().filter((x) => x.client_id !== cid));
}

function uuid() {
  const c = window.crypto;
  if (c && c.randomUUID) return c.randomUUID();
  const b = c && c.getRandomValues ? c.getRandomValues(new Uint8Array(16)) : [];
  let h = "";
  for (let i = 0; i < 16; i++) {
    let v = b[i] != null ? b[i] : (Math.random() * 256) | 0;
    if (i === 6) v = (v & 15) | 64;
    if (i === 8) v = (v & 63) | 128;
    h += (v + 256).toString(16).slice(1) + ([3, 5, 7, 9].includes(i) ? "-" : "");
  }
  return h;
}

// The browser's long-lived visitor id (customer history, sticky routing): random, never personal.
// The loader's id for this browser on the shop (cfg.v) wins, so the agents' list of live visitors
// (engage/) knows who is chatting.
let vid = typeof cfg.v === "string" && /^[A-Za-z0-9_-]{16,64}$/.test(cfg.v) ? cfg.v : get(VID_KEY);
if (!vid || !/^[A-Za-z0-9_-]{16,64}$/.test(vid)) vid = uuid();
put(VID_KEY, vid);

// ---------------------------------------------------------------- DOM
const log = $("log");
const scroller = $("scroll");
const typing = $("typing");
const banner = $("banner");
const conn = $("conn");
const empty = $("empty");
const form = $("form");
const input = $("input");
const counter = $("count");
const live$ = $("live");
const btext = $("btext");
const leaveBtn = $("leave");
const endBtn = $("end");
const confirmBar = $("confirm");
const offForm = $("off");
const offOk = $("offok");
const rateForm = $("rate");
const thanks = $("thanks");
const ended = $("ended");

d.documentElement.lang = lang;
for (const e of d.querySelectorAll("[data-t]")) e.textContent = T[e.dataset.t];
for (const e of d.querySelectorAll("[data-ta]")) e.setAttribute("aria-label", T[e.dataset.ta]);
for (const e of d.querySelectorAll("[data-tp]")) e.placeholder = T[e.dataset.tp];
if (typeof cfg.t === "string" && cfg.t.trim()) $("title").textContent = cfg.t.slice(0, 60);
if (typeof cfg.c === "string" && window.CSS && CSS.supports("color", cfg.c))
  d.documentElement.style.setProperty("--c", cfg.c);
// The shop's privacy notice, when an admin set its link (docs/privacy.md).
fetch("/api/privacy/notice")
  .then((r) => r.json())
  .then((o) => {
    if (o && typeof o.url === "string" && /^https?:\/\//.test(o.url)) {
      $("privacy").href = o.url;
      $("privacy").hidden = false;
    }
  })
  .catch(() => {});

function h(tag, cls, text) {
  const e = d.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

let stick = true; // keep the view at the bottom unless the visitor scrolled up
scroller.addEventListener("scroll", () => {
  stick = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 60;
});
function toBottom(force) {
  if (!(force || stick)) return;
  scroller.scrollTop = scroller.scrollHeight;
  // the offline form is what the visitor acts on: its title stays in view
  const off = $("off");
  if (off && !off.hidden) scroller.scrollTop += off.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 8;
}
// a banner appearing, the textarea growing or a phone keyboard opening shrink the transcript
if (window.ResizeObserver) new ResizeObserver(() => toBottom()).observe(scroller);

// ---------------------------------------------------------------- transcript state
let sid = get(SID_KEY);
let maxSeq = 0; // highest seq shown
const bySeq = new Map(); // seq -> {row, m}
const byCid = new Map(); // client_id -> row (visitor messages)
let qrBox = null;
let typingTimer = 0;

const str = (v) => (typeof v === "string" && v ? v : "");

function row(m) {
  const who = m.sender === "visitor" ? "me" : m.sender === "system" ? "sys" : m.sender === "agent" ? "agent" : "bot";
  const r = h("div", "row " + who);
  if (who === "agent") {
    const name = str(m.agent_name) || str(m.sender_name) || T.agent;
    // data-i: the avatar, the name's initial drawn by chat.css (hidden when admins turn avatars off)
    r.appendChild(h("div", "who", name)).dataset.i = name.trim().charAt(0).toUpperCase();
  }
  const b = h("div", "msg");
  const text = typeof m.display === "string" && m.display ? m.display : m.text;
  if (m.attachment && typeof m.attachment === "object") b.appendChild(attachmentEl(m.attachment, lang, fileUrl));
  else if (who === "me" || who === "sys") b.textContent = text == null ? "" : String(text);
  else b.appendChild(markdown(text));
  r.appendChild(b);
  if (m.kb && typeof m.kb.title === "string" && m.kb.title) r.appendChild(h("div", "src", T.from + m.kb.title));
  return r;
}

// Insert a row by seq; rows without a seq (visitor messages still sending) stay last; a message
// that failed keeps its place (data-pos: just after the seq shown when it failed).
function place(r, seq) {
  r.dataset.seq = seq;
  r.remove();
  let before = null;
  for (let c = log.lastElementChild; c; c = c.previousElementSibling) {
    if ((+c.dataset.seq || +c.dataset.pos || Infinity) > seq) before = c;
    else break;
  }
  log.insertBefore(r, before);
}

function setStatus(r, text, cls) {
  let st = r.querySelector(".st");
  r.classList.remove("pending", "failed");
  if (cls) r.classList.add(cls);
  if (!text) return st && st.remove();
  if (!st) r.appendChild((st = h("div", "st")));
  st.textContent = text;
}

/** Show a stored message (from the server) once, in seq order. Returns true if it was new. */
function show(m, live) {
  if (!m || typeof m !== "object") return false;
  const seq = +m.seq;
  if (!(seq > 0)) {
    // a plain Rasa server sends no seq: just append
    if (m.text == null && !m.quick_replies) return false;
    log.appendChild(row(m));
    return true;
  }
  if (bySeq.has(seq)) return false;
  let r = m.client_id && byCid.get(m.client_id);
  if (r && r.dataset.seq) return false; // already shown under its seq
  if (r) setStatus(r); // our own message, stored: no longer "sending"
  else {
    r = row(m);
    if (m.client_id) byCid.set(m.client_id, r);
  }
  bySeq.set(seq, { r, m });
  place(r, seq);
  if (seq > maxSeq) maxSeq = seq;
  if (m.sender !== "visitor") {
    showTyping(false);
    if (live && !visible) unread++;
  }
  return true;
}

// Called after every batch of changes.
function after(force) {
  // quick replies: under the latest message only, if it is the bot's/agent's
  if (qrBox) qrBox.remove();
  qrBox = null;
  const last = log.lastElementChild;
  const e = last && bySeq.get(+last.dataset.seq);
  const qr = e && e.m.sender !== "visitor" && hs !== "closed" && Array.isArray(e.m.quick_replies) ? e.m.quick_replies : [];
  for (const q of qr.slice(0, 12)) {
    if (!q || typeof q.title !== "string" || !q.title) continue;
    if (!qrBox) {
      qrBox = h("div", "qr");
      qrBox.setAttribute("role", "group");
      qrBox.setAttribute("aria-label", T.replies);
    }
    const b = h("button", "", q.title);
    b.type = "button";
    b.onclick = () => {
      const payload = typeof q.payload === "string" && q.payload ? q.payload : q.title;
      if (qrBox) qrBox.remove();
      qrBox = null;
      submit(payload, q.title);
    };
    qrBox.appendChild(b);
  }
  if (qrBox) last.appendChild(qrBox);
  empty.hidden = !!log.firstElementChild;
  showEnd();
  toBottom(force);
  if (!visible) toParent({ type: "unread", count: unread });
}

function forgetTranscript() {
  for (const { r } of bySeq.values()) r.remove();
  bySeq.clear();
  for (const [cid, r] of byCid) if (!r.isConnected) byCid.delete(cid);
  maxSeq = 0;
  after();
}

function showTyping(on, agent) {
  clearTimeout(typingTimer);
  $("tlabel").textContent = agent ? fill(T.agentTyping, { name: agentName || T.agent }) : T.typing;
  typing.hidden = !on;
  if (on) {
    typingTimer = setTimeout(() => showTyping(false), 30000); // never spin forever
    toBottom();
  }
}

// ---------------------------------------------------------------- handoff: banner, offline form, end, rating
// hs: what the server last said (docs/protocol.md, `handoff`): bot | requested | queued | assigned |
// offline | closed. The conversation's own state names (session_state.state) map onto it.
let hs = "bot";
let agentName = null;
let queue = null; // {position, estimated_wait_s}
let messageLeft = false; // an offline message was left in this offline episode
let rated = false;
let sentTo = ""; // the e-mail of the offline message sent from this page
const STATES = { offline_form: "offline", rated: "closed", ended: "closed" };

function say(text) {
  // the polite live region: screen readers announce changes of the banner and the chat's end
  if (text && live$.textContent !== text) live$.textContent = text;
}

function applyHandoff(s) {
  if (typeof s === "string") s = { state: s, rated: s === "rated" };
  if (!s || typeof s !== "object" || typeof s.state !== "string") return;
  const before = hs;
  const st = STATES[s.state] || s.state;
  if (["bot", "requested", "queued", "assigned", "offline", "closed"].indexOf(st) < 0) return;
  hs = st;
  if (st === "assigned") agentName = s.agent && str(s.agent.name) ? s.agent.name : null;
  if (st === "queued") queue = s.position > 0 ? s : queue && before === "queued" ? queue : null;
  if (st === "offline") messageLeft = before === "offline" && messageLeft ? true : !!s.message_left;
  if (st === "offline" && s.visitor && typeof s.visitor === "object") {
    // what the chat already knows, so the form does not ask it again (never over what was typed)
    if (!$("oname").value && str(s.visitor.name)) $("oname").value = s.visitor.name.slice(0, 100);
    if (!$("oemail").value && str(s.visitor.email)) $("oemail").value = s.visitor.email.slice(0, 254);
  }
  if (st === "closed") rated = !!s.rated;
  if (st !== "assigned") showTyping(false);
  if (st !== before && before === "closed") resetEnd();
  render(before);
  after(); // quick replies go away once the chat has ended
}

function render(before) {
  const st = hs;
  let text = "";
  if (st === "requested") text = T.waiting;
  else if (st === "queued") {
    if (queue) {
      const est = +queue.estimated_wait_s;
      text =
        fill(T.queuePos, { n: queue.position }) +
        (est > 0 ? (est < 60 ? T.queueSoon : fill(T.queueEst, { m: Math.round(est / 60) })) : ".") +
        T.meanwhile;
    } else text = T.waiting;
  } else if (st === "assigned") text = agentName ? fill(T.withAgent, { name: agentName }) : T.withTeam;
  else if (st === "offline") text = messageLeft ? T.offLeft : T.offline;
  btext.textContent = text;
  banner.hidden = !text;
  // "We usually reply in a few minutes" is not true while nobody is online
  const sub = d.querySelector(".ht p");
  if (sub) {
    if (sub.dataset.usual == null) sub.dataset.usual = sub.textContent;
    sub.textContent = st === "offline" ? T.offIntro : sub.dataset.usual;
  }
  leaveBtn.hidden = st !== "queued";
  attach.show(st === "queued" || st === "assigned"); // files go to a person, not the bot
  say(text || (st === "closed" && before !== "closed" ? (rated ? T.ended : T.endedAsk) : st === "bot" && before && before !== "bot" && before !== "closed" ? T.backToBot : ""));

  const open = st !== "closed";
  showEnd();
  if (!open) confirmBar.hidden = true;
  offForm.hidden = st !== "offline" || messageLeft;
  offOk.hidden = st !== "offline" || !messageLeft;
  if (!offOk.hidden)
    offOk.textContent = sentTo ? fill(T.offSent, { email: sentTo }) + (offOk.dataset.mail ? T.offSentMail : "") : T.offLeft;
  rateForm.hidden = open || rated;
  thanks.hidden = open || !rated;
  form.hidden = !open;
  ended.hidden = open;
  // the composer went away under the visitor's fingers: keep the focus in the chat (never take it
  // from the shop's page: only when this frame has it)
  if (!open && before !== "closed" && d.hasFocus() && (d.activeElement === input || d.activeElement === d.body))
    (rated ? $("newchat") : $("s1")).focus();
  toBottom();
}

function showEnd() {
  // "End chat" once there is something to end
  endBtn.hidden = hs === "closed" || (hs === "bot" && !bySeq.size);
}

function resetEnd() {
  // a new conversation: forget the last one's offline form and rating
  messageLeft = rated = false;
  sentTo = "";
  delete offOk.dataset.mail;
  rateForm.reset();
  paintStars();
  for (const id of ["rateE", "offE", "onameE", "oemailE", "omsgE"]) $(id).textContent = "";
}

// ---------------------------------------------------------------- the host page (loader)
let visible = !embedded;
let unread = 0;
function toParent(msg) {
  if (!parentOrigin) return;
  msg.source = NS;
  try {
    window.parent.postMessage(msg, parentOrigin);
  } catch (e) {
    /* bad origin string */
  }
}
window.addEventListener("message", (e) => {
  const m = e.data;
  if (e.source !== window.parent || e.origin !== parentOrigin || !m || m.source !== NS) return;
  if (m.type === "open") {
    visible = true;
    unread = 0;
    if (m.page) page = cleanPage(m.page);
    if (typeof m.inv === "string" && m.inv) {
      empty.textContent = m.inv.slice(0, 300); // the invitation accepted (over the admins' greeting)
      empty.dataset.inv = "1";
    }
    if (m.focus) input.focus();
    toBottom(true);
  } else if (m.type === "hidden") visible = false;
});
function closePanel() {
  toParent({ type: "close" });
}
if (parentOrigin) $("close").hidden = false;
$("close").onclick = closePanel;
d.addEventListener("keydown", (e) => {
  if (e.key === "Escape" && !e.isComposing) closePanel();
});

// ---------------------------------------------------------------- language switch
// One button in the header names the other language; pressing it tells the server (the bot answers
// in it from now on, agents see it) and reloads the chat in it (the conversation survives reloads).
const otherLang = lang === "el" ? "en" : "el";
const langBtn = h("button", "end", otherLang === "el" ? "ΕΛ" : "EN");
langBtn.type = "button";
langBtn.id = "lang";
langBtn.lang = otherLang;
langBtn.title = T.switchLang;
langBtn.setAttribute("aria-label", T.switchLang);
endBtn.parentNode.insertBefore(langBtn, endBtn);
langBtn.addEventListener("click", () => {
  put(LANG_KEY, otherLang);
  const reload = () => location.reload();
  if (ready && sid) socket.timeout(3000).emit("set_language", { language: otherLang }, reload);
  else reload();
});

// ---------------------------------------------------------------- socket
const socket = io({
  transports: ["websocket", "polling"],
  tryAllTransports: true, // fall back to long-polling where WebSocket is blocked
  autoConnect: !previewView, // the admins' preview of the appearance talks to nobody
});
let gen = 0; // bumps on every connect/disconnect: callbacks of an older connection are ignored
let ready = false; // session confirmed and first resync done on this connection
let resyncing = 0;
let sendingCid = null;
let sessionRetries = 0;

// `extensions: true`: this client wants the whole protocol (ids, seq, kb, handoff events...); a
// client that does not ask gets only what Rasa's socket.io channel sends (docs/protocol.md).
function requestSession() {
  socket.emit("session_request", { session_id: sid || null, extensions: true, page, language: lang, visitor_id: vid });
}

function sessionError(code) {
  if (SESSION_ERRORS.indexOf(code) < 0) return false;
  ready = false;
  if (code === "unknown_session") {
    sid = null;
    put(SID_KEY, null);
    forgetTranscript();
  }
  if (sessionRetries++ < 5) requestSession();
  return true;
}

socket.on("connect", () => {
  gen++;
  ready = false;
  resyncing = 0;
  sendingCid = null;
  sessionRetries = 0;
  conn.hidden = true;
  requestSession();
});

socket.on("disconnect", (reason) => {
  gen++;
  ready = false;
  resyncing = 0;
  sendingCid = null;
  conn.hidden = false;
  showTyping(false);
  if (reason === "io server disconnect") socket.connect(); // the server closed us: come back
});
socket.on("connect_error", () => {
  conn.hidden = false;
});

socket.on("session_confirm", (id) => {
  if (id && typeof id === "object") id = id.session_id;
  if (typeof id !== "string" || !id) return;
  if (sid && id !== sid) forgetTranscript(); // another conversation: start clean
  sid = id;
  put(SID_KEY, id);
  resync();
});

socket.on("session_state", (s) => {
  if (!s || typeof s !== "object") return;
  applyHandoff(s.handoff || s.state);
  if (ready && !resyncing && +s.last_seq > maxSeq) resync();
});

socket.on("handoff", (s) => (s && s.state === "prechat" ? prechat(s.reason) : applyHandoff(s)));
socket.on("agent_typing", (t) => {
  if (t && str(t.agent_name)) agentName = t.agent_name;
  showTyping(!!(t && t.typing), true);
});

socket.on("error", (e) => {
  if (e && typeof e === "object") sessionError(e.code);
});

socket.on("bot_typing", (t) => showTyping(!!(t && t.typing)));

function live(m) {
  if (!m || typeof m !== "object") return;
  // a gap (a message we never got): fetch everything after what we have, in order
  if (ready && !resyncing && +m.seq > maxSeq + 1) return resync();
  if (show(m, true)) after();
}
socket.on("bot_uttered", (m) => {
  if (m && typeof m === "object" && !m.sender) m.sender = "bot";
  live(m);
});
socket.on("visitor_uttered", (m) => {
  if (m && typeof m === "object") m.sender = "visitor";
  live(m);
});

function resync() {
  if (!sid || !socket.connected) return;
  const g = gen;
  resyncing++;
  socket.timeout(ACK_MS).emit("resync", { session_id: sid, after_seq: maxSeq }, (err, ack) => {
    if (g !== gen) return;
    resyncing--;
    if (err) return void setTimeout(() => g === gen && resync(), RETRY_MS);
    if (!ack || !ack.ok) {
      const code = ack && ack.error && ack.error.code;
      if (!sessionError(code)) setTimeout(() => g === gen && resync(), RETRY_MS);
      return;
    }
    const msgs = Array.isArray(ack.messages) ? ack.messages.slice() : [];
    msgs.sort((a, b) => (a && b ? a.seq - b.seq : 0));
    for (const m of msgs) show(m, initialSynced);
    initialSynced = true;
    log.removeAttribute("aria-busy");
    after();
    if (!ready) {
      ready = true;
      flush();
      // the pre-chat form, when an admin switched it on (widget/src/prechat.js)
      prechat();
    }
  });
}
// the pre-chat form (widget/src/prechat.js): due at the start, or before a person (`reason`)
function prechat(reason) {
  maybePrechat({ sid, lang, box: scroller, composer: form, get, put, done: () => input.focus(), reason,
                 fresh: () => maxSeq === 0 && !outbox().length });
}
let initialSynced = false; // the first resync of this page brings old history: not "unread"

// ---------------------------------------------------------------- sending
function pendingRow(item) {
  const r = row({ sender: "visitor", text: item.display || item.message });
  setStatus(r, T.sending, "pending");
  byCid.set(item.client_id, r);
  log.appendChild(r);
  return r;
}

function submit(message, display) {
  if (!message.trim()) return;
  const item = { client_id: uuid(), message };
  toParent({ type: "sent" }); // the loader counts a chat started after an invitation
  if (display) item.display = display;
  saveOutbox(outbox().concat(item));
  pendingRow(item);
  after(true);
  flush();
}

// One message in flight at a time, in order. A message leaves the outbox only when the server
// acknowledged it (ok or a definite error); a resend after a lost ack reuses its client_id and the
// server stores it once ("duplicate": true), and the bot answers it if it had not yet.
function flush() {
  if (!ready || sendingCid || !socket.connected) return;
  const item = outbox()[0];
  if (!item) return;
  const cid = (sendingCid = item.client_id);
  if (!byCid.has(cid)) pendingRow(item), after(); // written by another tab
  const g = gen;
  const payload = { message: item.message, session_id: sid, client_id: cid };
  if (item.display) payload.display = item.display;
  socket.timeout(ACK_MS).emit("user_uttered", payload, (err, ack) => {
    if (g !== gen) return; // the connection changed; the new one sends it again
    sendingCid = null;
    if (err) return void setTimeout(() => g === gen && flush(), RETRY_MS); // no ack: retry, same id
    const r = byCid.get(cid);
    if (ack && ack.ok) {
      dropFromOutbox(cid);
      const seq = +ack.seq;
      if (r && !r.dataset.seq && seq > 0) {
        if (bySeq.has(seq)) r.remove(); // shown already (another tab's copy)
        else {
          const gap = seq > maxSeq + 1;
          setStatus(r);
          bySeq.set(seq, { r, m: { seq, sender: "visitor", client_id: cid } });
          place(r, seq);
          if (seq > maxSeq) maxSeq = seq;
          if (gap && !resyncing) resync();
        }
      } else if (r && !(seq > 0)) setStatus(r);
    } else {
      const error = (ack && ack.error) || {};
      if (sessionError(error.code)) return;
      dropFromOutbox(cid);
      if (r) {
        setStatus(r, T.notSent + (T[error.code] || error.message || T.error), "failed");
        r.dataset.pos = maxSeq + 0.5;
        byCid.delete(cid);
      }
    }
    after();
    flush();
  });
}

// ---------------------------------------------------------------- composer
function resize() {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight + 2, 128) + "px";
  const n = input.value.length;
  counter.hidden = n < MAX_LEN - 200;
  counter.className = "count" + (n > MAX_LEN ? " over" : "");
  counter.textContent = n > MAX_LEN ? n - MAX_LEN + T.over : MAX_LEN - n + T.left;
}
input.addEventListener("input", resize);
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
    e.preventDefault();
    send();
  }
});
form.addEventListener("submit", (e) => {
  e.preventDefault();
  send();
});
// chat.html ships the box disabled so that nothing typed before this script runs is lost to a
// default form submit; from here on Enter sends.
input.disabled = false;
function send() {
  const text = input.value;
  if (!text.trim() || text.length > MAX_LEN) return resize();
  input.value = "";
  resize();
  submit(text);
  sendTyping();
  input.focus();
}

// The draft, live, for the agent: only while a person is (about to be) there, throttled.
let typingAt = 0;
let typingLater = 0;
let lastDraft = "";
function sendTyping() {
  clearTimeout(typingLater);
  if (!ready || (hs !== "queued" && hs !== "assigned")) return;
  const draft = input.value.slice(0, MAX_LEN);
  if (draft === lastDraft) return;
  const wait = typingAt + TYPING_MS - Date.now();
  if (wait > 0) return void (typingLater = setTimeout(sendTyping, wait));
  typingAt = Date.now();
  lastDraft = draft;
  socket.emit("typing", { draft });
}
input.addEventListener("input", sendTyping);

// ---------------------------------------------------------------- files (attach.js, docs/attachments.md)
// The file's URL carries its `sig`, bound to this session: an <img> sends no session header.
function fileUrl(att, thumb) {
  const q = typeof att.sig === "string" ? "?sig=" + encodeURIComponent(att.sig) : "";
  return "/api/attachments/" + att.id + (thumb ? "/thumb" : "") + q;
}
function sendFile(file) {
  const r = row({ sender: "visitor", text: file.name });
  const bad = checkFile(file, lang);
  log.appendChild(r);
  if (bad) setStatus(r, T.notSent + bad, "failed");
  else setStatus(r, T.sending, "pending");
  after(true);
  if (bad || !sid) return;
  upload("/api/attachments", file, { "X-Session-Id": sid, "X-Client-Id": uuid() }).then(
    (ack) => {
      r.remove();
      if (show(ack.message, false)) after(true);
    },
    (err) => {
      setStatus(r, T.notSent + (err.message || T.error), "failed");
      after();
    }
  );
}
const attach = attachButton(form, $("send"), lang, sendFile);
// dropped or pasted files too, while the attach button shows (a person is there or coming)
dropZone(d.body, () => !attach.button.hidden, sendFile);

// ---------------------------------------------------------------- end, leave, offline form, rating
function act(event, payload, done) {
  // an action with an ack; done(ack) on success, done(null, error) otherwise
  if (!ready) return done(null, { code: "offline" });
  socket.timeout(ACK_MS).emit(event, payload, (err, ack) => {
    if (!err && ack && ack.ok) done(ack);
    else done(null, (ack && ack.error) || { code: err ? "timeout" : "error" });
  });
}

endBtn.onclick = () => {
  confirmBar.hidden = false;
  $("cfyes").focus();
};
function cancelEnd() {
  confirmBar.hidden = true;
  endBtn.focus();
}
$("cfno").onclick = cancelEnd;
confirmBar.addEventListener("keydown", (e) => {
  if (e.key === "Escape") {
    e.stopPropagation();
    cancelEnd();
  }
});
$("cfyes").onclick = () => {
  confirmBar.hidden = true;
  act("end_chat", {}, (ack, err) => {
    if (ack || (err && err.code === "not_open")) {
      applyHandoff({ state: "closed", rated: rated });
      const first = rateForm.querySelector("input");
      if (!rateForm.hidden && first) first.focus();
    }
  });
};
leaveBtn.onclick = () => act("leave_queue", {}, (ack) => ack && (applyHandoff(ack.state), input.focus()));
$("offno").onclick = () => act("leave_queue", {}, (ack) => ack && (applyHandoff(ack.state), input.focus()));

function fieldError(field, msg) {
  const e = $(field.id + "E");
  e.textContent = msg || "";
  if (msg) field.setAttribute("aria-invalid", "true");
  else field.removeAttribute("aria-invalid");
  return !msg;
}

offForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("oname");
  const email = $("oemail");
  const msg = $("omsg");
  const mail = email.value.trim();
  const okName = fieldError(name, name.value.length > 100 ? T.nameLong : "");
  const okMail = fieldError(email, mail.length > 254 || !EMAIL_RE.test(mail) || mail.includes("..") ? T.bad_email : "");
  const okMsg = fieldError(msg, !msg.value.trim() ? T.needMsg : msg.value.length > 4000 ? T.msgLong : "");
  $("offE").textContent = "";
  if (!(okName && okMail && okMsg)) return void (okName ? (okMail ? msg : email) : name).focus();
  const btn = $("offsend");
  btn.disabled = true;
  act("offline_message", { name: name.value.trim(), email: mail, message: msg.value }, (ack, err) => {
    btn.disabled = false;
    if (!ack) {
      const c = err.code;
      if (c === "bad_email") return void (fieldError(email, T.bad_email), email.focus());
      if (c === "empty_message" || c === "message_too_long")
        return void (fieldError(msg, c === "empty_message" ? T.needMsg : T.msgLong), msg.focus());
      $("offE").textContent = c === "rate_limited" ? T.offLimit : T.notSent + (err.message || T.error);
      return;
    }
    sentTo = mail;
    if (ack.email_confirmation) offOk.dataset.mail = "1";
    offForm.reset();
    messageLeft = true;
    render(hs);
    offOk.focus();
  });
});

// five radio buttons drawn as stars: arrow keys move, Space/click chooses
const starsBox = $("stars");
for (let n = 1; n <= 5; n++) {
  const i = h("input", "sr");
  i.type = "radio";
  i.name = "stars";
  i.id = "s" + n;
  i.value = n;
  const l = h("label", "");
  l.htmlFor = i.id;
  l.appendChild(h("span", "", "★")).setAttribute("aria-hidden", "true");
  l.appendChild(h("span", "sr", fill(T.star, { n })));
  starsBox.append(i, l);
}
function chosen() {
  const c = rateForm.querySelector("input:checked");
  return c ? +c.value : 0;
}
function paintStars() {
  const n = chosen();
  for (const l of starsBox.querySelectorAll("label")) l.classList.toggle("on", +l.htmlFor.slice(1) <= n);
}
starsBox.addEventListener("change", () => {
  paintStars();
  $("rateE").textContent = "";
});
rateForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const stars = chosen();
  if (!stars) return void (($("rateE").textContent = T.needStars), $("s1").focus());
  const btn = $("ratesend");
  btn.disabled = true;
  const comment = $("rcom").value.trim();
  act("rate", comment ? { stars, comment } : { stars }, (ack, err) => {
    btn.disabled = false;
    if (ack || err.code === "already_rated") {
      rated = true;
      render(hs);
      $("newchat").focus();
    } else $("rateE").textContent = T.notSent + (err.message || T.error);
  });
});

// A new conversation (after the end): a new session on the same connection.
function newChat(id) {
  gen++; // callbacks of the old conversation are ignored
  ready = false;
  sendingCid = null;
  resyncing = 0;
  forgetTranscript();
  sid = id || null;
  if (!id) put(SID_KEY, null);
  hs = "bot";
  resetEnd();
  render("closed");
  if (socket.connected) requestSession();
}
$("newchat").onclick = () => {
  newChat();
  input.focus();
};
// another tab of this visitor started a new chat: follow it
window.addEventListener("storage", (e) => {
  if (e.key === SID_KEY && e.newValue && e.newValue !== sid) newChat(e.newValue);
});

// ---------------------------------------------------------------- start
log.setAttribute("aria-busy", "true"); // don't read the whole history aloud while it loads
for (const item of outbox()) pendingRow(item); // unsent messages from before a reload
render();
after(true);
// the admins' appearance settings (look.js), or their live preview on the console's Widget page
const lookOpts = { lang, T, D, cfg, after: () => render(hs) };
if (previewView) preview(previewView, lookOpts, { parentOrigin, show, after, applyHandoff });
else loadLook(lookOpts);
toParent({ type: "ready" });
