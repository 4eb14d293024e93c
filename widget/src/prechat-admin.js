// The console's "Pre-chat form" page for admins: when the widget asks for details before a chat
// (off, before every chat, before a chat with a person only), which fields (name, e-mail, phone,
// order number, consent with the privacy link, a choice list with its options), which are required,
// and the texts in English and Greek. Saved with PUT /api/engage/prechat; engage/prechat.py checks
// it all again and names the field of any error, shown here by that field.
import { $, clear, h, toast } from "./ui.js";
import { T, live } from "./staff_i18n.js";

// the second of each pair: its name in the admin's language
const KINDS = [
  ["name", () => T("c.w.name")],
  ["email", () => T("c.a.email")],
  ["phone", () => T("c.f.phone")],
  ["order", () => T("c.f.order")],
  ["consent", () => T("c.pc.consent")],
  ["choice", () => T("c.pc.choice")],
];
const LANGS = [["en", () => T("c.lang.en")], ["el", () => T("c.lang.el")]];
const TEXTS = [["title", () => T("c.pc.title"), 300], ["intro", () => T("c.pc.intro"), 300], ["submit", () => T("c.pc.button"), 300]];
const BAD = "#b3261e";
let api = null;
let built = false;

function input(name, props) {
  return h("input", { name, id: "pc-" + name, ...props });
}

function fieldRow([kind, title]) {
  const cells = [
    live(h("th", { scope: "row" }), title),
    h("td", {}, h("label", { class: "field" }, input("ask_" + kind, { type: "checkbox" }), live(h("span"), () => T("c.pc.ask")))),
    h("td", {}, h("label", { class: "field" }, input("req_" + kind, { type: "checkbox" }), live(h("span"), () => T("c.pc.required")))),
    ...LANGS.map(([lang, lname]) =>
      h("td", {}, live(live(input(`label_${kind}_${lang}`, { maxlength: 100 }), () => T("c.pc.default"), "placeholder"),
        () => T("c.pc.label_of", { field: title(), lang: lname() }), "aria-label"))),
  ];
  let extra = h("td");
  if (kind === "consent")
    extra = h("td", {}, live(input("privacy_url", { type: "url", maxlength: 500, placeholder: "https://shop.example/privacy" }), () => T("c.pc.privacy_url"), "aria-label"));
  if (kind === "choice")
    extra = h("td", {}, live(live(h("textarea", { name: "options", id: "pc-options", rows: 3, maxlength: 2100 }), () => T("c.pc.options_ph"), "placeholder"), () => T("c.pc.options"), "aria-label"));
  return h("tr", { id: "pc-row-" + kind }, ...cells, extra);
}

function build() {
  const view = $("view-prechat");
  const form = h("form", { id: "prechat-form", novalidate: true });
  form.append(
    h("div", { class: "settings" },
      h("label", {}, live(h("span"), () => T("c.pc.mode")),
        h("select", { name: "mode", id: "pc-mode" },
          live(h("option", { value: "off" }), () => T("c.pc.off")),
          live(h("option", { value: "always" }), () => T("c.pc.always")),
          live(h("option", { value: "person" }), () => T("c.pc.person"))))),
    live(h("h3"), () => T("c.pc.fields")),
    live(h("p", { class: "muted" }), () => T("c.pc.fields_help")),
    h("div", { class: "tablewrap" },
      h("table", { class: "grid", id: "pc-fields" },
        h("thead", {}, h("tr", {}, ...[() => T("c.pc.field"), () => "", () => "", () => T("c.pc.label_en"), () => T("c.pc.label_el"), () => T("c.pc.settings")].map((t) => live(h("th"), t)))),
        h("tbody", {}, ...KINDS.map(fieldRow)))),
    live(h("h3"), () => T("c.pc.texts")),
    h("div", { class: "settings" },
      ...LANGS.flatMap(([lang, lname]) =>
        TEXTS.map(([key, title, max]) => h("label", {}, live(h("span"), () => `${title()} (${lname()})`),
          live(input(`text_${key}_${lang}`, { maxlength: max }), () => T("c.pc.default"), "placeholder"))))),
    h("div", { class: "actions" },
      live(h("button", { type: "submit", class: "btn primary", id: "pc-save" }), () => T("c.pc.save")), " ",
      h("span", { id: "pc-msg", class: "msgline", role: "status" })),
  );
  clear(view).append(
    live(h("h2"), () => T("c.nav.prechat")),
    live(h("p", { class: "muted" }), () => T("c.pc.help")),
    form,
  );
  const mode = $("pc-mode"); // its longest option whole, not cut to the grid's column
  Object.assign(mode.style, { width: "auto", alignSelf: "flex-start" });
  mode.parentNode.style.gridColumn = "1 / -1";
  form.addEventListener("submit", save);
  form.addEventListener("input", (e) => e.target.removeAttribute("aria-invalid"));
  for (const [kind] of KINDS) $("pc-ask_" + kind).addEventListener("change", () => syncRow(kind));
  built = true;
}

function syncRow(kind) {
  const ask = $("pc-ask_" + kind).checked;
  for (const el of $("pc-row-" + kind).querySelectorAll("input:not([name^=ask_]),textarea")) el.disabled = !ask;
}

function fill(cfg) {
  $("pc-mode").value = cfg.mode || "off";
  const byKind = Object.fromEntries((cfg.fields || []).map((f) => [f.kind, f]));
  for (const [kind] of KINDS) {
    const f = byKind[kind];
    $("pc-ask_" + kind).checked = !!f;
    $("pc-req_" + kind).checked = !!(f && f.required);
    for (const [lang] of LANGS) $(`pc-label_${kind}_${lang}`).value = (f && f.labels && f.labels[lang] && f.labels[lang].label) || "";
    syncRow(kind);
  }
  $("pc-privacy_url").value = (byKind.consent && byKind.consent.privacy_url) || "";
  $("pc-options").value = ((byKind.choice && byKind.choice.options) || []).join("\n");
  for (const [lang] of LANGS)
    for (const [key] of TEXTS) $(`pc-text_${key}_${lang}`).value = (cfg.texts && cfg.texts[lang] && cfg.texts[lang][key]) || "";
}

/** The settings as the form holds them, or throws {el, message} for what the server would refuse. */
function collect() {
  const fields = [];
  for (const [kind, title] of KINDS) {
    if (!$("pc-ask_" + kind).checked) continue;
    const labels = {};
    for (const [lang] of LANGS) {
      const label = $(`pc-label_${kind}_${lang}`).value.trim();
      if (label) labels[lang] = { label };
    }
    const f = { kind, required: $("pc-req_" + kind).checked, labels };
    if (kind === "consent") {
      f.privacy_url = $("pc-privacy_url").value.trim();
      if (f.privacy_url && !/^https?:\/\/\S+$/.test(f.privacy_url))
        throw { el: $("pc-privacy_url"), message: T("c.pc.bad_url") };
    }
    if (kind === "choice") {
      f.options = $("pc-options").value.split("\n").map((o) => o.trim()).filter(Boolean);
      if (!f.options.length) throw { el: $("pc-options"), message: T("c.pc.no_options", { field: title() }) };
      if (f.options.length > 20) throw { el: $("pc-options"), message: T("c.pc.too_many", { field: title() }) };
      const long = f.options.find((o) => o.length > 100);
      if (long) throw { el: $("pc-options"), message: T("c.pc.too_long", { field: title(), option: long.slice(0, 30) }) };
    }
    fields.push(f);
  }
  const mode = $("pc-mode").value;
  if (mode !== "off" && !fields.length) throw { el: $("pc-ask_name"), message: T("c.pc.no_fields") };
  const texts = {};
  for (const [lang] of LANGS) {
    const t = {};
    for (const [key] of TEXTS) {
      const v = $(`pc-text_${key}_${lang}`).value.trim();
      if (v) t[key] = v;
    }
    if (Object.keys(t).length) texts[lang] = t;
  }
  return { mode, fields, texts };
}

function showError(message, el) {
  const msg = $("pc-msg");
  msg.textContent = message;
  msg.style.color = BAD;
  msg.setAttribute("role", "alert");
  if (el) {
    el.setAttribute("aria-invalid", "true");
    el.focus();
  }
}

/** The input a server error names: "mode", "texts", or "fields" with "field N: ..." (N counts the asked fields). */
function errorInput(err, sent) {
  if (err.field === "mode") return $("pc-mode");
  const m = /^field (\d+)/.exec(err.message || "");
  const f = m && sent.fields[+m[1] - 1];
  if (!f) return null;
  if (f.kind === "consent" && /privacy/.test(err.message)) return $("pc-privacy_url");
  if (f.kind === "choice" && /options/.test(err.message)) return $("pc-options");
  return $("pc-ask_" + f.kind);
}

async function save(e) {
  e.preventDefault();
  const msg = $("pc-msg");
  msg.textContent = "";
  msg.style.color = "";
  msg.setAttribute("role", "status");
  let cfg;
  try {
    cfg = collect();
  } catch (bad) {
    return showError(bad.message, bad.el);
  }
  const btn = $("pc-save");
  btn.disabled = true;
  try {
    fill(await api("PUT", "/api/engage/prechat", cfg));
    msg.textContent = cfg.mode === "off" ? T("c.pc.saved_off") : T("c.pc.saved_on");
    toast(T("c.pc.saved"));
  } catch (err) {
    showError(T("common.not_saved", { error: err.message || T("c.pc.refused") }), errorInput(err, cfg));
  } finally {
    btn.disabled = false;
  }
}

export async function loadPrechatAdmin(apiFn) {
  api = apiFn;
  if (!built) build();
  try {
    fill(await api("GET", "/api/engage/prechat"));
  } catch (e) {
    showError(T("c.pc.load_failed", { error: e.message || T("common.failed") }));
  }
}
