// The admins' appearance settings inside the chat (engage/appearance.py, docs/engage.md): colour,
// header title and subtitle, greeting, the offline form's texts, agents' avatars, custom CSS. The
// loader's data-color and data-title (cfg.c, cfg.t) win over them on their page. Every text is set
// as text; the CSS (checked by the server: no url(), no @import, nothing that loads) goes into a
// constructed stylesheet of this document only, which the chat page's CSP also keeps from fetching
// anything from elsewhere.
const d = document;
const $ = (id) => d.getElementById(id);
const COLOR_RE = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
let sheet = null;

/** Apply settings `a` for language `lang`; `T` is the chat's strings (offIntro is read again by
 *  its render()), `cfg` the loader's hash, `after()` re-renders what depends on them. */
export function applyLook(a, { lang, T, D, cfg, after }) {
  if (!a || typeof a !== "object") return;
  const t = (a.texts && typeof a.texts === "object" && a.texts[lang]) || {};
  const text = (k, fallback) => (typeof t[k] === "string" && t[k] ? t[k] : fallback);
  const root = d.documentElement;
  if (!cfg.c) {
    if (typeof a.color === "string" && COLOR_RE.test(a.color)) root.style.setProperty("--c", a.color);
    else root.style.removeProperty("--c");
  }
  if (!(typeof cfg.t === "string" && cfg.t.trim())) $("title").textContent = text("title", D.title);
  const sub = d.querySelector(".ht p");
  sub.dataset.usual = text("subtitle", D.subtitle);
  sub.textContent = sub.dataset.usual;
  // the greeting: what the chat shows before its first message (an accepted invitation wins)
  const empty = $("empty");
  if (!empty.dataset.inv) empty.textContent = text("greeting", D.empty);
  $("offh").textContent = text("offline_title", D.offTitle);
  T.offIntro = text("offline_intro", D.offIntro); // also the header's subtitle while offline
  d.querySelector("#off p").textContent = T.offIntro;
  root.classList.toggle("noav", a.avatars === false);
  const css = typeof a.css === "string" ? a.css : "";
  try {
    if (!sheet) {
      sheet = new CSSStyleSheet();
      d.adoptedStyleSheets = [...d.adoptedStyleSheets, sheet];
    }
    sheet.replaceSync(css);
  } catch (e) {
    /* an old browser: the chat without the custom CSS */
  }
  after();
}

/** The settings as saved, for a visitor's chat. */
export function loadLook(o) {
  fetch("../engage/appearance", { credentials: "omit" })
    .then((r) => r.json())
    .then((a) => applyLook(a, o))
    .catch(() => {});
}

const SAMPLE = {
  en: ["Where is my order?", "Let me check that for you. Could you give me your order number?", "Hi, I'm Maria. Your parcel left our warehouse this morning."],
  el: ["Πού είναι η παραγγελία μου;", "Ας το ελέγξω. Μου δίνετε τον αριθμό παραγγελίας;", "Γεια σας, είμαι η Μαρία. Το δέμα σας έφυγε σήμερα το πρωί."],
};

/** The admins' live preview (the console's Widget page frames this page with `preview` in the
 *  hash): no connection; sample content for the view asked for; the unsaved settings arrive by
 *  postMessage from the console (same origin) as the admin types. */
export function preview(view, o, { parentOrigin, show, after, applyHandoff }) {
  const s = SAMPLE[o.lang] || SAMPLE.en;
  if (view === "chat") {
    show({ sender: "visitor", text: s[0] });
    show({ sender: "bot", text: s[1] });
    show({ sender: "agent", agent_name: o.lang === "el" ? "Μαρία" : "Maria", text: s[2] });
    applyHandoff({ state: "assigned", agent: { name: o.lang === "el" ? "Μαρία" : "Maria" } });
  } else if (view === "offline") applyHandoff({ state: "offline" });
  after();
  window.addEventListener("message", (e) => {
    const m = e.data;
    if (e.source !== window.parent || e.origin !== parentOrigin || !m || m.source !== "shopchat") return;
    if (m.type === "look") applyLook(m.look, o);
  });
}
