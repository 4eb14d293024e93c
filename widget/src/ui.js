// Small DOM and HTTP helpers shared by the agent console and the knowledge-base editor.
// Every text that comes from the server is set with textContent (h's `text` prop, string kids).

const d = document;

export const $ = (id) => d.getElementById(id);

/** h("button", {class, text, onclick, dataset, ...attributes}, ...kids): an element. */
export function h(tag, props, ...kids) {
  const e = d.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = String(v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else if (k in e && typeof v !== "string") e[k] = v;
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid == null || kid === false) continue;
    e.appendChild(typeof kid === "string" || typeof kid === "number" ? d.createTextNode(String(kid)) : kid);
  }
  return e;
}

export const clear = (e) => {
  while (e.firstChild) e.removeChild(e.firstChild);
  return e;
};

export const str = (v, fallback = "") => (typeof v === "string" && v ? v : fallback);

/** A date and time in the user's locale, Greek on a page shown in Greek ("" for a missing or bad one). */
export function when(iso) {
  const t = new Date(iso);
  const locale = d.documentElement.lang === "el" ? "el-GR" : [];
  return isNaN(t) ? "" : t.toLocaleString(locale, { dateStyle: "medium", timeStyle: "short" });
}

/** A short message in the page's #toasts box for 6 s; kind "bad" for failures. */
export function toast(text, kind) {
  const t = h("div", { class: "toast " + (kind || ""), text });
  $("toasts").appendChild(t);
  setTimeout(() => t.remove(), 6000);
}

// ---------------------------------------------------------------- HTTP
/** An API error: .code (the server's error code, or "http_<status>"), .status, .field and .body
 *  (the whole JSON answer, e.g. the `current` article of a conflict). */
export class ApiError extends Error {
  constructor(err, status, body) {
    super((err && err.message) || "request failed");
    this.code = (err && err.code) || "http_" + status;
    this.status = status;
    this.field = (err && err.field) || null;
    this.body = body == null ? null : body;
  }
}

/**
 * A fetch wrapper for the app's JSON APIs: api(method, path, body?). The CSRF header
 * X-Requested-With: shopchat goes with every request; a JSON body is sent as JSON, a Blob or
 * ArrayBuffer as raw bytes (application/octet-stream). A 401 calls onUnauthorized (go to the login
 * page) and throws; any other error answer `{"error": {code, message}}` throws an ApiError.
 */
export function makeApi(onUnauthorized) {
  return async function api(method, path, body) {
    const headers = { "X-Requested-With": "shopchat", Accept: "application/json" };
    const raw = typeof Blob !== "undefined" && (body instanceof Blob || body instanceof ArrayBuffer);
    if (body !== undefined) headers["Content-Type"] = raw ? "application/octet-stream" : "application/json";
    const r = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
    if (r.status === 401) {
      if (onUnauthorized) onUnauthorized();
      throw new ApiError({ code: "not_logged_in", message: "log in again" }, 401);
    }
    let data = null;
    try {
      data = await r.json();
    } catch (e) {
      data = null;
    }
    if (!r.ok) throw new ApiError(data && data.error, r.status, data);
    return data || {};
  };
}

/** Log out (POST /logout with the CSRF header) and go to the login page. */
export async function logOut() {
  try {
    await fetch("/logout", { method: "POST", credentials: "same-origin", headers: { "X-Requested-With": "shopchat" } });
  } finally {
    location.replace("/login");
  }
}

/** The logged-in user from /api/me, for a page's start. Logged out: `toLogin()` and null; server
 * unreachable: says so in the #boot box and null. */
export async function signedIn(toLogin) {
  try {
    const r = await fetch("/api/me", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (r.status !== 401) return await r.json();
    toLogin();
  } catch (e) {
    $("boot").textContent = "Cannot reach the server. Reload the page to try again.";
  }
  return null;
}
