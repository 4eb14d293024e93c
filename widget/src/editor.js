// The knowledge-base editor (served at /editor/), for content editors and admins. Speaks the HTTP
// API of docs/editor.md (/api/kb/...). Everything that comes from the server is set with
// textContent; article bodies are rendered only by markdown.js, the widget's safe renderer.
import { markdown } from "./markdown.js";
import { $, clear, h, logOut, makeApi, signedIn, str, toast } from "./ui.js";
import { T, Tn, applyStatic, dateLocale, language, pickLanguage, setLanguage, wireLanguageSwitch } from "./staff_i18n.js";

const d = document;
const SEARCH_DELAY_MS = 250;
const KB = "/api/kb";

function toLogin() {
  // back to the same section after logging in (the fragment, e.g. #articles/7, is encoded)
  location.replace("/login?next=/editor/" + (location.hash ? encodeURIComponent(location.hash) : ""));
}
const api = makeApi(toLogin);
const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== "" && v != null) s.set(k, String(v));
  const t = s.toString();
  return t ? "?" + t : "";
};
// Times are UTC; one without a zone (as SQLite gives them back) is read as UTC, not local time.
const utc = (iso) => (typeof iso === "string" && /T\d\d:\d\d(:\d\d(\.\d+)?)?$/.test(iso) ? iso + "Z" : iso);
// dates in the browser's locale, or Greek ones when the editor is in Greek
const when = (iso) => {
  const t = new Date(utc(iso));
  return isNaN(t) ? "" : t.toLocaleString(dateLocale(), { dateStyle: "medium", timeStyle: "short" });
};
const day = (iso) => {
  const t = new Date(utc(iso));
  return isNaN(t) ? "" : t.toLocaleDateString(dateLocale(), { dateStyle: "medium" });
};
const who = (u) => str(u && u.name, T("who.someone"));
const quoted = (title) => T("common.quoted", { title: str(title) });
const noTitle = (title) => str(title, T("common.no_title"));
const num = (x) => (typeof x === "number" && isFinite(x) ? x : 0);
const score = (x) => (typeof x === "number" ? x.toFixed(3) : "–");
const pct = (x) => (typeof x === "number" ? Math.round(x * 100) + " %" : "–");
const fold = (s) => String(s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
const list = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
const unique = (xs) => [...new Set(xs.map((x) => x.trim()).filter(Boolean))];
function statusBadge(status) {
  const s = status === "published" || status === "draft" || status === "deleted" ? status : "draft";
  return h("span", { class: "status st-" + s, text: s === "published" ? T("status.published") : s === "draft" ? T("status.draft") : T("status.deleted") });
}
function errText(e) {
  return e && e.message ? e.message : T("common.failed");
}

// A modal "are you sure" (a <dialog>, not window.confirm): resolves true when confirmed.
function confirmBox(text, okLabel) {
  const dlg = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = okLabel || T("common.ok");
  dlg.returnValue = "";
  dlg.showModal();
  $("confirm-no").focus();
  return new Promise((resolve) => dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true }));
}

// ---------------------------------------------------------------- state
let me = null;
let view = "articles";
let facets = { categories: [], languages: [], tags: [] };
let cur = null; // the article open in the form (as the server returned it); null for a new one
let snapshot = ""; // the form's values when it was loaded or saved, to tell unsaved changes
let gapCtx = null; // {question_ids, visitors} while creating an article from a knowledge gap
let formOpen = false;
// the last import result, try-the-bot answer and conflict on screen, written again when the language changes
const shown = { importResult: null, importMsg: null, tryResult: null, conflict: null };

// ---------------------------------------------------------------- navigation
const VIEWS = ["articles", "trash", "canned", "io", "try", "gaps", "usefulness", "audit"];
for (const b of d.querySelectorAll(".nav button")) b.addEventListener("click", () => show(b.dataset.view));
function show(name, keepHash) {
  if (!VIEWS.includes(name)) name = "articles";
  view = name;
  for (const b of d.querySelectorAll(".nav button")) {
    b.classList.toggle("on", b.dataset.view === name);
    if (b.dataset.view === name) b.setAttribute("aria-current", "page");
    else b.removeAttribute("aria-current");
  }
  for (const s of d.querySelectorAll(".view")) s.hidden = s.id !== "view-" + name;
  if (!keepHash) setHash();
  if (name === "articles") loadList();
  if (name === "trash") loadTrash();
  if (name === "canned") loadCanned();
  if (name === "gaps") loadGaps();
  if (name === "usefulness") loadUsefulness();
  if (name === "audit") loadAudit();
  if (name === "try") $("try-q").focus();
}
function setHash() {
  const path = view === "articles" && cur ? `articles/${cur.id}` : view;
  history.replaceState(null, "", "#" + path);
}

// ---------------------------------------------------------------- articles: the list
let listSeq = 0;
async function loadList() {
  const seq = ++listSeq;
  const params = {
    q: $("f-q").value.trim(),
    category: $("f-category").value,
    language: $("f-language").value,
    status: $("f-status").value,
    tag: $("f-tag").value,
    untranslated: $("f-untranslated").value,
  };
  const box = $("a-list");
  let r;
  try {
    r = await api("GET", `${KB}/articles${q(params)}`);
  } catch (e) {
    if (seq === listSeq) clear(box).appendChild(h("li", { class: "muted", text: T("articles.load_failed", { error: errText(e) }) }));
    return;
  }
  if (seq !== listSeq) return; // a newer search is on its way
  facets = Object.assign({ categories: [], languages: [], tags: [] }, r.facets || {});
  fillFacet($("f-category"), list(facets.categories));
  fillFacet($("f-language"), list(facets.languages));
  fillFacet($("f-tag"), list(facets.tags));
  fillUntranslated(facets.untranslated && typeof facets.untranslated === "object" ? facets.untranslated : {});
  fillDatalist($("dl-categories"), list(facets.categories));
  fillDatalist($("dl-languages"), list(facets.languages));
  renderList(Array.isArray(r.articles) ? r.articles : []);
}
function fillFacet(sel, values) {
  const keep = sel.value;
  const all = values.slice();
  if (keep && !all.includes(keep)) all.push(keep);
  while (sel.options.length > 1) sel.remove(1);
  for (const v of all) sel.appendChild(h("option", { value: v, text: v }));
  sel.value = keep;
}
// "Missing translation": a language and how many articles lack one in it ("el (2)").
function fillUntranslated(counts) {
  const sel = $("f-untranslated");
  const keep = sel.value;
  while (sel.options.length > 1) sel.remove(1);
  for (const lang of list(facets.languages)) sel.appendChild(h("option", { value: lang, text: `${lang} (${num(counts[lang])})` }));
  if (keep && ![...sel.options].some((o) => o.value === keep)) sel.appendChild(h("option", { value: keep, text: keep }));
  sel.value = keep;
}
function fillDatalist(dl, values) {
  clear(dl);
  for (const v of values) dl.appendChild(h("option", { value: v }));
}
function renderList(rows) {
  const box = clear($("a-list"));
  const filtered = ["f-q", "f-category", "f-language", "f-status", "f-tag", "f-untranslated"].some((id) => $(id).value);
  $("a-count").textContent = Tn("articles.count", rows.length);
  if (!rows.length) box.appendChild(h("li", { class: "muted", text: filtered ? T("articles.no_match") : T("articles.none_yet") }));
  for (const a of rows) {
    const meta = [str(a.category), str(a.language), Tn("articles.phrasings", num(a.questions_count)), list(a.tags).join(", ")].filter(Boolean);
    box.appendChild(
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "result", dataset: { id: String(a.id) }, "aria-current": cur && cur.id === a.id ? "true" : null, onclick: () => openArticle(a.id) },
          h("span", { class: "rtop" }, h("b", { text: noTitle(a.title) }), statusBadge(a.status),
            ...list(a.missing).map((lang) => h("span", { class: "trneed", title: T("articles.no_translation_title", { lang }), text: T("articles.no_translation", { lang }) }))),
          h("span", { class: "rmeta", text: meta.join(" · ") }),
          h("span", { class: "rmeta", text: `${T("articles.rev", { n: a.revision })} · ${when(a.updated_at)}${a.updated_by ? " · " + who(a.updated_by) : ""}` })
        )
      )
    );
  }
}
function markCurrentInList() {
  for (const b of d.querySelectorAll("#a-list .result")) {
    if (cur && b.dataset.id === String(cur.id)) b.setAttribute("aria-current", "true");
    else b.removeAttribute("aria-current");
  }
}
let searchTimer = 0;
$("f-q").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadList, SEARCH_DELAY_MS);
});
for (const id of ["f-category", "f-language", "f-status", "f-tag", "f-untranslated"]) $(id).addEventListener("change", loadList);
$("filters").addEventListener("submit", (e) => {
  e.preventDefault();
  clearTimeout(searchTimer);
  loadList();
});

// ---------------------------------------------------------------- articles: the form
const FIELDS = ["title", "body", "category", "questions", "tags", "language", "status"];
const splitList = (s, sep) => unique(String(s).split(sep));
function formValues() {
  return {
    title: $("a-title").value.trim(),
    category: $("a-category").value.trim(),
    language: $("a-language").value.trim() || "en",
    tags: splitList($("a-tags").value, ","),
    questions: splitList($("a-questions").value, "\n"),
    body: $("a-body").value,
  };
}
const isDirty = () => formOpen && JSON.stringify(formValues()) !== snapshot;
function updateDirty() {
  $("a-dirty").hidden = !isDirty();
}
function renderPreview() {
  clear($("a-preview")).appendChild(markdown($("a-body").value));
}
function fillForm(a) {
  $("a-title").value = str(a.title);
  $("a-category").value = str(a.category);
  $("a-language").value = str(a.language, "en");
  $("a-tags").value = list(a.tags).join(", ");
  $("a-questions").value = list(a.questions).join("\n");
  $("a-body").value = str(a.body);
  renderPreview();
}
/** Show `a` (an article from the server, or null with `prefill` for a new one) in the form. */
function loadForm(a, prefill) {
  cur = a;
  formOpen = true;
  clearErrors();
  hideConflict();
  fillForm(a || prefill || { language: $("f-language").value || "en", category: $("f-category").value });
  snapshot = a ? JSON.stringify(formValues()) : JSON.stringify({ title: "", category: "", language: "en", tags: [], questions: [], body: "" });
  $("a-none").hidden = true;
  $("a-form").hidden = false;
  renderHead();
  updateDirty();
  markCurrentInList();
  if (view === "articles") setHash();
}
function renderHead() {
  const a = cur;
  $("a-heading").textContent = a ? noTitle(a.title) : T("form.new");
  const badge = $("a-status");
  badge.className = "status";
  badge.textContent = "";
  if (a) {
    const s = a.deleted_at ? "deleted" : a.status;
    badge.className = "status st-" + s;
    badge.textContent = statusBadge(s).textContent;
  }
  $("a-meta").textContent = a
    ? (a.updated_by
        ? T("form.meta_by", { n: a.revision, who: who(a.updated_by), when: when(a.updated_at) })
        : T("form.meta", { n: a.revision, when: when(a.updated_at) })) +
      (a.deleted_at ? T("form.meta_trash", { since: when(a.deleted_at), purge: day(a.purge_at) }) : "")
    : T("form.not_saved_yet");
  const published = a && a.status === "published";
  $("a-save").textContent = published ? T("form.save_publish") : T("form.save_draft");
  $("a-save").classList.toggle("primary", !!published);
  $("a-publish").hidden = !!published;
  $("a-unpublish").hidden = !published;
  $("a-delete").hidden = !a || !!a.deleted_at;
  $("a-history").hidden = !a;
  renderTranslations();
  const gap = $("a-gap");
  gap.hidden = !(gapCtx && !a);
  if (gapCtx && !a)
    gap.textContent = Tn("form.from_gap", num(gapCtx.questions));
  if (!a) closeHistory();
}
// ---------------------------------------------------------------- articles: translations
// An article's translations (the same article in other languages, linked by the editors) and the
// shop's languages it has none in; the bot offers an English article to a Greek visitor only
// while no Greek translation is linked (docs/editor.md "Languages").
function renderTranslations() {
  const a = cur;
  const box = $("a-translations");
  box.hidden = !a || !!a.deleted_at;
  if (box.hidden) return;
  const ul = clear($("a-tr-list"));
  const linked = Array.isArray(a.translations) ? a.translations : [];
  if (!linked.length) ul.appendChild(h("li", { class: "muted", text: T("tr.none") }));
  for (const t of linked)
    ul.appendChild(
      h("li", {}, h("span", { class: "lang", text: str(t.language) }),
        h("a", { href: `#articles/${num(t.id)}`, text: noTitle(t.title), onclick: (e) => { e.preventDefault(); openArticle(t.id); } }))
    );
  const missing = list(a.missing);
  $("a-tr-missing").hidden = !missing.length;
  $("a-tr-missing").textContent = missing.length ? T("tr.missing", { langs: missing.join(", ") }) : "";
  $("a-tr-unlink").hidden = !linked.length;
  fillTranslationPicker(a, linked);
}
async function fillTranslationPicker(a, linked) {
  const sel = $("a-tr-pick");
  while (sel.options.length > 1) sel.remove(1);
  let rows = [];
  try {
    rows = (await api("GET", `${KB}/articles`)).articles || [];
  } catch (e) {
    return;
  }
  if (cur !== a) return; // another article was opened meanwhile
  const have = new Set([a.language, ...linked.map((t) => t.language)]);
  for (const r of rows)
    if (r.id !== a.id && !have.has(r.language) && !list(r.translations && r.translations.map((t) => t.language)).includes(a.language))
      sel.appendChild(h("option", { value: String(r.id), text: `${str(r.language)} · ${noTitle(r.title)}` }));
}
async function changeTranslation(method, body) {
  if (!cur) return;
  try {
    const r = await api(method, `${KB}/articles/${encodeURIComponent(cur.id)}/translations`, body);
    cur = Object.assign({}, cur, { translations: r.article.translations, missing: r.article.missing, translation_group: r.article.translation_group });
    renderTranslations();
    loadList();
    toast(method === "POST" ? T("tr.linked") : T("tr.unlinked"));
  } catch (e) {
    toast(errText(e), "bad");
  }
}
$("a-tr-link").addEventListener("click", () => {
  const id = parseInt($("a-tr-pick").value, 10);
  if (id) changeTranslation("POST", { article_id: id });
  else toast(T("tr.choose"), "bad");
});
$("a-tr-unlink").addEventListener("click", () => changeTranslation("DELETE"));

async function confirmDiscard() {
  if (!isDirty()) return true;
  return confirmBox(cur ? T("discard.article", { title: str(cur.title) }) : T("discard.new"), T("discard.ok"));
}
async function openArticle(id) {
  if (cur && cur.id === id && formOpen) return;
  if (!(await confirmDiscard())) return;
  try {
    const r = await api("GET", `${KB}/articles/${encodeURIComponent(id)}`);
    gapCtx = null;
    if (view !== "articles") show("articles");
    loadForm(r.article);
    if (!$("history").hidden) openHistory();
  } catch (e) {
    toast(T("articles.open_failed", { error: errText(e) }), "bad");
  }
}
async function newArticle(prefill, gap) {
  if (!(await confirmDiscard())) return;
  gapCtx = gap || null;
  if (view !== "articles") show("articles");
  loadForm(null, prefill);
  $("a-title").focus();
}
$("new-article").addEventListener("click", () => newArticle());
for (const id of ["a-title", "a-category", "a-language", "a-tags", "a-questions", "a-body"])
  $(id).addEventListener("input", () => {
    if (id === "a-body") renderPreview();
    clearFieldError(id.slice(2));
    updateDirty();
  });
window.addEventListener("beforeunload", (e) => {
  if (!isDirty()) return;
  e.preventDefault();
  e.returnValue = "";
});

// field errors: next to the field (422 with `field`), else above the form
function fieldOf(e) {
  if (e.code === "duplicate_title") return "title";
  const parts = String(e.field || "").split(/[.[\]]/);
  return parts.find((p) => FIELDS.includes(p)) || null;
}
function clearFieldError(f) {
  const p = $("err-" + f);
  if (p) p.hidden = true;
  const input = $("a-" + f);
  if (input) input.removeAttribute("aria-invalid");
}
function clearErrors() {
  for (const f of FIELDS) clearFieldError(f);
  $("a-error").hidden = true;
}
function showError(e) {
  const f = fieldOf(e);
  const p = f && $("err-" + f);
  if (p) {
    p.textContent = errText(e);
    p.hidden = false;
    $("a-" + f).setAttribute("aria-invalid", "true");
    $("a-" + f).focus();
  } else {
    $("a-error").textContent = T("common.not_saved", { error: errText(e) });
    $("a-error").hidden = false;
  }
}

function setBusy(busy) {
  for (const id of ["a-save", "a-publish", "a-unpublish", "a-delete", "h-restore"]) $(id).disabled = busy;
}
const SAVED = { draft: () => T("save.draft"), published: () => T("save.published") };

/** Save the form with `status`; `base` overrides the base revision (to overwrite after a conflict). */
async function save(status, base) {
  const payload = Object.assign(formValues(), { status });
  clearErrors();
  setBusy(true);
  try {
    let r;
    const wasPublished = cur && cur.status === "published";
    if (cur) r = await api("PUT", `${KB}/articles/${cur.id}`, Object.assign(payload, { base_revision: base != null ? base : cur.revision }));
    else if (gapCtx) r = await api("POST", `${KB}/gaps/article`, { question_ids: gapCtx.question_ids, article: payload });
    else r = await api("POST", `${KB}/articles`, payload);
    const fromGap = !cur && gapCtx;
    gapCtx = null;
    loadForm(r.article);
    toast(
      wasPublished && status === "draft"
        ? T("save.unpublished")
        : !wasPublished && status === "published"
        ? T("save.now_published")
        : SAVED[status] ? SAVED[status]() : T("save.saved")
    );
    if (fromGap) toast(T("save.gap_resolved"));
    loadList();
    if (!$("history").hidden) openHistory();
  } catch (e) {
    if (e.code === "conflict" && e.body && e.body.error && e.body.error.current)
      showConflict(e.body.error.current, (rev) => save(status, rev));
    else showError(e);
  } finally {
    setBusy(false);
  }
}
$("a-save").addEventListener("click", () => save(cur && cur.status === "published" ? "published" : "draft"));
$("a-publish").addEventListener("click", () => save("published"));
$("a-unpublish").addEventListener("click", () => save("draft"));
$("a-form").addEventListener("submit", (e) => e.preventDefault());
d.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "s" || e.key === "S")) {
    if (view !== "articles" || !formOpen) return;
    e.preventDefault();
    if (!$("a-save").disabled) $("a-save").click();
  }
});

$("a-delete").addEventListener("click", async () => {
  if (!cur) return;
  const ok = await confirmBox(T("delete.confirm", { title: str(cur.title) }), T("common.delete"));
  if (!ok) return;
  try {
    await api("DELETE", `${KB}/articles/${cur.id}`);
    toast(T("delete.done", { title: str(cur.title) }));
    closeForm();
    loadList();
  } catch (e) {
    toast(T("common.not_deleted", { error: errText(e) }), "bad");
  }
});
function closeForm() {
  cur = null;
  formOpen = false;
  gapCtx = null;
  $("a-form").hidden = true;
  $("a-none").hidden = false;
  closeHistory();
  markCurrentInList();
  setHash();
}

// ---------------------------------------------------------------- conflicts
/** Someone saved in between: show their version; the editor reloads it or overwrites it
 *  deliberately (`retry(current.revision)`). */
function showConflict(current, retry) {
  shown.conflict = [current, retry];
  const box = clear($("conflict"));
  const mine = current.updated_by && me && current.updated_by.id === me.id;
  const headline = mine ? T("conflict.mine") : T("conflict.theirs", { who: who(current.updated_by) });
  const load = h("button", { type: "button", class: "btn", text: T("conflict.load") });
  const overwrite = h("button", { type: "button", class: "btn primary", text: T("conflict.overwrite") });
  box.append(
    h("h3", { text: headline }),
    h("p", { text: T("conflict.text", { n: current.revision, when: when(current.updated_at) }) }),
    h(
      "dl",
      {},
      h("dt", { text: T("col.title") }),
      h("dd", { class: "c-title", text: str(current.title) }),
      h("dt", { text: T("col.status") }),
      h("dd", { text: current.status === "published" ? T("status.published") : T("status.draft") }),
      h("dt", { text: T("col.category") }),
      h("dd", { text: str(current.category) }),
      h("dt", { text: T("conflict.phrasings") }),
      h("dd", { text: list(current.questions).join(" · ") }),
      h("dt", { text: T("col.tags") }),
      h("dd", { text: list(current.tags).join(", ") }),
      h("dt", { text: T("col.body") }),
      h("dd", {}, h("pre", { class: "c-body", text: str(current.body) }))
    ),
    h("div", { class: "actions" }, load, overwrite)
  );
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
  load.addEventListener("click", () => {
    loadForm(current);
    toast(T("conflict.loaded"));
    if (!$("history").hidden) openHistory();
  });
  overwrite.addEventListener("click", () => {
    hideConflict();
    retry(current.revision);
  });
}
function hideConflict() {
  shown.conflict = null;
  clear($("conflict")).hidden = true;
}

// ---------------------------------------------------------------- history and diffs
// what a revision did, in the editor's language (an unknown action as the server names it)
const ACTION = {
  created: () => T("action.created"),
  updated: () => T("action.updated"),
  published: () => T("action.published"),
  unpublished: () => T("action.unpublished"),
  deleted: () => T("action.deleted"),
  restored: () => T("action.restored"),
  reverted: () => T("action.reverted"),
  imported: () => T("action.imported"),
  phrasings_added: () => T("action.phrasings_added"),
};
const actionText = (a) => (Object.prototype.hasOwnProperty.call(ACTION, a) ? ACTION[a]() : str(a));
let revs = [];
let selected = null; // the revision number chosen in the list
$("a-history").addEventListener("click", () => ($("history").hidden ? openHistory() : closeHistory()));
$("h-close").addEventListener("click", closeHistory);
function closeHistory() {
  $("history").hidden = true;
  $("a-history").setAttribute("aria-expanded", "false");
}
async function openHistory() {
  if (!cur) return;
  $("history").hidden = false;
  $("a-history").setAttribute("aria-expanded", "true");
  const id = cur.id;
  try {
    const r = await api("GET", `${KB}/articles/${id}/revisions`);
    if (!cur || cur.id !== id) return;
    revs = (Array.isArray(r.revisions) ? r.revisions : []).slice().sort((a, b) => b.number - a.number);
  } catch (e) {
    clear($("h-list")).appendChild(h("li", { class: "muted", text: T("history.load_failed", { error: errText(e) }) }));
    return;
  }
  const label = (rv) => `#${rv.number} ${actionText(rv.action)}`;
  for (const [sel, blank] of [[$("h-from"), true], [$("h-to"), false]]) {
    clear(sel);
    if (blank) sel.appendChild(h("option", { value: "", text: T("history.nothing") }));
    for (const rv of revs) sel.appendChild(h("option", { value: String(rv.number), text: label(rv) }));
  }
  const box = clear($("h-list"));
  for (const rv of revs)
    box.appendChild(
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "rev", dataset: { number: String(rv.number) }, onclick: () => selectRev(rv.number) },
          h("span", { class: "rnum", text: "#" + rv.number }),
          h("span", { class: "ract", text: actionText(rv.action) }),
          h("span", { class: "rwho", text: `${rv.editor ? who(rv.editor) : T("who.system")} · ${when(rv.at)}` })
        )
      )
    );
  const keep = revs.some((rv) => rv.number === selected) ? selected : revs.length ? revs[0].number : null;
  if (keep != null) selectRev(keep);
  else clear($("h-diff"));
}
function selectRev(n) {
  selected = n;
  const i = revs.findIndex((rv) => rv.number === n);
  const prev = revs[i + 1];
  $("h-to").value = String(n);
  $("h-from").value = prev ? String(prev.number) : "";
  renderDiff();
}
$("h-to").addEventListener("change", () => selectRev(Number($("h-to").value)));
$("h-from").addEventListener("change", renderDiff);
let diffSeq = 0;
async function renderDiff() {
  if (!cur) return;
  const seq = ++diffSeq;
  const to = Number($("h-to").value);
  const from = Number($("h-from").value) || null;
  selected = to;
  for (const b of d.querySelectorAll("#h-list .rev")) b.setAttribute("aria-current", b.dataset.number === String(to) ? "true" : "false");
  const restore = $("h-restore");
  fillRestoreStatus();
  restore.disabled = to === cur.revision;
  restore.title = to === cur.revision ? T("history.is_current") : T("history.make_current", { n: to });
  const box = $("h-diff");
  try {
    if (!from || from === to) {
      const r = await api("GET", `${KB}/articles/${cur.id}/revisions/${to}`);
      if (seq !== diffSeq) return;
      renderRevision(clear(box), r.revision || {});
      return;
    }
    const r = await api("GET", `${KB}/articles/${cur.id}/diff${q({ from, to })}`);
    if (seq !== diffSeq) return;
    clear(box).appendChild(h("p", { class: "muted", text: T("history.changes", { from, to }) }));
    const fields = Array.isArray(r.fields) ? r.fields : [];
    if (!fields.length) box.appendChild(h("p", { class: "empty", text: T("history.no_diff") }));
    for (const f of fields) box.appendChild(diffField(f));
  } catch (e) {
    if (seq === diffSeq) clear(box).appendChild(h("p", { class: "ferr", text: T("common.load_failed", { error: errText(e) }) }));
  }
}
const FIELD_LABEL = {
  title: () => T("col.title"),
  body: () => T("col.body"),
  category: () => T("col.category"),
  language: () => T("col.language"),
  status: () => T("col.status"),
  questions: () => T("form.questions"),
  tags: () => T("col.tags"),
};
function diffField(f) {
  const label = Object.prototype.hasOwnProperty.call(FIELD_LABEL, f.field) ? FIELD_LABEL[f.field]() : str(f.field);
  const box = h("div", { class: "dfield", dataset: { field: str(f.field) } }, h("h4", { text: label }));
  if (Array.isArray(f.lines)) {
    const ol = h("ol", { class: "dlines" });
    const lines = f.lines;
    for (let i = 0; i < lines.length; ) {
      // long runs of unchanged lines are folded to their first and last two
      let j = i;
      while (j < lines.length && lines[j].op === "equal") j++;
      const run = j - i;
      if (run > 5) {
        for (const l of lines.slice(i, i + 2)) ol.appendChild(lineItem(l));
        ol.appendChild(h("li", { class: "d-fold muted", text: Tn("history.unchanged", run - 4) }));
        for (const l of lines.slice(j - 2, j)) ol.appendChild(lineItem(l));
        i = j;
        continue;
      }
      if (run) {
        for (const l of lines.slice(i, j)) ol.appendChild(lineItem(l));
        i = j;
        continue;
      }
      ol.appendChild(lineItem(lines[i]));
      i++;
    }
    box.appendChild(ol);
  } else {
    const chips = h("ul", { class: "chips" });
    for (const x of list(f.added)) chips.appendChild(h("li", { class: "chip add", "aria-label": T("history.added", { text: x }), text: "+ " + x }));
    for (const x of list(f.removed)) chips.appendChild(h("li", { class: "chip del", "aria-label": T("history.removed", { text: x }), text: "− " + x }));
    box.appendChild(chips);
  }
  return box;
}
function lineItem(l) {
  const op = l.op === "insert" || l.op === "delete" ? l.op : "equal";
  const label = op === "insert" ? T("history.added", { text: str(l.text) }) : op === "delete" ? T("history.removed", { text: str(l.text) }) : null;
  return h("li", { class: "d-" + op, dataset: { op }, "aria-label": label, text: str(l.text) });
}
function renderRevision(box, rv) {
  const by = rv.editor ? who(rv.editor) : T("who.system");
  box.appendChild(h("p", { class: "muted", text: T("history.as_it_was", { n: rv.number, action: actionText(rv.action), who: by, when: when(rv.at) }) }));
  const facts = [
    [T("col.title"), str(rv.title)],
    [T("col.status"), stateText(rv.status)],
    [T("col.category"), str(rv.category)],
    [T("col.language"), str(rv.language)],
    [T("form.questions"), list(rv.questions).join(" · ")],
    [T("col.tags"), list(rv.tags).join(", ")],
  ];
  const dl = h("dl", { class: "revfacts" });
  for (const [k, v] of facts) dl.append(h("dt", { text: k }), h("dd", { text: v }));
  box.append(dl, h("div", { class: "preview md" }, markdown(str(rv.body))));
}
// Restoring brings back a revision's content; the status stays the article's own unless the editor
// picks one here, and the confirmation says which before anything changes.
const restoreStatus = h("select", { id: "h-status", "aria-label": "Status after restoring", "data-i18n-aria-label": "restore.status_label" });
$("h-restore").before(restoreStatus);
// "published" / "draft" as a word in a sentence (anything else as the server says it)
function stateText(status) {
  return status === "published" ? T("state.published") : status === "draft" ? T("state.draft") : str(status);
}
function fillRestoreStatus() {
  const now = cur ? stateText(cur.status) : "";
  const keep = restoreStatus.value;
  clear(restoreStatus).append(
    h("option", { value: "", text: T("restore.keep", { status: now }) }),
    h("option", { value: "published", text: T("restore.publish") }),
    h("option", { value: "draft", text: T("restore.draft") })
  );
  restoreStatus.value = keep;
}
$("h-restore").addEventListener("click", async () => {
  const n = Number($("h-to").value);
  if (!cur || !n) return;
  const status = restoreStatus.value || cur.status;
  const live = status === "published";
  const text =
    T("restore.confirm", { n, next: cur.revision + 1 }) + " " +
    (status === cur.status
      ? live ? T("restore.stays_live") : T("restore.stays", { status: stateText(status) })
      : live
        ? T("restore.will_publish")
        : T("restore.will_draft")) +
    (isDirty() ? " " + T("restore.discards") : "");
  if (!(await confirmBox(text, T("restore.ok")))) return;
  await restoreRevision(n, cur.revision, restoreStatus.value || undefined);
});
async function restoreRevision(n, base, status) {
  setBusy(true);
  try {
    const r = await api("POST", `${KB}/articles/${cur.id}/revisions/${n}/restore`, { base_revision: base, status });
    loadForm(r.article);
    toast(T("restore.done", { n, m: r.article.revision }));
    loadList();
    selected = null;
    openHistory();
  } catch (e) {
    if (e.code === "conflict" && e.body && e.body.error && e.body.error.current)
      showConflict(e.body.error.current, (rev) => restoreRevision(n, rev, status));
    else toast(T("restore.failed", { error: errText(e) }), "bad");
  } finally {
    setBusy(false);
  }
}

// ---------------------------------------------------------------- trash
async function loadTrash() {
  const tb = clear($("trash").tBodies[0]);
  try {
    const r = await api("GET", `${KB}/articles?trash=1`);
    const rows = Array.isArray(r.articles) ? r.articles : [];
    $("trash-empty").hidden = rows.length > 0;
    for (const a of rows) {
      const restore = h("button", { type: "button", class: "btn small", text: T("trash.restore") });
      restore.addEventListener("click", async () => {
        restore.disabled = true;
        try {
          await api("POST", `${KB}/articles/${a.id}/restore`);
          toast(a.status === "published" ? T("trash.back_published", { title: str(a.title) }) : T("trash.back_draft", { title: str(a.title) }));
          loadTrash();
        } catch (e) {
          restore.disabled = false;
          toast(T("restore.failed", { error: errText(e) }), "bad");
        }
      });
      tb.appendChild(
        h(
          "tr",
          { dataset: { id: String(a.id) } },
          h("td", {}, h("b", { text: str(a.title) }), " ", statusBadge(a.status)),
          h("td", { text: str(a.category) }),
          h("td", { text: str(a.language) }),
          h("td", { text: a.updated_by ? T("trash.deleted_by", { when: when(a.deleted_at), who: who(a.updated_by) }) : when(a.deleted_at) }),
          h("td", { class: "purge", text: day(a.purge_at) }),
          h("td", { class: "acts" }, restore)
        )
      );
    }
  } catch (e) {
    tb.appendChild(h("tr", {}, h("td", { colspan: 6, text: T("common.load_failed", { error: errText(e) }) })));
  }
}

// ---------------------------------------------------------------- canned responses
const CANNED_FIELDS = ["shortcut", "title", "category", "text"];
const KNOWN_VARS = ["visitor_name", "agent_name", "order_number"];
let editingCanned = null;
async function loadCanned() {
  const tb = clear($("canned").tBodies[0]);
  try {
    const r = await api("GET", `${KB}/canned`);
    const rows = Array.isArray(r.canned) ? r.canned : [];
    const more = list(r.variables).filter((v) => !KNOWN_VARS.includes(v));
    $("c-more-vars").textContent = more.length ? T("canned.more_vars", { vars: more.map((v) => `{${v}}`).join(", ") }) : "";
    $("canned-empty").hidden = rows.length > 0;
    for (const c of rows) {
      const shortcut = str(c.shortcut);
      const edit = h("button", { type: "button", class: "btn small", text: T("common.edit"), "aria-label": T("canned.edit_label", { shortcut }), onclick: () => editCanned(c) });
      const del = h("button", { type: "button", class: "btn small danger", text: T("common.delete"), "aria-label": T("canned.delete_label", { shortcut }) });
      del.addEventListener("click", async () => {
        if (!(await confirmBox(T("canned.delete_confirm", { shortcut }), T("common.delete")))) return;
        try {
          await api("DELETE", `${KB}/canned/${c.id}`);
          toast(T("canned.deleted", { shortcut }));
          if (editingCanned && editingCanned.id === c.id) resetCannedForm();
          loadCanned();
        } catch (e) {
          toast(T("common.not_deleted", { error: errText(e) }), "bad");
        }
      });
      tb.appendChild(
        h(
          "tr",
          { dataset: { id: String(c.id), shortcut: str(c.shortcut) }, class: editingCanned && editingCanned.id === c.id ? "editing" : null },
          h("td", {}, h("code", { text: "#" + str(c.shortcut) })),
          h("td", { text: str(c.title) }),
          h("td", { text: str(c.category) }),
          h("td", { class: "text", text: str(c.text) }),
          h("td", { class: "acts" }, edit, del)
        )
      );
    }
  } catch (e) {
    tb.appendChild(h("tr", {}, h("td", { colspan: 5, text: T("common.load_failed", { error: errText(e) }) })));
  }
}
function clearCannedErrors() {
  for (const f of CANNED_FIELDS) {
    $("err-c-" + f).hidden = true;
    $("c-" + f).removeAttribute("aria-invalid");
  }
  $("c-error").hidden = true;
}
function editCanned(c) {
  editingCanned = c;
  clearCannedErrors();
  for (const f of CANNED_FIELDS) $("c-" + f).value = str(c[f]);
  cannedLabels();
  $("c-cancel").hidden = false;
  for (const tr of $("canned").tBodies[0].rows) tr.classList.toggle("editing", tr.dataset.id === String(c.id));
  $("c-text").focus();
}
function resetCannedForm() {
  editingCanned = null;
  clearCannedErrors();
  $("canned-form").reset();
  cannedLabels();
  $("c-cancel").hidden = true;
  for (const tr of $("canned").tBodies[0].rows) tr.classList.remove("editing");
}
// the form's heading and button: adding, or editing `editingCanned`
function cannedLabels() {
  $("c-legend").textContent = editingCanned ? T("canned.edit_label", { shortcut: str(editingCanned.shortcut) }) : T("canned.add_heading");
  $("c-submit").textContent = editingCanned ? T("canned.save") : T("canned.add");
}
$("c-cancel").addEventListener("click", resetCannedForm);
$("canned-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  clearCannedErrors();
  const body = {};
  for (const f of CANNED_FIELDS) body[f] = f === "text" ? $("c-" + f).value : $("c-" + f).value.trim();
  body.shortcut = body.shortcut.replace(/^#/, "");
  try {
    if (editingCanned) await api("PUT", `${KB}/canned/${editingCanned.id}`, body);
    else await api("POST", `${KB}/canned`, body);
    toast(editingCanned ? T("canned.saved", { shortcut: body.shortcut }) : T("canned.added", { shortcut: body.shortcut }));
    resetCannedForm();
    loadCanned();
  } catch (err) {
    const f = err.code === "duplicate_shortcut" ? "shortcut" : CANNED_FIELDS.find((x) => String(err.field || "").split(".").includes(x));
    if (f) {
      $("err-c-" + f).textContent = errText(err);
      $("err-c-" + f).hidden = false;
      $("c-" + f).setAttribute("aria-invalid", "true");
      $("c-" + f).focus();
    } else {
      $("c-error").textContent = T("common.not_saved", { error: errText(err) });
      $("c-error").hidden = false;
    }
  }
});

// ---------------------------------------------------------------- import
const FORMAT_OF = { json: "json", yaml: "yaml", yml: "yaml", csv: "csv" };
let previewed = ""; // the import settings the last successful dry run was for
const importKey = () => {
  const f = $("i-file").files[0];
  return f ? [f.name, f.size, f.lastModified, $("i-format").value, importMode()].join("|") : "";
};
const importMode = () => (d.querySelector('#import-form input[name="mode"]:checked') || {}).value || "merge";
function importChanged() {
  $("i-run").disabled = !previewed || previewed !== importKey();
}
$("i-file").addEventListener("change", () => {
  const f = $("i-file").files[0];
  const ext = f ? f.name.split(".").pop().toLowerCase() : "";
  if (FORMAT_OF[ext]) $("i-format").value = FORMAT_OF[ext];
  $("i-error").hidden = true;
  $("i-result").hidden = true;
  $("i-msg").textContent = "";
  importChanged();
});
$("i-format").addEventListener("change", importChanged);
for (const r of d.querySelectorAll('#import-form input[name="mode"]')) r.addEventListener("change", importChanged);
$("import-form").addEventListener("submit", (e) => {
  e.preventDefault();
  runImport(true);
});
$("i-run").addEventListener("click", () => runImport(false));
let lastPreview = null;
async function runImport(dry) {
  const f = $("i-file").files[0];
  if (!f) {
    $("i-error").textContent = T("io.choose_file");
    $("i-error").hidden = false;
    return;
  }
  const mode = importMode();
  if (!dry && mode === "replace" && lastPreview && list(lastPreview.removed).length) {
    const n = lastPreview.removed.length;
    if (!(await confirmBox(Tn("io.replace_confirm", n), T("io.run"))))
      return;
  }
  const key = importKey();
  $("i-error").hidden = true;
  $("i-msg").textContent = dry ? T("io.checking") : T("io.importing");
  $("i-preview").disabled = $("i-run").disabled = true;
  try {
    const r = await api("POST", `${KB}/import${q({ format: $("i-format").value, mode, dry_run: dry ? 1 : 0 })}`, f);
    renderImport(r);
    shown.importMsg = dry ? () => T("io.dry_done") : () => T("io.done");
    $("i-msg").textContent = shown.importMsg();
    previewed = dry ? key : "";
    lastPreview = dry ? r : null;
    if (!dry) toast(T("io.toast_done"));
  } catch (e) {
    $("i-error").textContent = errText(e);
    $("i-error").hidden = false;
    $("i-result").hidden = true;
    $("i-msg").textContent = "";
    previewed = "";
  } finally {
    $("i-preview").disabled = false;
    importChanged();
  }
}
function renderImport(r) {
  shown.importResult = r;
  const box = clear($("i-result"));
  const dry = !!r.dry_run;
  const added = list(r.added);
  const changed = Array.isArray(r.changed) ? r.changed : [];
  const removed = list(r.removed);
  const counts = { added: added.length, changed: changed.length, removed: removed.length, unchanged: num(r.unchanged) };
  box.appendChild(
    h("p", {
      class: "summary",
      text: dry ? T("io.would", counts) : T("io.did", counts),
    })
  );
  const section = (kind, title, items) => {
    if (!items.length) return;
    box.append(h("h3", { text: `${title} (${items.length})` }), h("ul", { dataset: { kind } }, items));
  };
  section("added", dry ? T("io.to_add") : T("io.added"), added.map((t) => h("li", { text: t })));
  section(
    "changed",
    dry ? T("io.to_change") : T("io.changed"),
    changed.map((c) => h("li", {}, h("span", { text: str(c.title) }), " ", h("span", { class: "fieldnames", text: "(" + list(c.fields).join(", ") + ")" })))
  );
  section("removed", dry ? T("io.to_remove") : T("io.removed"), removed.map((t) => h("li", { text: t })));
  box.appendChild(h("p", { class: "muted", dataset: { kind: "unchanged" }, text: T("io.unchanged", { n: num(r.unchanged) }) }));
  box.hidden = false;
}

// ---------------------------------------------------------------- try the bot
$("try-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("try-q").value.trim();
  const box = clear($("try-result"));
  shown.tryResult = null;
  if (!text) return;
  box.appendChild(h("p", { class: "muted", text: T("try.asking") }));
  try {
    const language = $("try-lang").value;
    renderTry(await api("POST", `${KB}/try`, language ? { text, language } : { text }));
  } catch (err) {
    clear(box).appendChild(h("p", { class: "errbox", text: errText(err) }));
  }
});
function bar(fraction) {
  const b = h("span", { class: "bar", "aria-hidden": "true" });
  b.style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 60) + "px"; // CSSOM: allowed by the CSP
  return b;
}
const figures = (dc) => ({ score: score(dc.score), lead: score(dc.lead), effective: score(dc.effective), threshold: score(dc.threshold) });
function renderTry(r) {
  shown.tryResult = r;
  const box = clear($("try-result"));
  const ans = r.answer;
  const hits = Array.isArray(r.hits) ? r.hits : [];
  const best = hits[0];
  let verdict;
  if (r.answered && ans)
    verdict = h("p", { class: "verdict ok", dataset: { outcome: "answered" }, text: T("try.answered", { title: str(ans.title), score: score(ans.score), threshold: score(r.threshold) }) });
  else if (r.fallback)
    verdict = h("p", {
      class: "verdict fb",
      dataset: { outcome: "fallback" },
      text: best
        ? T("try.fallback_tried", { title: str(best.title), score: score(best.score), threshold: score(r.threshold) })
        : T("try.fallback_none", { threshold: score(r.threshold) }),
    });
  else verdict = h("p", { class: "verdict fb", dataset: { outcome: "other" }, text: T("try.other") });
  const dc = r.decision && typeof r.decision === "object" ? r.decision : null;
  box.append(
    verdict,
    h("p", {
      class: "muted",
      id: "try-decision",
      text: dc
        ? (dc.answers ? T("try.decision_answers", figures(dc)) : T("try.decision_falls_back", figures(dc)))
        : T("try.explain"),
    })
  );
  if (r.reply) {
    const reply = h("div", { class: "reply md", id: "try-reply" }, markdown(str(r.reply.text)));
    const qr = Array.isArray(r.reply.quick_replies) ? r.reply.quick_replies : [];
    if (qr.length) reply.appendChild(h("div", { class: "qr", "aria-label": T("try.quick_replies") }, qr.map((b) => h("span", { text: str(b && b.title) }))));
    box.append(h("h3", { text: T("try.reply") }), reply);
  }
  if (hits.length) {
    const max = Math.max(...hits.map((x) => num(x.score)), 0.0001);
    const tb = h("tbody");
    hits.forEach((x, i) =>
      tb.appendChild(
        h(
          "tr",
          { class: i === 0 ? "tried" : null },
          h("td", { class: "num", text: String(i + 1) }),
          h("td", {}, h("button", { type: "button", class: "btn link", text: str(x.title), onclick: () => openArticle(x.article_id) })),
          h(
            "td",
            { class: "num" },
            score(x.score),
            bar(num(x.score) / max)
          ),
          h("td", { class: "muted", text: i === 0 ? (r.answered ? T("try.the_answer") : T("try.tried")) : "" })
        )
      )
    );
    box.append(
      h("h3", { text: T("try.best") }),
      h("div", { class: "tablewrap" }, h("table", { class: "grid", id: "try-hits" }, h("thead", {}, h("tr", {}, h("th", { text: "#" }), h("th", { text: T("try.article") }), h("th", { class: "num", text: T("try.score") }), h("th", { text: "" }))), tb))
    );
  }
}

// ---------------------------------------------------------------- knowledge gaps
const WHY = {
  fallback: () => T("gaps.why_fallback"),
  low_confidence: () => T("gaps.why_low"),
  not_helpful: () => T("gaps.why_not_helpful"),
  handoff: () => T("gaps.why_handoff"),
};
const whyText = (k) => (Object.prototype.hasOwnProperty.call(WHY, k) ? WHY[k]() : str(k));
let gapsSeq = 0;
$("gaps-days").addEventListener("change", loadGaps);
async function loadGaps() {
  const box = clear($("gaps"));
  const seq = ++gapsSeq;
  $("gaps-empty").hidden = true;
  box.appendChild(h("p", { class: "muted loading", role: "status", text: T("gaps.loading") }));
  let r;
  let arts = [];
  try {
    [r, arts] = await Promise.all([
      api("GET", `${KB}/gaps${q({ days: $("gaps-days").value })}`),
      api("GET", `${KB}/articles`).then((x) => (Array.isArray(x.articles) ? x.articles : [])),
    ]);
  } catch (e) {
    if (seq === gapsSeq) clear(box).appendChild(h("p", { class: "errbox", text: T("gaps.load_failed", { error: errText(e) }) }));
    return;
  }
  if (seq !== gapsSeq) return; // a newer load is on its way
  const groups = Array.isArray(r.groups) ? r.groups : [];
  clear(box);
  $("gaps-empty").hidden = groups.length > 0;
  groups.forEach((g, i) => box.appendChild(gapCard(g, i, arts)));
}
function gapCard(g, i, arts) {
  const questions = Array.isArray(g.questions) ? g.questions : [];
  const texts = unique(questions.map((x) => str(x && x.text)));
  const samples = list(g.samples).length ? list(g.samples) : texts.slice(0, 3);
  const ids = Array.isArray(g.question_ids) ? g.question_ids : questions.map((x) => x.id);
  let whys = {};
  if (g.reasons && typeof g.reasons === "object") whys = g.reasons; // counted over the whole group
  else for (const x of questions) whys[x.why] = (whys[x.why] || 0) + 1;
  const headId = `gap-h-${i}`;
  const card = h("article", { class: "card gap", dataset: { qids: ids.join(",") }, "aria-labelledby": headId });
  card.appendChild(h("h3", { id: headId, text: quoted(str(samples[0], texts[0] || "?")) }));
  const dl = h("dl", { class: "facts" });
  dl.append(
    h("dt", { text: T("gaps.visitors") }),
    h("dd", { class: "visitors", text: String(num(g.visitors)) }),
    h("dt", { text: T("gaps.why") }),
    h("dd", {}, Object.entries(whys).map(([k, n]) => h("span", { class: "why why-" + k, dataset: { why: k }, text: whyText(k) + (num(n) > 1 ? ` ×${n}` : "") }))),
    h("dt", { text: T("gaps.last_asked") }),
    h("dd", { text: when(g.last_at) }),
    h("dt", { text: T("gaps.bot_tried") }),
    h("dd", {}, g.article ? h("button", { type: "button", class: "btn link", text: str(g.article.title), onclick: () => openArticle(g.article.id) }) : h("span", { class: "muted", text: T("gaps.no_article") }))
  );
  if (g.agent_reply) dl.append(h("dt", { text: T("gaps.agent_replied") }), h("dd", {}, h("p", { class: "agentreply", text: str(g.agent_reply) })));
  card.appendChild(dl);
  card.appendChild(h("h4", { class: "sr", text: T("gaps.samples") }));
  card.appendChild(h("ul", { class: "samples" }, samples.map((s) => h("li", { text: s }))));
  if (questions.length > samples.length)
    card.appendChild(
      h(
        "details",
        {},
        h("summary", { text: T("gaps.all", { n: questions.length }) }),
        h("ul", { class: "samples" }, questions.map((x) => h("li", {}, str(x.text), " ", h("span", { class: "muted", text: `(${whyText(x.why)}, ${when(x.at)})` }))))
      )
    );

  const create = h("button", { type: "button", class: "btn primary", text: T("gaps.create") });
  const addTo = h("button", { type: "button", class: "btn", text: T("gaps.add_to"), "aria-expanded": "false" });
  const dismiss = h("button", { type: "button", class: "btn", text: T("gaps.dismiss") });
  card.appendChild(h("div", { class: "actions" }, create, addTo, dismiss));

  create.addEventListener("click", () =>
    newArticle(
      { title: str(samples[0], texts[0]), body: str(g.agent_reply), questions: texts, language: "en", category: "" },
      { question_ids: ids, questions: questions.length || ids.length }
    )
  );
  dismiss.addEventListener("click", async () => {
    dismiss.disabled = true;
    try {
      const r = await api("POST", `${KB}/gaps/dismiss`, { question_ids: ids });
      toast(Tn("gaps.dismissed", num(r.dismissed)));
      loadGaps();
    } catch (e) {
      dismiss.disabled = false;
      toast(T("gaps.not_dismissed", { error: errText(e) }), "bad");
    }
  });

  // "Add as phrasings to…": a searchable choice of article and the phrasings to add
  const panel = h("div", { class: "phr", hidden: true });
  const find = h("input", { type: "search", placeholder: T("gaps.filter_ph"), "aria-label": T("gaps.find") });
  const sel = h("select", { size: 6, "aria-label": T("gaps.article") });
  const boxes = texts.map((t) => h("input", { type: "checkbox", checked: true, value: t }));
  const go = h("button", { type: "button", class: "btn primary", text: T("gaps.add") });
  const cancel = h("button", { type: "button", class: "btn", text: T("common.cancel") });
  const fill = () => {
    const want = fold(find.value.trim());
    const keep = sel.value;
    clear(sel);
    for (const a of arts) {
      const label = `${str(a.title)} (${str(a.language)}${a.status === "draft" ? T("gaps.draft_suffix") : ""})`;
      if (want && !fold(label).includes(want)) continue;
      sel.appendChild(h("option", { value: String(a.id), text: label }));
    }
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
    else if (sel.options.length) sel.selectedIndex = 0;
  };
  find.addEventListener("input", fill);
  panel.append(
    h("label", {}, T("gaps.find"), find),
    h("label", {}, T("gaps.article"), sel),
    h("fieldset", {}, h("legend", { text: T("gaps.to_add") }), boxes.map((b) => h("label", {}, b, b.value))),
    h("div", { class: "actions" }, go, cancel)
  );
  card.appendChild(panel);
  addTo.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    addTo.setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) {
      fill();
      if (g.article && [...sel.options].some((o) => o.value === String(g.article.id))) sel.value = String(g.article.id);
      find.focus();
    }
  });
  cancel.addEventListener("click", () => {
    panel.hidden = true;
    addTo.setAttribute("aria-expanded", "false");
  });
  go.addEventListener("click", async () => {
    const id = Number(sel.value);
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!id) return toast(T("gaps.choose"), "bad");
    if (!chosen.length) return toast(T("gaps.tick"), "bad");
    go.disabled = true;
    try {
      const r = await api("POST", `${KB}/gaps/phrasings`, { question_ids: ids, article_id: id, questions: chosen });
      toast(T("gaps.added", { title: str(r.article && r.article.title) }));
      loadGaps();
    } catch (e) {
      go.disabled = false;
      toast(T("gaps.not_added", { error: errText(e) }), "bad");
    }
  });
  return card;
}

// ---------------------------------------------------------------- usefulness
let useRows = [];
let useSort = { key: null, dir: "ascending" }; // null: the server's order (the worst first)
$("use-days").addEventListener("change", loadUsefulness);
for (const th of $("use").tHead.rows[0].cells)
  th.querySelector("button").addEventListener("click", () => {
    const key = th.dataset.key;
    useSort = { key, dir: useSort.key === key && useSort.dir === "ascending" ? "descending" : "ascending" };
    renderUsefulness();
  });
async function loadUsefulness() {
  try {
    const r = await api("GET", `${KB}/usefulness${q({ days: $("use-days").value })}`);
    useRows = Array.isArray(r.articles) ? r.articles : [];
    renderUsefulness();
  } catch (e) {
    clear($("use").tBodies[0]).appendChild(h("tr", {}, h("td", { colspan: 6, text: T("common.load_failed", { error: errText(e) }) })));
  }
}
function renderUsefulness() {
  const { key, dir } = useSort;
  for (const th of $("use").tHead.rows[0].cells) th.setAttribute("aria-sort", th.dataset.key === key ? dir : "none");
  let rows = useRows.slice();
  if (key) {
    const sign = dir === "ascending" ? 1 : -1;
    rows.sort((a, b) => {
      const x = a[key];
      const y = b[key];
      if (x == null && y == null) return 0;
      if (x == null) return 1; // no value: always last
      if (y == null) return -1;
      return sign * (typeof x === "string" ? x.localeCompare(y) : x - y);
    });
  }
  const tb = clear($("use").tBodies[0]);
  $("use-empty").hidden = rows.length > 0;
  for (const a of rows)
    tb.appendChild(
      h(
        "tr",
        { dataset: { id: String(a.article_id) } },
        h("td", {}, h("button", { type: "button", class: "btn link", text: str(a.title), onclick: () => openArticle(a.article_id) })),
        h("td", { class: "num", text: String(num(a.served)) }),
        h("td", { class: "num", text: String(num(a.helpful)) }),
        h("td", { class: "num", text: String(num(a.not_helpful)) }),
        h("td", { class: "num", text: String(num(a.handoffs)) }),
        h("td", { class: "num", text: pct(a.helpful_rate) })
      )
    );
}

// ---------------------------------------------------------------- audit log
async function loadAudit() {
  const tb = clear($("audit").tBodies[0]);
  try {
    const r = await api("GET", `${KB}/audit?limit=200`);
    const rows = Array.isArray(r.entries) ? r.entries : [];
    $("audit-empty").hidden = rows.length > 0;
    for (const x of rows)
      tb.appendChild(
        h(
          "tr",
          {},
          h("td", { class: "nowrap", text: when(x.at) }),
          h("td", { text: x.user ? who(x.user) : T("who.system") }),
          h("td", { text: str(x.action) }),
          h(
            "td",
            {},
            x.entity === "article" && x.entity_id != null
              ? h("button", { type: "button", class: "btn link", text: T("audit.article", { id: x.entity_id }), onclick: () => openArticle(x.entity_id) })
              : str(x.entity) + (x.entity_id != null ? " #" + x.entity_id : "")
          ),
          h("td", { class: "text", text: str(x.summary) })
        )
      );
  } catch (e) {
    tb.appendChild(h("tr", {}, h("td", { colspan: 5, text: T("common.load_failed", { error: errText(e) }) })));
  }
}

// ---------------------------------------------------------------- boot
$("logout").addEventListener("click", async () => {
  if (isDirty() && !(await confirmBox(T("logout.confirm"), T("top.logout")))) return;
  snapshot = JSON.stringify(formValues()); // no "leave the page?" prompt after that
  await logOut();
});

// ---------------------------------------------------------------- the editor's language
// The user's own choice (stored on the server: PUT /api/me/language, so it follows them to another
// browser); never chosen: the browser's language (Greek for a Greek browser, else English).
function myRole() {
  const r = me && me.role;
  return r === "editor" ? T("role.editor") : r === "admin" ? T("role.admin") : r === "agent" ? T("role.agent") : str(r);
}
/** Every text on the page in the current language: the static ones, and what the open view wrote. */
function relabel() {
  applyStatic(d);
  $("ui-lang").value = language();
  if (!me) return;
  $("myname").textContent = `${str(me.display_name, str(me.email))} · ${myRole()}`;
  cannedLabels();
  if (formOpen) renderHead(); // heading, status, meta, save button, translations
  if (shown.conflict && !$("conflict").hidden) showConflict(...shown.conflict);
  show(view, true); // reloads the view: its list, table or cards are written again
  if (formOpen && !$("history").hidden) openHistory();
  if (shown.tryResult && $("try-result").firstChild) renderTry(shown.tryResult);
  if (shown.importResult && !$("i-result").hidden) {
    renderImport(shown.importResult);
    if (shown.importMsg && $("i-msg").textContent) $("i-msg").textContent = shown.importMsg();
  }
}
wireLanguageSwitch($("ui-lang"), {
  api, toast, relabel, saved: () => T("lang.saved"), errorText: errText,
  onSaved: (lang) => { if (me) me.language = lang; },
});

setLanguage(pickLanguage(null)); // "Loading…" already in the likely language
applyStatic(d);

async function boot() {
  const user = await signedIn(toLogin);
  if (!user) return;
  setLanguage(pickLanguage(user.language));
  applyStatic(d);
  $("ui-lang").value = language();
  cannedLabels();
  if (user.role !== "editor" && user.role !== "admin") {
    const box = clear($("boot"));
    box.setAttribute("role", "alert");
    box.append(
      h("p", { text: T("boot.not_editor") }),
      h("p", {}, h("a", { href: "/console/", text: T("boot.to_console") }))
    );
    return;
  }
  me = user;
  $("myname").textContent = `${str(user.display_name, str(user.email))} · ${myRole()}`;
  $("to-console").hidden = user.role !== "admin";
  $("boot").hidden = true;
  $("app").hidden = false;
  const [name, id] = location.hash.replace(/^#\/?/, "").split("/");
  show(VIEWS.includes(name) ? name : "articles", true);
  if (name === "articles" && /^\d+$/.test(id || "")) openArticle(Number(id));
  else setHash();
}
boot();
