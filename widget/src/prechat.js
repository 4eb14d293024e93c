// The pre-chat form (engage/prechat.py): when an admin switched it on "before any chat", a new
// conversation starts with it; the composer waits until it is sent. "Before a chat with a person"
// (mode `person`): the server sends `handoff` `prechat` when the visitor asks for a person, the form
// comes then (and again after a reload until sent or put off), and its answers, sent with the
// handoff's reason, continue the handoff. Built from the server's settings; every label is set as
// text. The server checks every answer again.
const LABELS = {
  en: { name: "Name", email: "E-mail", phone: "Phone", order: "Order number", consent: "I agree to the privacy policy", choice: "Topic",
        title: "Before we start", intro: "So we can help you faster.", submit: "Start chat", required: "Required", privacy: "Privacy policy",
        personTitle: "Before we connect you", personIntro: "A few details for the person who will help you.", personSubmit: "Talk to a person", notNow: "Not now" },
  el: { name: "Όνομα", email: "E-mail", phone: "Τηλέφωνο", order: "Αριθμός παραγγελίας", consent: "Συμφωνώ με την πολιτική απορρήτου", choice: "Θέμα",
        title: "Πριν ξεκινήσουμε", intro: "Για να σας βοηθήσουμε πιο γρήγορα.", submit: "Έναρξη συνομιλίας", required: "Υποχρεωτικό", privacy: "Πολιτική απορρήτου",
        personTitle: "Πριν σας συνδέσουμε", personIntro: "Λίγα στοιχεία για τον άνθρωπο που θα σας βοηθήσει.", personSubmit: "Μιλήστε με άνθρωπο", notNow: "Όχι τώρα" },
};
const DONE_KEY = "shopchat.prechat.";
const PENDING_KEY = "shopchat.prechat.person."; // + sid: the reason of a handoff waiting for the form

function el(tag, props, text) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  if (text != null) e.textContent = text;
  return e;
}

/** Show the form if it is due: {sid, fresh, lang, box (where it goes), composer, put, get, done(),
 * reason (set when the server asked for the form before a person: `handoff` `prechat`)}. */
export async function maybePrechat(o) {
  if (!o.sid || o.get(DONE_KEY + o.sid) || document.getElementById("pre")) return;
  if (o.reason) o.put(PENDING_KEY + o.sid, String(o.reason).slice(0, 40));
  const reason = o.get(PENDING_KEY + o.sid);
  let cfg;
  try {
    cfg = await (await fetch("../engage/prechat", { credentials: "omit" })).json();
  } catch (e) {
    return; // the chat works without it
  }
  if (document.getElementById("pre") || !cfg || !Array.isArray(cfg.fields) || !cfg.fields.length) return;
  const person = cfg.mode === "person" && !!reason;
  if (!person && (cfg.mode !== "always" || !o.fresh())) return;
  const L = LABELS[o.lang] || LABELS.en;
  const texts = (cfg.texts && (cfg.texts[o.lang] || cfg.texts.en)) || {};
  const form = el("form", { className: "card pre", id: "pre", noValidate: true });
  form.appendChild(el("h2", {}, texts.title || (person ? L.personTitle : L.title)));
  form.appendChild(el("p", {}, texts.intro || (person ? L.personIntro : L.intro)));
  const inputs = {};
  for (const f of cfg.fields) {
    const label = (f.labels && (f.labels[o.lang] || f.labels.en) || {}).label || L[f.kind];
    const id = "pre-" + f.kind;
    let input;
    if (f.kind === "consent") {
      input = el("input", { type: "checkbox", id });
      Object.assign(input.style, { width: "auto", flex: "none", margin: "3px 0 0" }); // a box, not a text field's width
      const lab = el("label", { htmlFor: id, className: "chk" });
      lab.append(input, " " + label);
      form.appendChild(lab);
      if (f.privacy_url) form.appendChild(el("a", { href: f.privacy_url, target: "_blank", rel: "noopener" }, L.privacy));
    } else {
      form.appendChild(el("label", { htmlFor: id }, label + (f.required ? "" : " (" + (o.lang === "el" ? "προαιρετικά" : "optional") + ")")));
      if (f.kind === "choice") {
        input = el("select", { id });
        input.appendChild(el("option", { value: "" }, "–"));
        for (const opt of f.options || []) input.appendChild(el("option", { value: opt }, opt));
      } else
        input = el("input", { id, type: f.kind === "email" ? "email" : f.kind === "phone" ? "tel" : "text",
                              autocomplete: { name: "name", email: "email", phone: "tel" }[f.kind] || "off" });
      form.appendChild(input);
    }
    input.required = !!f.required;
    const err = el("div", { className: "ferr", id: id + "E" });
    input.setAttribute("aria-describedby", err.id);
    form.appendChild(err);
    inputs[f.kind] = { input, err, f };
    input.addEventListener(f.kind === "consent" || f.kind === "choice" ? "change" : "input", () => {
      err.textContent = ""; // answered: the last check's error goes
      input.removeAttribute("aria-invalid");
    });
  }
  const sendErr = el("div", { className: "ferr", role: "alert" });
  form.append(sendErr, el("div", { className: "acts" }));
  form.lastChild.appendChild(el("button", { type: "submit", className: "btn" }, texts.submit || (person ? L.personSubmit : L.submit)));
  const close = () => {
    window.removeEventListener("storage", elsewhere);
    o.put(PENDING_KEY + o.sid, null);
    form.remove();
    o.composer.hidden = false;
  };
  // sent (or put off) in another tab of this visitor: it goes from this one too
  const elsewhere = (e) => {
    if ((e.key === DONE_KEY + o.sid && e.newValue) || (person && e.key === PENDING_KEY + o.sid && e.newValue == null)) close();
  };
  window.addEventListener("storage", elsewhere);
  if (person) {
    // before a person the visitor may also go on with the bot: the form comes back at the next request
    const later = el("button", { type: "button", className: "btn ghost", id: "pre-later" }, L.notNow);
    later.addEventListener("click", () => (close(), o.done()));
    form.lastChild.appendChild(later);
    o.box.appendChild(form); // under the conversation, where the visitor asked
    form.scrollIntoView({ block: "start" }); // its title first
  } else o.box.prepend(form);
  o.composer.hidden = true;
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const answers = {};
    let first = null;
    for (const [kind, { input, err, f }] of Object.entries(inputs)) {
      const value = kind === "consent" ? input.checked : input.value.trim();
      const missing = f.required && (kind === "consent" ? !value : !value);
      err.textContent = missing ? L.required : "";
      input.toggleAttribute("aria-invalid", missing);
      if (missing && !first) first = input;
      if (value !== "" && value !== false) answers[kind] = value;
    }
    if (first) return first.focus();
    const r = await fetch("../engage/prechat", { method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(person ? { session_id: o.sid, answers, handoff: reason } : { session_id: o.sid, answers }) }).catch(() => null);
    const body = r && (await r.json().catch(() => null));
    if (!r || !r.ok) {
      const bad = body && body.error && inputs[body.error.field];
      if (bad) return (bad.err.textContent = body.error.message), bad.input.focus();
      sendErr.textContent = (body && body.error && body.error.message) || "Could not send; try again.";
      return;
    }
    o.put(DONE_KEY + o.sid, "1");
    close();
    o.done();
  });
  const firstInput = form.querySelector("input,select");
  if (firstInput) firstInput.focus({ preventScroll: true });
}
