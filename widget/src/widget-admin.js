// The console's "Widget" page for admins: the widget's appearance (appearance-admin.js), invitation
// rules (engage/rules.py says what each field means) and what became of the invitations
// (GET /api/engage/report).
import { $, clear, h, str, toast } from "./ui.js";
import { loadAppearance } from "./appearance-admin.js";
import { T, live } from "./staff_i18n.js";

const FIELDS = ["name", "url_pattern", "min_time_on_page_s", "min_pages_seen", "visitor", "referrer_contains", "when", "cap_hours"];
const NUMBERS = ["min_time_on_page_s", "min_pages_seen", "cap_hours"];
let api = null;
let editing = null; // the rule id in the form, or null for a new one

function summary(r) {
  const parts = [r.url_pattern ? T("c.w.s_url", { url: r.url_pattern }) : T("c.w.s_any_page")];
  if (r.min_time_on_page_s) parts.push(T("c.w.s_after", { n: r.min_time_on_page_s }));
  if (r.min_pages_seen) parts.push(T("c.w.s_pages", { n: r.min_pages_seen }));
  if (r.visitor === "new") parts.push(T("c.w.s_new"));
  else if (r.visitor === "returning") parts.push(T("c.w.s_returning"));
  else if (r.visitor !== "any") parts.push(r.visitor);
  if (r.referrer_contains) parts.push(T("c.w.s_referrer", { text: r.referrer_contains }));
  parts.push(r.when === "always" ? T("c.w.show_always") : T("c.w.show_online"));
  parts.push(T("c.w.s_cap", { n: r.cap_hours }));
  return parts.join(" · ");
}

function fillForm(r) {
  const f = $("rule-form");
  editing = r ? r.id : null;
  for (const k of FIELDS) f.elements[k].value = r ? r[k] : { visitor: "any", when: "online", cap_hours: 24 }[k] ?? (NUMBERS.includes(k) ? 0 : "");
  f.elements.enabled.checked = r ? r.enabled : true;
  const m = (r && r.messages) || {};
  f.elements.msg_en.value = m.en || "";
  f.elements.msg_el.value = m.el || "";
  live($("rule-form-title"), () => (r ? T("c.w.edit_title", { name: r.name }) : T("c.w.new_title")));
  $("rule-msg").textContent = "";
}

async function loadRules() {
  const { rules } = await api("GET", "/api/engage/rules");
  const tb = clear($("rules").tBodies[0]);
  $("rules-empty").hidden = rules.length > 0;
  for (const r of rules) {
    tb.appendChild(
      h(
        "tr",
        {},
        h("td", {}, h("b", { text: r.name }), r.enabled ? null : h("div", { class: "muted", text: T("c.w.off") })),
        h("td", { text: summary(r) }),
        h("td", { text: Object.entries(r.messages || {}).map(([l, t]) => `${l}: ${t}`).join("\n"), class: "pre" }),
        h(
          "td",
          { class: "acts" },
          h("button", { type: "button", class: "btn small", text: T("common.edit"), onclick: () => fillForm(r) }),
          h("button", {
            type: "button",
            class: "btn small",
            text: T("common.delete"),
            onclick: async () => {
              await api("DELETE", `/api/engage/rules/${r.id}`);
              toast(T("c.w.deleted", { name: r.name }));
              if (editing === r.id) fillForm(null);
              loadRules();
            },
          })
        )
      )
    );
  }
}

async function loadReport() {
  const r = await api("GET", `/api/engage/report?days=${$("inv-days").value}`);
  const t = r.totals;
  const rate = (a, b) => (b ? Math.round((100 * a) / b) + "%" : "–");
  $("inv-summary").textContent = T("c.w.summary", {
    shown: t.shown, accepted: t.accepted, accepted_rate: rate(t.accepted, t.shown), dismissed: t.dismissed,
    started: t.chat_started, started_rate: rate(t.chat_started, t.shown),
  });
  const tb = clear($("inv-sources").tBodies[0]);
  for (const s of r.sources)
    tb.appendChild(h("tr", {}, h("td", { text: s.source }), ...["shown", "accepted", "dismissed", "chat_started"].map((k) => h("td", { class: "num", text: String(s[k]) }))));
}

/** Show the page (admins only); `apiFn` is the console's API helper. */
export async function loadWidgetAdmin(apiFn) {
  api = apiFn;
  if (!$("rule-form").dataset.wired) wire();
  try {
    await Promise.all([loadAppearance(apiFn), loadRules(), loadReport()]);
  } catch (e) {
    toast(e.message || T("c.w.load_failed"), "bad");
  }
}

/** The page's lists again in the current language (a language switch). */
export function relabelWidgetAdmin() {
  if (!api || !$("rule-form").dataset.wired) return;
  loadRules().catch(() => {});
  loadReport().catch(() => {});
}

function wire() {
  const f = $("rule-form");
  f.dataset.wired = "1";
  fillForm(null);
  $("rule-new").onclick = () => fillForm(null);
  $("inv-days").onchange = loadReport;
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { enabled: f.elements.enabled.checked, messages: {} };
    for (const k of FIELDS) body[k] = NUMBERS.includes(k) ? Number(f.elements[k].value) : f.elements[k].value;
    for (const l of ["en", "el"]) if (f.elements["msg_" + l].value.trim()) body.messages[l] = f.elements["msg_" + l].value;
    try {
      const saved = await api(editing ? "PUT" : "POST", editing ? `/api/engage/rules/${editing}` : "/api/engage/rules", body);
      $("rule-msg").textContent = T("c.w.saved", { name: str(saved.name) });
      editing = saved.id;
      loadRules();
    } catch (err) {
      $("rule-msg").textContent = err.message;
      const field = err.field && f.elements[err.field === "messages" ? "msg_en" : err.field];
      if (field) field.focus();
    }
  });
}
