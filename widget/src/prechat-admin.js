// The console's "Pre-chat form" page for admins: when the widget asks for details before a chat
// (off, before every chat, before a chat with a person only), which fields (name, e-mail, phone,
// order number, consent with the privacy link, a choice list with its options), which are required,
// and the texts in English and Greek. Saved with PUT /api/engage/prechat; engage/prechat.py checks
// it all again and names the field of any error, shown here by that field.
import { $, clear, h, toast } from "./ui.js";

const KINDS = [
  ["name", "Name"],
  ["email", "E-mail"],
  ["phone", "Phone"],
  ["order", "Order number"],
  ["consent", "Consent (privacy policy)"],
  ["choice", "Choice list"],
];
const LANGS = [["en", "English"], ["el", "Greek"]];
const TEXTS = [["title", "Title", 300], ["intro", "Introduction", 300], ["submit", "Button", 300]];
const BAD = "#b3261e";
let api = null;
let built = false;

function input(name, props) {
  return h("input", { name, id: "pc-" + name, ...props });
}

function fieldRow([kind, title]) {
  const cells = [
    h("th", { scope: "row", text: title }),
    h("td", {}, h("label", { class: "field" }, input("ask_" + kind, { type: "checkbox" }), "Ask")),
    h("td", {}, h("label", { class: "field" }, input("req_" + kind, { type: "checkbox" }), "Required")),
    ...LANGS.map(([lang, lname]) =>
      h("td", {}, input(`label_${kind}_${lang}`, { maxlength: 100, placeholder: "default", "aria-label": `${title}: label (${lname})` }))),
  ];
  let extra = h("td");
  if (kind === "consent")
    extra = h("td", {}, input("privacy_url", { type: "url", maxlength: 500, placeholder: "https://shop.example/privacy", "aria-label": "Privacy policy address" }));
  if (kind === "choice")
    extra = h("td", {}, h("textarea", { name: "options", id: "pc-options", rows: 3, maxlength: 2100, placeholder: "One option a line", "aria-label": "Choice options, one a line" }));
  return h("tr", { id: "pc-row-" + kind }, ...cells, extra);
}

function build() {
  const view = $("view-prechat");
  const form = h("form", { id: "prechat-form", novalidate: true });
  form.append(
    h("div", { class: "settings" },
      h("label", {}, "Ask for details",
        h("select", { name: "mode", id: "pc-mode" },
          h("option", { value: "off", text: "Off" }),
          h("option", { value: "always", text: "Before every chat" }),
          h("option", { value: "person", text: "Before a chat with a person only" })))),
    h("h3", { text: "Fields" }),
    h("p", { class: "muted", text: "Fields asked, in this order. Labels left empty use the widget's own text in each language." }),
    h("div", { class: "tablewrap" },
      h("table", { class: "grid", id: "pc-fields" },
        h("thead", {}, h("tr", {}, ...["Field", "", "", "Label (English)", "Label (Greek)", "Settings"].map((t) => h("th", { text: t })))),
        h("tbody", {}, ...KINDS.map(fieldRow)))),
    h("h3", { text: "Texts" }),
    h("div", { class: "settings" },
      ...LANGS.flatMap(([lang, lname]) =>
        TEXTS.map(([key, title, max]) => h("label", {}, `${title} (${lname})`, input(`text_${key}_${lang}`, { maxlength: max, placeholder: "default" }))))),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "btn primary", id: "pc-save", text: "Save pre-chat form" }), " ",
      h("span", { id: "pc-msg", class: "msgline", role: "status" })),
  );
  clear(view).append(
    h("h2", { text: "Pre-chat form" }),
    h("p", { class: "muted", text: "Details the chat asks for before it starts, or only before a person takes it over. Agents see the answers in the chat's details; the handoff does not ask again for a name or e-mail it already has." }),
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
        throw { el: $("pc-privacy_url"), message: "The privacy policy address must start with http:// or https://" };
    }
    if (kind === "choice") {
      f.options = $("pc-options").value.split("\n").map((o) => o.trim()).filter(Boolean);
      if (!f.options.length) throw { el: $("pc-options"), message: `${title}: write at least one option, one a line` };
      if (f.options.length > 20) throw { el: $("pc-options"), message: `${title}: at most 20 options` };
      const long = f.options.find((o) => o.length > 100);
      if (long) throw { el: $("pc-options"), message: `${title}: “${long.slice(0, 30)}…” is longer than 100 characters` };
    }
    fields.push(f);
  }
  const mode = $("pc-mode").value;
  if (mode !== "off" && !fields.length) throw { el: $("pc-ask_name"), message: "Choose at least one field to ask, or switch the form off" };
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
    msg.textContent = cfg.mode === "off" ? "Saved: the form is off." : "Saved: the widget asks from the next chat on.";
    toast("Pre-chat form saved");
  } catch (err) {
    showError("Not saved: " + (err.message || "the server refused the settings"), errorInput(err, cfg));
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
    showError("Could not load the pre-chat form's settings: " + (e.message || "request failed"));
  }
}
