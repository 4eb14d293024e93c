// The console's Widget page, "Appearance" (admins): the widget's look and texts per language
// (engage/appearance.py: GET/PUT /api/engage/appearance) with a live preview: the real chat page
// framed in its preview mode (look.js), sent the unsaved values as the admin types, and the
// launcher drawn here with them. Built here (no markup in console.html); its styles are a
// constructed stylesheet (the console's CSP allows no inline <style>).
import { $, h } from "./ui.js";
import { T, live } from "./staff_i18n.js";

const LANGS = { en: () => T("c.ap.texts_en"), el: () => T("c.ap.texts_el") };
const TEXTS = [
  ["launcher", () => T("c.ap.launcher"), 40, () => T("c.ap.launcher_ph")],
  ["title", () => T("c.ap.title"), 60, { en: "Chat with us", el: "Μιλήστε μαζί μας" }],
  ["subtitle", () => T("c.ap.subtitle"), 100, { en: "We usually reply in a few minutes", el: "Συνήθως απαντάμε σε λίγα λεπτά" }],
  ["greeting", () => T("c.ap.greeting"), 300, { en: "Hi! Ask us anything about orders, delivery or returns.", el: "Γεια σας! Ρωτήστε μας ό,τι θέλετε για παραγγελίες, αποστολές ή επιστροφές." }],
  ["offline_title", () => T("c.ap.offline_title"), 80, { en: "Leave us a message", el: "Αφήστε μας ένα μήνυμα" }],
  ["offline_intro", () => T("c.ap.offline_intro"), 300, { en: "We'll reply by e-mail as soon as we can.", el: "Θα σας απαντήσουμε με e-mail το συντομότερο." }],
];
const ICONS = { chat: () => T("c.ap.i_chat"), help: () => T("c.ap.i_help"), mail: () => T("c.ap.i_mail"), bag: () => T("c.ap.i_bag") };
// The same drawings as widget/src/loader.js ICONS.
const PATHS = {
  chat: '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/>',
  help: '<circle cx="12" cy="12" r="9"/><path d="M9.6 9.2a2.5 2.5 0 1 1 3.4 2.3c-.6.3-1 .8-1 1.5v.5M12 17h.01"/>',
  mail: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3.5 6.5l8.5 6 8.5-6"/>',
  bag: '<path d="M5 8h14l-1.2 12H6.2zM9 10V7a3 3 0 0 1 6 0v3"/>',
};
const DEFAULT_COLOR = "#1f5f4a";
const COLOR_RE = /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/;
const CSS = `
#view-widget > * { flex-shrink: 0; } /* a long page: its tables must not shrink to nothing (.view is a flex column) */
#appearance { display: grid; grid-template-columns: minmax(0, 1fr) 400px; gap: 1.2rem; align-items: start; margin-bottom: 1.5rem; }
#appearance .settings { margin: 0; }
#appearance h3 { margin: 0; }
#appearance label.switch { flex-direction: row; align-items: center; gap: .45rem; align-self: end; padding-bottom: .4rem; }
#appearance fieldset { grid-column: 1 / -1; border: 1px solid var(--line); border-radius: 8px; padding: .6rem .8rem .8rem; display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: .6rem 1rem; }
#appearance legend { font-weight: 600; padding: 0 .3rem; }
#appearance .wide { grid-column: 1 / -1; }
#appearance textarea[name=css] { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; min-height: 7rem; }
#appearance .colour { display: flex; gap: .4rem; align-items: center; }
#appearance .colour input[type=color] { width: 2.6rem; height: 2.1rem; padding: 0; border: 1px solid var(--line); border-radius: 6px; background: none; }
#appearance .colour input[name=color] { flex: 1; }
#appearance .msgline.bad { color: var(--bad); font-weight: 600; }
.ap-preview { position: sticky; top: .5rem; }
.ap-tabs { display: flex; gap: .3rem; flex-wrap: wrap; margin-bottom: .5rem; }
.ap-tabs .btn[aria-pressed=true] { background: var(--c); border-color: var(--c); color: #fff; }
.ap-shop { position: relative; height: 660px; border: 1px solid var(--line); border-radius: 10px; overflow: hidden;
  background: repeating-linear-gradient(135deg, #f4f6f5 0 14px, #eef1ef 14px 28px); }
.ap-shop iframe { position: absolute; bottom: 84px; right: 14px; width: 360px; height: 560px; border: 0; border-radius: 14px;
  background: #fff; box-shadow: 0 10px 34px rgba(0,0,0,.22); }
.ap-shop.left iframe { right: auto; left: 14px; }
.ap-launcher { position: absolute; bottom: 14px; right: 14px; height: 56px; min-width: 56px; border-radius: 28px; border: 0;
  display: flex; align-items: center; justify-content: center; gap: 8px; color: #fff; background: var(--ap-c, #1f5f4a);
  box-shadow: 0 4px 14px rgba(0,0,0,.25); font: 600 15px/1 system-ui, sans-serif; padding: 0; max-width: calc(100% - 28px); }
.ap-launcher.t { padding: 0 20px 0 16px; }
.ap-launcher span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ap-launcher svg { width: 26px; height: 26px; flex: none; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; }
.ap-shop.left .ap-launcher { right: auto; left: 14px; }
@media (max-width: 1100px) { #appearance { grid-template-columns: 1fr; } .ap-preview { position: static; } }
`;

let api = null;
let form = null;
let frame = null;
let view = "start";
let previewLang = "en";
let saved = null;
let sendTimer = 0;

let savedShown = false; // the "Saved" line is on (the next change clears it)

// label: a function giving the text in the current language
function field(label, input, cls) {
  return h("label", { class: cls || null }, live(h("span"), label), input);
}

function build() {
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  } catch (e) {
    /* unstyled but usable */
  }
  const picker = live(h("input", { type: "color", value: DEFAULT_COLOR }), () => T("c.ap.pick"), "aria-label");
  const color = live(h("input", { name: "color", maxlength: "7", spellcheck: "false" }), () => T("c.ap.default_colour", { colour: DEFAULT_COLOR }), "placeholder");
  picker.addEventListener("input", () => {
    color.value = picker.value;
    changed();
  });
  color.addEventListener("input", () => COLOR_RE.test(color.value.trim()) && (picker.value = full(color.value.trim())));
  form = h(
    "form",
    { id: "appearance-form", class: "settings", novalidate: true },
    live(h("h3", { class: "wide" }), () => T("c.ap.look")),
    h("label", {}, live(h("span"), () => T("c.ap.colour")), h("span", { class: "colour" }, picker, color)),
    field(() => T("c.ap.position"), h("select", { name: "position" },
      live(h("option", { value: "right" }), () => T("c.ap.right")), live(h("option", { value: "left" }), () => T("c.ap.left")))),
    field(() => T("c.ap.icon"), h("select", { name: "launcher_icon" }, ...Object.entries(ICONS).map(([v, t]) => live(h("option", { value: v }), t)))),
    h("label", { class: "switch" }, h("input", { type: "checkbox", name: "avatars" }), " ", live(h("span"), () => T("c.ap.avatars"))),
    ...Object.entries(LANGS).map(([lang, name]) =>
      h(
        "fieldset",
        { dataset: { lang } },
        live(h("legend"), name),
        ...TEXTS.map(([key, label, max, ph]) => {
          // the widget's own texts are the visitor's language's (content); "none: the icon only" is the admin's
          const attrs = { name: `t_${lang}_${key}`, maxlength: String(max), placeholder: typeof ph === "function" ? null : ph[lang], lang };
          const input = key === "greeting" || key === "offline_intro" ? h("textarea", { ...attrs, rows: "2" }) : h("input", attrs);
          if (typeof ph === "function") live(input, ph, "placeholder");
          input.addEventListener("focus", () => setPreview(null, lang));
          return field(label, input, key === "greeting" || key === "offline_intro" ? "wide" : null);
        })
      )
    ),
    field(() => T("c.ap.css"),
      h("textarea", { name: "css", rows: "6", spellcheck: "false", placeholder: ".msg { border-radius: 6px; }" }), "wide"),
    h("div", { class: "actions" },
      live(h("button", { type: "submit", class: "btn primary" }), () => T("c.ap.save")), " ",
      live(h("button", { type: "button", class: "btn", id: "appearance-reset" }), () => T("c.ap.undo")), " ",
      h("span", { id: "appearance-msg", class: "msgline", role: "status" }))
  );
  const tabs = h("div", { class: "ap-tabs", role: "group" },
    ...[["start", () => T("c.ap.p_start")], ["chat", () => T("c.ap.p_chat")], ["offline", () => T("c.ap.p_offline")]].map(([v, t]) =>
      live(h("button", { type: "button", class: "btn small", dataset: { view: v }, onclick: () => setPreview(v, null) }), t)),
    ...Object.keys(LANGS).map((l) =>
      h("button", { type: "button", class: "btn small", dataset: { plang: l }, text: l.toUpperCase(), onclick: () => setPreview(null, l) })));
  live(tabs, () => T("c.ap.preview"), "aria-label");
  const launcher = h("button", { type: "button", class: "ap-launcher", id: "ap-launcher", tabindex: "-1" });
  const shop = h("div", { class: "ap-shop", id: "ap-shop" }, launcher);
  const section = h("section", { id: "appearance" },
    h("div", {}, live(h("h2"), () => T("c.ap.heading")),
      live(h("p", { class: "muted" }), () => T("c.ap.help")),
      form),
    h("div", { class: "ap-preview" }, live(h("h2"), () => T("c.ap.preview")), tabs, shop,
      live(h("p", { class: "muted" }), () => T("c.ap.preview_help"))));
  const view$ = $("view-widget");
  view$.insertBefore(section, view$.firstChild);

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", save);
  $("appearance-reset").onclick = () => saved && fill(saved);
  window.addEventListener("message", (e) => {
    const m = e.data;
    if (frame && e.source === frame.contentWindow && e.origin === location.origin && m && m.source === "shopchat" && m.type === "ready") send();
  });
}

const full = (c) => (c.length === 4 ? "#" + c[1] + c[1] + c[2] + c[2] + c[3] + c[3] : c).toLowerCase();

/** The form's values as the API takes them. */
function values() {
  const f = form.elements;
  const texts = {};
  for (const lang of Object.keys(LANGS)) {
    for (const [key] of TEXTS) {
      const v = f[`t_${lang}_${key}`].value;
      if (v.trim()) (texts[lang] = texts[lang] || {})[key] = v;
    }
  }
  return { color: f.color.value.trim(), position: f.position.value, launcher_icon: f.launcher_icon.value,
           avatars: f.avatars.checked, css: f.css.value, texts };
}

function fill(a) {
  const f = form.elements;
  f.color.value = a.color || "";
  form.querySelector("input[type=color]").value = a.color ? full(a.color) : DEFAULT_COLOR;
  f.position.value = a.position;
  f.launcher_icon.value = a.launcher_icon;
  f.avatars.checked = a.avatars !== false;
  f.css.value = a.css || "";
  for (const lang of Object.keys(LANGS))
    for (const [key] of TEXTS) f[`t_${lang}_${key}`].value = ((a.texts || {})[lang] || {})[key] || "";
  changed();
}

function drawLauncher(a) {
  const shop = $("ap-shop");
  const l = $("ap-launcher");
  shop.classList.toggle("left", a.position === "left");
  l.style.setProperty("--ap-c", COLOR_RE.test(a.color) ? a.color : DEFAULT_COLOR);
  l.innerHTML = `<svg viewBox="0 0 24 24" aria-hidden="true">${PATHS[a.launcher_icon] || PATHS.chat}</svg>`; // static markup
  const text = ((a.texts || {})[previewLang] || {}).launcher || "";
  if (text) l.appendChild(h("span", { text }));
  l.classList.toggle("t", !!text);
  live(l, () => (text ? T("c.ap.launcher_preview_text", { text }) : T("c.ap.launcher_preview")), "aria-label");
}

function send() {
  if (frame && frame.contentWindow) frame.contentWindow.postMessage({ source: "shopchat", type: "look", look: values() }, location.origin);
}

function changed() {
  const a = values();
  drawLauncher(a);
  clearTimeout(sendTimer);
  sendTimer = setTimeout(send, 60);
  const msg = $("appearance-msg");
  if (saved && savedShown) {
    savedShown = false;
    msg.textContent = "";
  }
}

/** Show the real chat page in preview mode: view start | chat | offline, in a language. */
function setPreview(v, lang) {
  if ((v == null || v === view) && (lang == null || lang === previewLang) && frame) return;
  if (v != null) view = v;
  if (lang != null) previewLang = lang;
  for (const b of document.querySelectorAll(".ap-tabs [data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
  for (const b of document.querySelectorAll(".ap-tabs [data-plang]")) b.setAttribute("aria-pressed", String(b.dataset.plang === previewLang));
  if (frame) frame.remove();
  frame = live(h("iframe", { id: "ap-frame" }), () => T("c.ap.frame"), "title");
  frame.src = `/widget/chat.html?preview=${Date.now()}#` + encodeURIComponent(JSON.stringify({ o: location.origin, l: previewLang, preview: view }));
  $("ap-shop").insertBefore(frame, $("ap-launcher"));
  drawLauncher(values());
}

async function save(e) {
  e.preventDefault();
  const msg = $("appearance-msg");
  msg.classList.remove("bad");
  try {
    saved = await api("PUT", "/api/engage/appearance", values());
    fill(saved);
    msg.textContent = T("c.ap.saved");
    savedShown = true;
  } catch (err) {
    msg.classList.add("bad");
    msg.textContent = T("common.not_saved", { error: err.message });
    const name = err.field && (err.field.startsWith("texts.") ? "t_" + err.field.slice(6).replace(".", "_") : err.field);
    const input = name && form.elements[name];
    if (input && input.focus) input.focus();
  }
}

/** Load the section (admins only); `apiFn` is the console's API helper. */
export async function loadAppearance(apiFn) {
  api = apiFn;
  if (!form) build();
  saved = await api("GET", "/api/engage/appearance");
  fill(saved);
  setPreview(view, previewLang);
}
