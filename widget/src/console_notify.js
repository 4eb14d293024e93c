// Agents who never miss a chat (docs/attachments.md, "Notifications"): desktop notifications
// through the browser's Notification API (asked once, with a button), a sound, and the title
// flash; each an agent preference stored on the server (/api/console/preferences), so it follows
// the agent to another browser. Browsers keep sound off until the page gets one click or key press:
// the console asks for it with a bar until then.
import { h, toast } from "./ui.js";

export const prefs = { desktop: false, sound: true, title_flash: true };
const LABELS = { sound: "Sound", title_flash: "Flash the tab's title", desktop: "Desktop notifications" };
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
    h("span", { text: "Browsers keep sound off until you interact with the page. " }),
    h("button", { type: "button", class: "btn", id: "sound-on", text: "Turn on sound", onclick: () => { unlock(); checkSound(); } })
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
    toast("Preferences not saved: " + (e.message || "error"), "bad");
  }
  render();
  checkSound();
}

function drawMenu(before) {
  const btn = h("button", { type: "button", class: "btn ghost", id: "notif-btn", "aria-expanded": "false", text: "Notifications" });
  panel = h("div", { class: "notif-panel", id: "notif-panel", role: "group", "aria-label": "Notifications", hidden: true });
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
    panel.appendChild(h("label", { class: "switch" }, box, " " + LABELS[key]));
  }
  const status = h("p", { class: "muted", id: "notif-status" });
  if (perm === "default")
    panel.appendChild(h("button", { type: "button", class: "btn", id: "notif-allow", text: "Allow desktop notifications", onclick: askPermission }));
  status.textContent =
    perm === "granted"
      ? prefs.desktop
        ? "Desktop notifications are on."
        : "This browser allows desktop notifications."
      : perm === "denied"
        ? "Desktop notifications are blocked for this site: allow them in the browser's site settings."
        : perm === "unsupported"
          ? "This browser has no desktop notifications."
          : "The browser will ask once.";
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
