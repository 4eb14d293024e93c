// The knowledge-base editor (served at /editor/), for content editors and admins. Speaks the HTTP
// API of docs/editor.md (/api/kb/...). Everything that comes from the server is set with
// textContent; article bodies are rendered only by markdown.js, the widget's safe renderer.
import { markdown } from "./markdown.js";
import { $, clear, h, logOut, makeApi, signedIn, str, toast, when as whenLocal } from "./ui.js";

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
const when = (iso) => whenLocal(utc(iso));
const day = (iso) => {
  const t = new Date(utc(iso));
  return isNaN(t) ? "" : t.toLocaleDateString([], { dateStyle: "medium" });
};
const who = (u) => str(u && u.name, "someone");
const num = (x) => (typeof x === "number" && isFinite(x) ? x : 0);
const score = (x) => (typeof x === "number" ? x.toFixed(3) : "–");
const pct = (x) => (typeof x === "number" ? Math.round(x * 100) + " %" : "–");
const fold = (s) => String(s || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
const list = (v) => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : []);
const unique = (xs) => [...new Set(xs.map((x) => x.trim()).filter(Boolean))];
function statusBadge(status) {
  const s = status === "published" || status === "draft" || status === "deleted" ? status : "draft";
  return h("span", { class: "status st-" + s, text: s === "published" ? "Published" : s === "draft" ? "Draft" : "In the trash" });
}
function errText(e) {
  return e && e.message ? e.message : "failed";
}

// A modal "are you sure" (a <dialog>, not window.confirm): resolves true when confirmed.
function confirmBox(text, okLabel) {
  const dlg = $("confirm");
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = okLabel || "OK";
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
    if (seq === listSeq) clear(box).appendChild(h("li", { class: "muted", text: "Could not load the articles: " + errText(e) }));
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
  $("a-count").textContent = rows.length === 1 ? "1 article" : `${rows.length} articles`;
  if (!rows.length) box.appendChild(h("li", { class: "muted", text: filtered ? "No article matches." : "No articles yet." }));
  for (const a of rows) {
    const meta = [str(a.category), str(a.language), `${num(a.questions_count)} phrasings`, list(a.tags).join(", ")].filter(Boolean);
    box.appendChild(
      h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "result", dataset: { id: String(a.id) }, "aria-current": cur && cur.id === a.id ? "true" : null, onclick: () => openArticle(a.id) },
          h("span", { class: "rtop" }, h("b", { text: str(a.title, "(no title)") }), statusBadge(a.status),
            ...list(a.missing).map((lang) => h("span", { class: "trneed", title: `No ${lang} translation`, text: `no ${lang}` }))),
          h("span", { class: "rmeta", text: meta.join(" · ") }),
          h("span", { class: "rmeta", text: `rev. ${a.revision} · ${when(a.updated_at)}${a.updated_by ? " · " + who(a.updated_by) : ""}` })
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
  $("a-heading").textContent = a ? str(a.title, "(no title)") : "New article";
  const badge = $("a-status");
  badge.className = "status";
  badge.textContent = "";
  if (a) {
    const s = a.deleted_at ? "deleted" : a.status;
    badge.className = "status st-" + s;
    badge.textContent = statusBadge(s).textContent;
  }
  $("a-meta").textContent = a
    ? `Revision ${a.revision}, updated ${a.updated_by ? "by " + who(a.updated_by) + " " : ""}at ${when(a.updated_at)}` +
      (a.deleted_at ? ` · in the trash since ${when(a.deleted_at)}, purged on ${day(a.purge_at)}` : "")
    : "Not saved yet.";
  const published = a && a.status === "published";
  $("a-save").textContent = published ? "Save & publish" : "Save draft";
  $("a-save").classList.toggle("primary", !!published);
  $("a-publish").hidden = !!published;
  $("a-unpublish").hidden = !published;
  $("a-delete").hidden = !a || !!a.deleted_at;
  $("a-history").hidden = !a;
  renderTranslations();
  const gap = $("a-gap");
  gap.hidden = !(gapCtx && !a);
  if (gapCtx && !a)
    gap.textContent = `New article from a knowledge gap (${gapCtx.questions} visitor questions). Saving it resolves the gap.`;
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
  if (!linked.length) ul.appendChild(h("li", { class: "muted", text: "Not linked to a translation." }));
  for (const t of linked)
    ul.appendChild(
      h("li", {}, h("span", { class: "lang", text: str(t.language) }),
        h("a", { href: `#articles/${num(t.id)}`, text: str(t.title, "(no title)"), onclick: (e) => { e.preventDefault(); openArticle(t.id); } }))
    );
  const missing = list(a.missing);
  $("a-tr-missing").hidden = !missing.length;
  $("a-tr-missing").textContent = missing.length ? `No translation in: ${missing.join(", ")}` : "";
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
      sel.appendChild(h("option", { value: String(r.id), text: `${str(r.language)} · ${str(r.title, "(no title)")}` }));
}
async function changeTranslation(method, body) {
  if (!cur) return;
  try {
    const r = await api(method, `${KB}/articles/${encodeURIComponent(cur.id)}/translations`, body);
    cur = Object.assign({}, cur, { translations: r.article.translations, missing: r.article.missing, translation_group: r.article.translation_group });
    renderTranslations();
    loadList();
    toast(method === "POST" ? "Translation linked" : "Unlinked from its translations");
  } catch (e) {
    toast(errText(e), "bad");
  }
}
$("a-tr-link").addEventListener("click", () => {
  const id = parseInt($("a-tr-pick").value, 10);
  if (id) changeTranslation("POST", { article_id: id });
  else toast("Choose the article that translates this one", "bad");
});
$("a-tr-unlink").addEventListener("click", () => changeTranslation("DELETE"));

async function confirmDiscard() {
  if (!isDirty()) return true;
  const name = cur ? `“${str(cur.title)}”` : "the new article";
  return confirmBox(`You have unsaved changes to ${name}. Discard them?`, "Discard changes");
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
    toast("Cannot open the article: " + errText(e), "bad");
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
    $("a-error").textContent = "Not saved: " + errText(e);
    $("a-error").hidden = false;
  }
}

function setBusy(busy) {
  for (const id of ["a-save", "a-publish", "a-unpublish", "a-delete", "h-restore"]) $(id).disabled = busy;
}
const SAVED = { draft: "Saved as a draft.", published: "Saved and published: the bot uses it now." };

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
        ? "Unpublished: the bot no longer uses it."
        : !wasPublished && status === "published"
        ? "Published: the bot uses it now."
        : SAVED[status] || "Saved."
    );
    if (fromGap) toast("The knowledge gap is resolved.");
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
  const ok = await confirmBox(`Move “${str(cur.title)}” to the trash? The bot stops using it at once; it can be restored from the Trash for 30 days.`, "Delete");
  if (!ok) return;
  try {
    await api("DELETE", `${KB}/articles/${cur.id}`);
    toast(`“${str(cur.title)}” is in the trash.`);
    closeForm();
    loadList();
  } catch (e) {
    toast("Not deleted: " + errText(e), "bad");
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
  const box = clear($("conflict"));
  const mine = current.updated_by && me && current.updated_by.id === me.id;
  const headline = mine ? "You saved this article in another window while you were editing" : `${who(current.updated_by)} saved this article while you were editing`;
  const load = h("button", { type: "button", class: "btn", text: "Load their version" });
  const overwrite = h("button", { type: "button", class: "btn primary", text: "Overwrite with mine" });
  box.append(
    h("h3", { text: headline }),
    h("p", { text: `Their version is revision ${current.revision}, saved at ${when(current.updated_at)}. Your changes are not saved: load their version (yours are discarded) or overwrite it with yours.` }),
    h(
      "dl",
      {},
      h("dt", { text: "Title" }),
      h("dd", { class: "c-title", text: str(current.title) }),
      h("dt", { text: "Status" }),
      h("dd", { text: current.status === "published" ? "Published" : "Draft" }),
      h("dt", { text: "Category" }),
      h("dd", { text: str(current.category) }),
      h("dt", { text: "Phrasings" }),
      h("dd", { text: list(current.questions).join(" · ") }),
      h("dt", { text: "Tags" }),
      h("dd", { text: list(current.tags).join(", ") }),
      h("dt", { text: "Body" }),
      h("dd", {}, h("pre", { class: "c-body", text: str(current.body) }))
    ),
    h("div", { class: "actions" }, load, overwrite)
  );
  box.hidden = false;
  box.scrollIntoView({ block: "nearest" });
  load.addEventListener("click", () => {
    loadForm(current);
    toast("Their version is loaded.");
    if (!$("history").hidden) openHistory();
  });
  overwrite.addEventListener("click", () => {
    hideConflict();
    retry(current.revision);
  });
}
function hideConflict() {
  clear($("conflict")).hidden = true;
}

// ---------------------------------------------------------------- history and diffs
const ACTION = {
  created: "created",
  updated: "updated",
  published: "published",
  unpublished: "unpublished",
  deleted: "deleted",
  restored: "restored from the trash",
  reverted: "restored an old revision",
  imported: "imported",
  phrasings_added: "phrasings added",
};
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
    clear($("h-list")).appendChild(h("li", { class: "muted", text: "Could not load the history: " + errText(e) }));
    return;
  }
  const label = (rv) => `#${rv.number} ${ACTION[rv.action] || str(rv.action)}`;
  for (const [sel, blank] of [[$("h-from"), true], [$("h-to"), false]]) {
    clear(sel);
    if (blank) sel.appendChild(h("option", { value: "", text: "(nothing)" }));
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
          h("span", { class: "ract", text: ACTION[rv.action] || str(rv.action) }),
          h("span", { class: "rwho", text: `${rv.editor ? who(rv.editor) : "system"} · ${when(rv.at)}` })
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
  restore.title = to === cur.revision ? "This is the current revision" : `Make revision ${to} the current content again`;
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
    clear(box).appendChild(h("p", { class: "muted", text: `Changes from revision ${from} to revision ${to}:` }));
    const fields = Array.isArray(r.fields) ? r.fields : [];
    if (!fields.length) box.appendChild(h("p", { class: "empty", text: "No differences." }));
    for (const f of fields) box.appendChild(diffField(f));
  } catch (e) {
    if (seq === diffSeq) clear(box).appendChild(h("p", { class: "ferr", text: "Could not load: " + errText(e) }));
  }
}
const FIELD_LABEL = { title: "Title", body: "Body", category: "Category", language: "Language", status: "Status", questions: "Alternative phrasings", tags: "Tags" };
function diffField(f) {
  const box = h("div", { class: "dfield", dataset: { field: str(f.field) } }, h("h4", { text: FIELD_LABEL[f.field] || str(f.field) }));
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
        ol.appendChild(h("li", { class: "d-fold muted", text: `⋯ ${run - 4} unchanged lines` }));
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
    for (const x of list(f.added)) chips.appendChild(h("li", { class: "chip add", "aria-label": "added: " + x, text: "+ " + x }));
    for (const x of list(f.removed)) chips.appendChild(h("li", { class: "chip del", "aria-label": "removed: " + x, text: "− " + x }));
    box.appendChild(chips);
  }
  return box;
}
function lineItem(l) {
  const op = l.op === "insert" || l.op === "delete" ? l.op : "equal";
  const label = op === "insert" ? "added: " : op === "delete" ? "removed: " : "";
  return h("li", { class: "d-" + op, dataset: { op }, "aria-label": label ? label + str(l.text) : null, text: str(l.text) });
}
function renderRevision(box, rv) {
  box.appendChild(h("p", { class: "muted", text: `Revision ${rv.number} as it was (${ACTION[rv.action] || str(rv.action)} by ${rv.editor ? who(rv.editor) : "system"}, ${when(rv.at)}):` }));
  const facts = [
    ["Title", str(rv.title)],
    ["Status", str(rv.status)],
    ["Category", str(rv.category)],
    ["Language", str(rv.language)],
    ["Alternative phrasings", list(rv.questions).join(" · ")],
    ["Tags", list(rv.tags).join(", ")],
  ];
  const dl = h("dl", { class: "revfacts" });
  for (const [k, v] of facts) dl.append(h("dt", { text: k }), h("dd", { text: v }));
  box.append(dl, h("div", { class: "preview md" }, markdown(str(rv.body))));
}
// Restoring brings back a revision's content; the status stays the article's own unless the editor
// picks one here, and the confirmation says which before anything changes.
const restoreStatus = h("select", { id: "h-status", "aria-label": "Status after restoring" });
$("h-restore").before(restoreStatus);
function fillRestoreStatus() {
  const now = cur ? str(cur.status) : "";
  clear(restoreStatus).append(
    h("option", { value: "", text: `Keep the status (${now})` }),
    h("option", { value: "published", text: "Restore and publish" }),
    h("option", { value: "draft", text: "Restore as a draft" })
  );
}
$("h-restore").addEventListener("click", async () => {
  const n = Number($("h-to").value);
  if (!cur || !n) return;
  const status = restoreStatus.value || cur.status;
  const live = status === "published";
  const text =
    `Revision ${n}'s title, text, category, phrasings and tags become the current content (revision ${cur.revision + 1}). ` +
    (status === cur.status
      ? `The article stays ${status}${live ? ": the bot keeps answering with it, now with this content" : ""}.`
      : live
        ? "The article will be published: the bot answers with it at once."
        : "The article becomes a draft: the bot stops using it at once.") +
    (isDirty() ? " Your unsaved changes are discarded." : "");
  if (!(await confirmBox(text, "Restore"))) return;
  await restoreRevision(n, cur.revision, restoreStatus.value || undefined);
});
async function restoreRevision(n, base, status) {
  setBusy(true);
  try {
    const r = await api("POST", `${KB}/articles/${cur.id}/revisions/${n}/restore`, { base_revision: base, status });
    loadForm(r.article);
    toast(`Revision ${n} restored as revision ${r.article.revision}.`);
    loadList();
    selected = null;
    openHistory();
  } catch (e) {
    if (e.code === "conflict" && e.body && e.body.error && e.body.error.current)
      showConflict(e.body.error.current, (rev) => restoreRevision(n, rev, status));
    else toast("Not restored: " + errText(e), "bad");
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
      const restore = h("button", { type: "button", class: "btn small", text: "Restore" });
      restore.addEventListener("click", async () => {
        restore.disabled = true;
        try {
          await api("POST", `${KB}/articles/${a.id}/restore`);
          toast(`“${str(a.title)}” is back${a.status === "published" ? " and published" : " (draft)"}.`);
          loadTrash();
        } catch (e) {
          restore.disabled = false;
          toast("Not restored: " + errText(e), "bad");
        }
      });
      tb.appendChild(
        h(
          "tr",
          { dataset: { id: String(a.id) } },
          h("td", {}, h("b", { text: str(a.title) }), " ", statusBadge(a.status)),
          h("td", { text: str(a.category) }),
          h("td", { text: str(a.language) }),
          h("td", { text: `${when(a.deleted_at)}${a.updated_by ? " by " + who(a.updated_by) : ""}` }),
          h("td", { class: "purge", text: day(a.purge_at) }),
          h("td", { class: "acts" }, restore)
        )
      );
    }
  } catch (e) {
    tb.appendChild(h("tr", {}, h("td", { colspan: 6, text: "Could not load: " + errText(e) })));
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
    $("c-more-vars").textContent = more.length ? ` Also available: ${more.map((v) => `{${v}}`).join(", ")}.` : "";
    $("canned-empty").hidden = rows.length > 0;
    for (const c of rows) {
      const edit = h("button", { type: "button", class: "btn small", text: "Edit", "aria-label": `Edit #${str(c.shortcut)}`, onclick: () => editCanned(c) });
      const del = h("button", { type: "button", class: "btn small danger", text: "Delete", "aria-label": `Delete #${str(c.shortcut)}` });
      del.addEventListener("click", async () => {
        if (!(await confirmBox(`Delete the canned response #${str(c.shortcut)}?`, "Delete"))) return;
        try {
          await api("DELETE", `${KB}/canned/${c.id}`);
          toast(`#${str(c.shortcut)} deleted.`);
          if (editingCanned && editingCanned.id === c.id) resetCannedForm();
          loadCanned();
        } catch (e) {
          toast("Not deleted: " + errText(e), "bad");
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
    tb.appendChild(h("tr", {}, h("td", { colspan: 5, text: "Could not load: " + errText(e) })));
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
  $("c-legend").textContent = `Edit #${str(c.shortcut)}`;
  $("c-submit").textContent = "Save changes";
  $("c-cancel").hidden = false;
  for (const tr of $("canned").tBodies[0].rows) tr.classList.toggle("editing", tr.dataset.id === String(c.id));
  $("c-text").focus();
}
function resetCannedForm() {
  editingCanned = null;
  clearCannedErrors();
  $("canned-form").reset();
  $("c-legend").textContent = "Add a canned response";
  $("c-submit").textContent = "Add";
  $("c-cancel").hidden = true;
  for (const tr of $("canned").tBodies[0].rows) tr.classList.remove("editing");
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
    toast(editingCanned ? `#${body.shortcut} saved.` : `#${body.shortcut} added.`);
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
      $("c-error").textContent = "Not saved: " + errText(err);
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
    $("i-error").textContent = "Choose a file first.";
    $("i-error").hidden = false;
    return;
  }
  const mode = importMode();
  if (!dry && mode === "replace" && lastPreview && list(lastPreview.removed).length) {
    const n = lastPreview.removed.length;
    if (!(await confirmBox(`Replace the knowledge base: ${n} article${n === 1 ? "" : "s"} not in the file move to the trash. Go on?`, "Import")))
      return;
  }
  const key = importKey();
  $("i-error").hidden = true;
  $("i-msg").textContent = dry ? "Checking the file…" : "Importing…";
  $("i-preview").disabled = $("i-run").disabled = true;
  try {
    const r = await api("POST", `${KB}/import${q({ format: $("i-format").value, mode, dry_run: dry ? 1 : 0 })}`, f);
    renderImport(r);
    $("i-msg").textContent = dry ? "Dry run: nothing was written. Press Import to apply it." : "Imported: the bot uses the new content now.";
    previewed = dry ? key : "";
    lastPreview = dry ? r : null;
    if (!dry) toast("Import done.");
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
  const box = clear($("i-result"));
  const dry = !!r.dry_run;
  const added = list(r.added);
  const changed = Array.isArray(r.changed) ? r.changed : [];
  const removed = list(r.removed);
  box.appendChild(
    h("p", {
      class: "summary",
      text: dry
        ? `The import would add ${added.length}, change ${changed.length}, move ${removed.length} to the trash; ${num(r.unchanged)} unchanged.`
        : `Added ${added.length}, changed ${changed.length}, moved ${removed.length} to the trash; ${num(r.unchanged)} unchanged.`,
    })
  );
  const section = (kind, title, items) => {
    if (!items.length) return;
    box.append(h("h3", { text: `${title} (${items.length})` }), h("ul", { dataset: { kind } }, items));
  };
  section("added", dry ? "To add" : "Added", added.map((t) => h("li", { text: t })));
  section(
    "changed",
    dry ? "To change" : "Changed",
    changed.map((c) => h("li", {}, h("span", { text: str(c.title) }), " ", h("span", { class: "fieldnames", text: "(" + list(c.fields).join(", ") + ")" })))
  );
  section("removed", dry ? "To move to the trash" : "Moved to the trash", removed.map((t) => h("li", { text: t })));
  box.appendChild(h("p", { class: "muted", dataset: { kind: "unchanged" }, text: `Unchanged: ${num(r.unchanged)}` }));
  box.hidden = false;
}

// ---------------------------------------------------------------- try the bot
$("try-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("try-q").value.trim();
  const box = clear($("try-result"));
  if (!text) return;
  box.appendChild(h("p", { class: "muted", text: "Asking…" }));
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
function renderTry(r) {
  const box = clear($("try-result"));
  const ans = r.answer;
  const hits = Array.isArray(r.hits) ? r.hits : [];
  const best = hits[0];
  let verdict;
  if (r.answered && ans)
    verdict = h("p", { class: "verdict ok", dataset: { outcome: "answered" }, text: `The bot answers with “${str(ans.title)}” (score ${score(ans.score)}; threshold ${score(r.threshold)}).` });
  else if (r.fallback)
    verdict = h("p", {
      class: "verdict fb",
      dataset: { outcome: "fallback" },
      text: `The bot falls back: it is not sure (${best ? `it tried “${str(best.title)}”, score ${score(best.score)}` : "no article matched"}; threshold ${score(r.threshold)}).`,
    });
  else verdict = h("p", { class: "verdict fb", dataset: { outcome: "other" }, text: "The bot does not answer this from the knowledge base." });
  const dc = r.decision && typeof r.decision === "object" ? r.decision : null;
  box.append(
    verdict,
    h("p", {
      class: "muted",
      id: "try-decision",
      text: dc
        ? `Score ${score(dc.score)} + lead over the runner-up ${score(dc.lead)} = ${score(dc.effective)}, against the threshold ${score(dc.threshold)}: the bot ${dc.answers ? "answers" : "falls back"}.`
        : "The bot answers when the best article's score, plus a bonus for a clear lead over the runner-up, reaches the threshold.",
    })
  );
  if (r.reply) {
    const reply = h("div", { class: "reply md", id: "try-reply" }, markdown(str(r.reply.text)));
    const qr = Array.isArray(r.reply.quick_replies) ? r.reply.quick_replies : [];
    if (qr.length) reply.appendChild(h("div", { class: "qr", "aria-label": "Quick replies" }, qr.map((b) => h("span", { text: str(b && b.title) }))));
    box.append(h("h3", { text: "The reply" }), reply);
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
          h("td", { class: "muted", text: i === 0 ? (r.answered ? "the answer" : "tried") : "" })
        )
      )
    );
    box.append(
      h("h3", { text: "Best matches" }),
      h("div", { class: "tablewrap" }, h("table", { class: "grid", id: "try-hits" }, h("thead", {}, h("tr", {}, h("th", { text: "#" }), h("th", { text: "Article" }), h("th", { class: "num", text: "Score" }), h("th", { text: "" }))), tb))
    );
  }
}

// ---------------------------------------------------------------- knowledge gaps
const WHY = { fallback: "the bot fell back", low_confidence: "low confidence", not_helpful: "“not helpful”", handoff: "handed to a person" };
let gapsSeq = 0;
$("gaps-days").addEventListener("change", loadGaps);
async function loadGaps() {
  const box = clear($("gaps"));
  const seq = ++gapsSeq;
  $("gaps-empty").hidden = true;
  box.appendChild(h("p", { class: "muted loading", role: "status", text: "Grouping the questions…" }));
  let r;
  let arts = [];
  try {
    [r, arts] = await Promise.all([
      api("GET", `${KB}/gaps${q({ days: $("gaps-days").value })}`),
      api("GET", `${KB}/articles`).then((x) => (Array.isArray(x.articles) ? x.articles : [])),
    ]);
  } catch (e) {
    if (seq === gapsSeq) clear(box).appendChild(h("p", { class: "errbox", text: "Could not load the gaps: " + errText(e) }));
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
  card.appendChild(h("h3", { id: headId, text: `“${str(samples[0], texts[0] || "?")}”` }));
  const dl = h("dl", { class: "facts" });
  dl.append(
    h("dt", { text: "Visitors" }),
    h("dd", { class: "visitors", text: String(num(g.visitors)) }),
    h("dt", { text: "Why" }),
    h("dd", {}, Object.entries(whys).map(([k, n]) => h("span", { class: "why why-" + k, dataset: { why: k }, text: (WHY[k] || k) + (num(n) > 1 ? ` ×${n}` : "") }))),
    h("dt", { text: "Last asked" }),
    h("dd", { text: when(g.last_at) }),
    h("dt", { text: "The bot tried" }),
    h("dd", {}, g.article ? h("button", { type: "button", class: "btn link", text: str(g.article.title), onclick: () => openArticle(g.article.id) }) : h("span", { class: "muted", text: "no article" }))
  );
  if (g.agent_reply) dl.append(h("dt", { text: "Agent replied" }), h("dd", {}, h("p", { class: "agentreply", text: str(g.agent_reply) })));
  card.appendChild(dl);
  card.appendChild(h("h4", { class: "sr", text: "Sample questions" }));
  card.appendChild(h("ul", { class: "samples" }, samples.map((s) => h("li", { text: s }))));
  if (questions.length > samples.length)
    card.appendChild(
      h(
        "details",
        {},
        h("summary", { text: `All ${questions.length} questions` }),
        h("ul", { class: "samples" }, questions.map((x) => h("li", {}, str(x.text), " ", h("span", { class: "muted", text: `(${WHY[x.why] || str(x.why)}, ${when(x.at)})` }))))
      )
    );

  const create = h("button", { type: "button", class: "btn primary", text: "Create article" });
  const addTo = h("button", { type: "button", class: "btn", text: "Add as phrasings to…", "aria-expanded": "false" });
  const dismiss = h("button", { type: "button", class: "btn", text: "Dismiss" });
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
      toast(`Dismissed (${num(r.dismissed)} questions).`);
      loadGaps();
    } catch (e) {
      dismiss.disabled = false;
      toast("Not dismissed: " + errText(e), "bad");
    }
  });

  // "Add as phrasings to…": a searchable choice of article and the phrasings to add
  const panel = h("div", { class: "phr", hidden: true });
  const find = h("input", { type: "search", placeholder: "Type to filter the articles", "aria-label": "Find an article" });
  const sel = h("select", { size: 6, "aria-label": "Article" });
  const boxes = texts.map((t) => h("input", { type: "checkbox", checked: true, value: t }));
  const go = h("button", { type: "button", class: "btn primary", text: "Add phrasings" });
  const cancel = h("button", { type: "button", class: "btn", text: "Cancel" });
  const fill = () => {
    const want = fold(find.value.trim());
    const keep = sel.value;
    clear(sel);
    for (const a of arts) {
      const label = `${str(a.title)} (${str(a.language)}${a.status === "draft" ? ", draft" : ""})`;
      if (want && !fold(label).includes(want)) continue;
      sel.appendChild(h("option", { value: String(a.id), text: label }));
    }
    if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
    else if (sel.options.length) sel.selectedIndex = 0;
  };
  find.addEventListener("input", fill);
  panel.append(
    h("label", {}, "Find an article", find),
    h("label", {}, "Article", sel),
    h("fieldset", {}, h("legend", { text: "Phrasings to add" }), boxes.map((b) => h("label", {}, b, b.value))),
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
    if (!id) return toast("Choose an article first.", "bad");
    if (!chosen.length) return toast("Tick at least one phrasing.", "bad");
    go.disabled = true;
    try {
      const r = await api("POST", `${KB}/gaps/phrasings`, { question_ids: ids, article_id: id, questions: chosen });
      toast(`Added to “${str(r.article && r.article.title)}”: the bot knows these questions now.`);
      loadGaps();
    } catch (e) {
      go.disabled = false;
      toast("Not added: " + errText(e), "bad");
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
    clear($("use").tBodies[0]).appendChild(h("tr", {}, h("td", { colspan: 6, text: "Could not load: " + errText(e) })));
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
          h("td", { text: x.user ? who(x.user) : "system" }),
          h("td", { text: str(x.action) }),
          h(
            "td",
            {},
            x.entity === "article" && x.entity_id != null
              ? h("button", { type: "button", class: "btn link", text: "article #" + x.entity_id, onclick: () => openArticle(x.entity_id) })
              : str(x.entity) + (x.entity_id != null ? " #" + x.entity_id : "")
          ),
          h("td", { class: "text", text: str(x.summary) })
        )
      );
  } catch (e) {
    tb.appendChild(h("tr", {}, h("td", { colspan: 5, text: "Could not load: " + errText(e) })));
  }
}

// ---------------------------------------------------------------- boot
$("logout").addEventListener("click", async () => {
  if (isDirty() && !(await confirmBox("You have unsaved changes. Log out anyway?", "Log out"))) return;
  snapshot = JSON.stringify(formValues()); // no "leave the page?" prompt after that
  await logOut();
});

async function boot() {
  const user = await signedIn(toLogin);
  if (!user) return;
  if (user.role !== "editor" && user.role !== "admin") {
    const box = clear($("boot"));
    box.setAttribute("role", "alert");
    box.append(
      h("p", { text: "This page is for content editors: your account answers chats." }),
      h("p", {}, h("a", { href: "/console/", text: "Go to the agent console" }))
    );
    return;
  }
  me = user;
  $("myname").textContent = `${str(user.display_name, str(user.email))} · ${str(user.role)}`;
  $("to-console").hidden = user.role !== "admin";
  $("boot").hidden = true;
  $("app").hidden = false;
  const [name, id] = location.hash.replace(/^#\/?/, "").split("/");
  show(VIEWS.includes(name) ? name : "articles", true);
  if (name === "articles" && /^\d+$/.test(id || "")) openArticle(Number(id));
  else setHash();
}
boot();
