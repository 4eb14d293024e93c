// The console's Visitors view: who is on the shop now (engage/, GET /api/console/visitors), with
// "Invite to chat" for a visitor who is browsing. Every text from the server is set as text.
import { clear, h, str, toast } from "./ui.js";
import { T } from "./staff_i18n.js";

// What the visitor reads, so in the visitor's language (not the agent's): the message is theirs to edit.
const DEFAULT_INVITE = { en: "Hi! Can I help you find something?", el: "Γεια σας! Μπορώ να σας βοηθήσω να βρείτε κάτι;" };

const forms = new Map(); // visitor ref -> the open invitation form, kept across refreshes

function pageCell(r, dur) {
  const cell = h(
    "td",
    { class: "page" },
    h("div", { text: str(r.page_title, "–") }),
    h("div", { class: "muted url", text: str(r.page_url) }),
    r.time_on_page_s != null ? h("div", { class: "muted", text: T("c.ov.on_page", { time: dur(r.time_on_page_s) }) }) : null
  );
  const pages = Array.isArray(r.pages) ? r.pages : [];
  if (pages.length) cell.title = pages.map((p) => str(p && (p.title || p.url))).join("\n");
  return cell;
}

function inviteForm(r, api, done) {
  const input = h("input", { type: "text", maxlength: "300", value: DEFAULT_INVITE[str(r.language || (r.visitor && r.visitor.language)).slice(0, 2).toLowerCase()] || DEFAULT_INVITE.en, "aria-label": T("c.ov.invite_label") });
  const form = h(
    "form",
    { class: "invite" },
    input,
    h("button", { type: "submit", class: "btn small primary", text: T("c.chat.send") }),
    h("button", { type: "button", class: "btn small", text: T("common.cancel"), onclick: () => done(false) })
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api("POST", `/api/console/visitors/${encodeURIComponent(r.ref)}/invite`, { message: input.value });
      toast(T("c.ov.invited_toast"));
      done(true);
    } catch (err) {
      toast(err.message || T("c.ov.not_invited"), "bad");
    }
  });
  setTimeout(() => input.focus(), 0);
  return form;
}

/** Fill the Visitors table's body with `rows`; `ui` brings the console's helpers and actions. */
export function renderVisitors(tbody, rows, ui) {
  clear(tbody);
  const refresh = () => renderVisitors(tbody, rows, ui);
  for (const r of rows) {
    const v = r.visitor || {};
    const acts = h("td", { class: "acts" });
    if (r.can_open) acts.appendChild(h("button", { type: "button", class: "btn small", text: T("c.ov.view"), onclick: () => ui.viewLive(r.conversation_id) }));
    if (r.can_take_over)
      acts.appendChild(h("button", { type: "button", class: "btn small primary", text: T("c.take_over"), onclick: () => ui.takeOver(r.conversation_id) }));
    if (r.can_invite && r.ref) {
      if (forms.has(r.ref)) acts.appendChild(forms.get(r.ref));
      else if (r.invited) acts.appendChild(h("span", { class: "muted", text: T("c.ov.invited") }));
      else
        acts.appendChild(
          h("button", {
            type: "button",
            class: "btn small",
            text: T("c.ov.invite"),
            onclick: () => {
              forms.set(r.ref, inviteForm(r, ui.api, (sent) => {
                forms.delete(r.ref);
                if (sent) r.invited = true;
                refresh();
              }));
              refresh();
            },
          })
        );
    }
    const who = r.conversation_id ? ui.visitorName(v, r.conversation_id) : T("c.visitor_n", { id: str(r.ref).slice(0, 6) });
    const kind = r.returning == null ? "" : r.returning ? T("c.ov.returning", { n: r.visit_no }) : T("c.ov.new_visitor");
    tbody.appendChild(
      h(
        "tr",
        { dataset: { cid: r.conversation_id || "", ref: r.ref || "" } },
        h("td", {}, h("div", { text: who }), h("div", { class: "muted", text: str(v.email) }), kind ? h("div", { class: "muted", text: kind }) : null),
        h("td", {}, r.state ? ui.stateBadge(r.state) : h("span", { class: "state s-browsing", text: T("c.ov.browsing") }), r.agent_name ? h("div", { class: "muted", text: r.agent_name }) : null),
        pageCell(r, ui.dur),
        h("td", { class: "num", text: String(r.pages_seen || 0) }),
        h("td", { class: "num", text: ui.dur(r.time_on_site_s) }),
        h("td", { class: "url", text: str(r.referrer, "–") }),
        h("td", { text: str(r.language || v.language, "–") }),
        acts
      )
    );
  }
  for (const ref of forms.keys()) if (!rows.some((r) => r.ref === ref)) forms.delete(ref); // left the site
}
