// Agents who never miss a chat (docs/attachments.md, "Notifications"): desktop notifications
// through the browser's Notification API (asked once, with a button), a sound, and the title
// flash; each an agent preference stored on the server (/api/console/preferences), so it follows
// the agent to another browser. Browsers keep sound off until the page gets one click or key press:
// the console asks for it with a bar until then.
import { h, toast } from "./ui.js";
import { T, live } from "./staff_i18n.js";

export const prefs = { desktop: false, sound: true, title_flash: true };
const LABELS = { sound: () => T("c.n.sound"), title_flash: () => T("c.n.title_flash"), desktop: () => T("c.n.desktop") };
const hasApi = () => typeof window.Notification === "function";
const permission = () => (hasApi() ? Notification.permission : "unsupported");

let api = null;
let panel = null;
let soundBar = null;
let audioRunning = () => false;
let unlock = () => {};

/** Wire the preferences into the console: `opts.api` (ui.makeApi), `opts.audioRunning()`,
 *  `opts.unlockAudio()`; draws the bell menu before `opts.before` and the sound bar before `opts.bar`. */
export async function setupNotifications(opts) {
  api = opts.api;
  audioRunning = opts.audioRunning;
  unlock = opts.unlockAudio;
  try {
    Object.assign(prefs, (await api("GET", "/api/console/preferences")).preferences);
  } catch (e) {
    /* the defaults */
  }
  drawMenu(opts.before);
  soundBar = h(
    "div",
    { class: "soundbar", id: "soundbar", role: "status", hidden: true },
    live(h("span"), () => T("c.n.sound_off") + " "),
    live(h("button", { type: "button", class: "btn", id: "sound-on", onclick: () => { unlock(); checkSound(); } }), () => T("c.n.sound_on"))
  );
  opts.bar.before(soundBar);
  const later = () => setTimeout(checkSound, 50);
  document.addEventListener("pointerdown", later, { passive: true });
  document.addEventListener("keydown", later, { passive: true });
  checkSound();
}

/** The bar asking for the one interaction, shown while sound is wanted and not yet allowed. */
export function checkSound() {
  if (soundBar) soundBar.hidden = !prefs.sound || audioRunning();
}

async function save(change) {
  const before = Object.assign({}, prefs);
  Object.assign(prefs, change);
  try {
    Object.assign(prefs, (await api("PUT", "/api/console/preferences", change)).preferences);
  } catch (e) {
    Object.assign(prefs, before);
    toast(T("c.n.not_saved", { error: e.message || T("common.failed") }), "bad");
  }
  render();
  checkSound();
}

function drawMenu(before) {
  const btn = live(h("button", { type: "button", class: "btn ghost", id: "notif-btn", "aria-expanded": "false" }), () => T("c.n.menu"));
  panel = live(h("div", { class: "notif-panel", id: "notif-panel", role: "group", hidden: true }), () => T("c.n.menu"), "aria-label");
  btn.addEventListener("click", () => {
    panel.hidden = !panel.hidden;
    btn.setAttribute("aria-expanded", String(!panel.hidden));
    render();
  });
  const wrap = h("div", { class: "notif" }, btn, panel);
  before.before(wrap);
  document.addEventListener("click", (e) => {
    if (!wrap.contains(e.target)) (panel.hidden = true), btn.setAttribute("aria-expanded", "false");
  });
}

function render() {
  if (!panel) return;
  while (panel.firstChild) panel.firstChild.remove();
  const perm = permission();
  for (const key of ["sound", "title_flash", "desktop"]) {
    const box = h("input", { type: "checkbox", id: "pref-" + key });
    box.checked = !!prefs[key];
    box.addEventListener("change", () => {
      if (key === "desktop" && box.checked && perm !== "granted") return void askPermission();
      save({ [key]: box.checked });
    });
    if (key === "desktop" && (perm === "denied" || perm === "unsupported")) box.disabled = true;
    panel.appendChild(h("label", { class: "switch" }, box, " ", live(h("span"), LABELS[key])));
  }
  const status = h("p", { class: "muted", id: "notif-status" });
  if (perm === "default")
    panel.appendChild(live(h("button", { type: "button", class: "btn", id: "notif-allow", onclick: askPermission }), () => T("c.n.allow")));
  const on = prefs.desktop;
  live(status, () =>
    perm === "granted"
      ? on
        ? T("c.n.on")
        : T("c.n.allowed")
      : perm === "denied"
        ? T("c.n.blocked")
        : perm === "unsupported"
          ? T("c.n.unsupported")
          : T("c.n.will_ask")
  );
  panel.appendChild(status);
}

async function askPermission() {
  if (!hasApi()) return render();
  let result = Notification.permission;
  try {
    result = await Notification.requestPermission();
  } catch (e) {
    /* an old browser's callback form: the state below tells */
  }
  if (result === "granted") await save({ desktop: true });
  else {
    if (prefs.desktop) await save({ desktop: false });
    render();
  }
}

/** A desktop notification, when wanted, allowed, and the console is not in front. */
export function desktop(title, body, tag) {
  if (!prefs.desktop || permission() !== "granted") return null;
  if (!document.hidden && document.hasFocus()) return null;
  try {
    const n = new Notification(title, { body: body || "", tag: tag || "", renotify: !!tag });
    n.onclick = () => {
      window.focus();
      n.close();
    };
    return n;
  } catch (e) {
    return null; // e.g. Android Chrome needs a service worker for this
  }
}
