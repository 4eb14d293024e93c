/*
 * ShopChat loader: the one script a shop embeds.
 *
 *   <script src="https://CHAT-HOST/widget/loader.js" async></script>
 *
 * Dependency-free and tiny. It draws the launcher at once (inside a shadow root, so the shop's CSS
 * cannot reach it) and loads the chat UI, an iframe served by CHAT-HOST, only when the visitor opens
 * it, or at once when the visitor had it open on the previous page of this tab.
 * Options (attributes of the script tag): data-color, data-position="left|right", data-lang,
 * data-title, data-icon="chat|help|mail|bag", data-text (the launcher's text), data-track="off" (no
 * page views, so no invitations by rule). Each wins over the admins' appearance settings
 * (GET /engage/launcher, kept a minute by the browser and remembered for the next page).
 * Global API: window.ShopChat.open(), .close(), .toggle(); shopchat("conversion", {...}).
 *
 * Live visitors (engage/, docs/engage.md): one small POST per page view and a heartbeat every
 * ~20 s (the server says how often) tell the agents who is on the site; the answer may carry an
 * invitation, which pops by the launcher without loading the chat until the visitor accepts it.
 */
(function () {
  var w = window;
  var d = document;
  if (w.ShopChat) return; // embedded twice: the first copy wins

  var script =
    d.currentScript || d.querySelector('script[src*="/widget/loader.js"]');
  if (!script) return;
  var src = script.src;
  var chatOrigin = new URL(src).origin;
  // BUILD_VERSION is replaced at build time with a hash of the chat bundle (cache busting).
  var chatUrl = new URL("chat.html?v=" + BUILD_VERSION, src).href;
  var NS = "shopchat";
  var KEY = "shopchat:open";
  var BEAT = new URL("../engage/beat", src).href;

  function attr(name) {
    return script.getAttribute("data-" + name) || "";
  }
  // data-lang, else the page's own <html lang>, else the browser's
  var lang = (attr("lang") || d.documentElement.lang || navigator.language || "en").slice(0, 2).toLowerCase();
  var el = lang === "el";
  var look; // the admins' launcher settings {c, p, i, t: {lang: text}} (engage/appearance.py)
  try {
    look = JSON.parse(ls("shopchat:ap"));
  } catch (e) {}
  fetch(new URL("../engage/launcher", src).href, { credentials: "omit" })
    .then(function (r) {
      return r.json();
    })
    .then(function (a) {
      ls("shopchat:ap", JSON.stringify((look = a)));
      if (btn) draw();
    })
    .catch(function () {})
    .then(function () {
      if (wrap) wrap.style.visibility = "";
    });
  var T = el
    ? { open: "Άνοιγμα συνομιλίας", close: "Κλείσιμο συνομιλίας", unread: " μη αναγνωσμένα" }
    : { open: "Open chat", close: "Close chat", unread: " unread" };

  // The browser's random id and visit counter on the shop's own origin (a visit ends after 30 min
  // without a page).
  function ls(k, v) {
    try {
      if (v != null) localStorage.setItem(k, v);
      return localStorage.getItem(k);
    } catch (e) {
      return v; // storage blocked: a new visitor on every page
    }
  }
  function hex(n) {
    return Array.prototype.map
      .call(crypto.getRandomValues(new Uint8Array(n)), function (b) {
        return (b + 256).toString(16).slice(1);
      })
      .join("");
  }
  var vid = ls("shopchat:vid");
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(vid || "")) vid = ls("shopchat:vid", hex(16));
  var visit = (ls("shopchat:visit") || "0,0").split(",");
  var visitNo = (+visit[0] || 0) + (Date.now() - (+visit[1] || 0) > 18e5 ? 1 : 0);
  var track = attr("track") !== "off";
  var hbTimer, hbSec = 20, lastUrl, inv, invEl, invTimer, pageKey;

  function beat(e, extra) {
    if (!track) return;
    if (e === "hb" && location.href !== lastUrl) e = "pv"; // a single-page shop changed the URL
    var b = { v: vid, e: e, n: visitNo, u: location.href };
    if (e === "pv") pageKey = hex(8); // this page view: its goodbye names it (a reload is another one)
    if (e === "pv" || e === "bye") b.p = pageKey;
    if (e === "pv") {
      lastUrl = b.u;
      b.t = d.title;
      b.r = d.referrer;
      b.l = lang;
    }
    for (var k in extra) b[k] = extra[k];
    var body = JSON.stringify(b);
    if (e === "bye") return navigator.sendBeacon && navigator.sendBeacon(BEAT, body);
    ls("shopchat:visit", visitNo + "," + Date.now());
    // text/plain and no cookies: a "simple" cross-origin request, no preflight
    fetch(BEAT, { method: "POST", body: body, credentials: "omit", keepalive: true })
      .then(function (r) {
        return r.json();
      })
      .then(function (o) {
        if (o.hb > 0) hbSec = o.hb;
        if (o.inv && o.inv.m && !inv && !isOpen) {
          inv = o.inv;
          clearTimeout(invTimer);
          invTimer = setTimeout(showInvite, (+inv.a || 0) * 1000);
        }
      })
      .catch(function () {})
      .then(function () {
        // the next heartbeat once this answer said how often
        if (e !== "pv" && e !== "hb") return;
        clearTimeout(hbTimer);
        hbTimer = setTimeout(function () {
          beat("hb");
        }, hbSec * 1000);
      });
  }
  function invEvent(kind) {
    beat(kind, { k: inv.k, i: inv.i });
  }
  function hideInvite() {
    if (invEl) invEl.remove();
    invEl = null;
  }
  function showInvite() {
    if (invEl || isOpen || !inv) return;
    invEl = d.createElement("div");
    invEl.className = "i";
    invEl.setAttribute("role", "status");
    var t = d.createElement("button");
    t.type = "button";
    t.className = "it";
    if (inv.n) {
      var who = d.createElement("b");
      who.textContent = inv.n;
      t.appendChild(who);
    }
    t.appendChild(d.createTextNode(inv.m)); // text, never markup
    t.onclick = function () {
      invEvent("accepted");
      inv.ok = 1;
      hideInvite();
      open();
    };
    var x = d.createElement("button");
    x.type = "button";
    x.className = "ix";
    x.setAttribute("aria-label", T.close);
    x.textContent = "\u00d7";
    x.onclick = function () {
      invEvent("dismissed");
      hideInvite();
      inv = null;
    };
    invEl.appendChild(t);
    invEl.appendChild(x);
    wrap.appendChild(invEl);
    invEvent("shown");
  }

  // Open/closed survives navigation within this tab (the host page's sessionStorage).
  function store(v) {
    try {
      if (v) sessionStorage.setItem(KEY, v);
      return sessionStorage.getItem(KEY);
    } catch (e) {
      return null; // storage blocked: the chat simply starts closed on every page
    }
  }

  var CSS =
    ":host{all:initial!important}" +
    "*{box-sizing:border-box}" +
    ".l,.p{position:fixed;z-index:2147483000}.l,.p,.i{right:20px}.L .l,.L .p,.L .i{right:auto;left:20px}" +
    ".l{bottom:20px;width:60px;height:60px;margin:0;padding:0;border:0;border-radius:50%;cursor:pointer;" +
    "background:var(--c,#1f5f4a);color:#fff;display:flex;align-items:center;justify-content:center;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);transition:transform .15s ease;-webkit-tap-highlight-color:transparent}" +
    ".l:hover{transform:scale(1.06)}" +
    ".l.t{width:auto;max-width:calc(100vw - 40px);padding:0 22px 0 17px;border-radius:30px;gap:9px;font:600 16px/1 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".lt{white-space:nowrap;overflow:hidden;text-overflow:ellipsis}.o .l.t{width:60px;padding:0}.o .lt,.lt:empty{display:none}" +
    ".l:focus{outline:none}" +
    ".l:focus-visible{outline:3px solid #fff;box-shadow:0 0 0 6px var(--c,#1f5f4a),0 4px 14px rgba(0,0,0,.25)}" +
    ".l svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}" +
    ".l .x,.o .l .m{display:none}.o .l .x{display:block}" +
    ".b{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;" +
    "border-radius:11px;background:#d92d20;color:#fff;font:700 12px/22px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;text-align:center;border:2px solid #fff}" +
    ".L .b{right:auto;left:-4px}.b[hidden],.p[hidden]{display:none}" +
    ".p{bottom:92px;width:370px;height:560px;max-height:calc(100vh - 112px);border-radius:16px;overflow:hidden;" +
    "background:#fff;box-shadow:0 12px 40px rgba(0,0,0,.22)}" +
    ".i{position:fixed;z-index:2147483000;bottom:92px;max-width:min(300px,calc(100vw - 40px));" +
    "background:#fff;color:#1d2b25;border-radius:14px;box-shadow:0 8px 28px rgba(0,0,0,.2);font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".it{all:unset;display:block;cursor:pointer;padding:12px 34px 12px 14px;border-radius:14px;white-space:pre-wrap;overflow-wrap:anywhere}" +
    ".it b{display:block;font-size:13px;color:var(--c,#1f5f4a)}.it:focus-visible,.ix:focus-visible{outline:2px solid var(--c,#1f5f4a)}" +
    ".ix{all:unset;position:absolute;top:4px;right:6px;width:24px;height:24px;text-align:center;font:20px/24px sans-serif;color:#667;cursor:pointer}" +
    ".p iframe{display:block;width:100%;height:100%;border:0;margin:0;padding:0}" +
    "@media (max-width:480px){.p,.L .p{left:0;right:0;top:0;bottom:0;width:100%;height:100%;max-height:none;border-radius:0}" +
    ".o .l{display:none}}" +
    "@media (prefers-reduced-motion:reduce){.l{transition:none}}";

  // The launcher's icons (engage/appearance.py ICONS), static markup.
  var ICONS = {
    chat: '<path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/>',
    help: '<circle cx="12" cy="12" r="9"/><path d="M9.6 9.2a2.5 2.5 0 1 1 3.4 2.3c-.6.3-1 .8-1 1.5v.5M12 17h.01"/>',
    mail: '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="M3.5 6.5l8.5 6 8.5-6"/>',
    bag: '<path d="M5 8h14l-1.2 12H6.2zM9 10V7a3 3 0 0 1 6 0v3"/>',
  };
  var SVG = '<svg class="m" viewBox="0 0 24 24" aria-hidden="true"></svg>' +
    '<svg class="x" viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg><span class="lt"></span>';

  // The admins' look, each part overridden by the page's data- attribute when it has one.
  function draw() {
    var a = look || {};
    var c = attr("color") || a.c || "";
    if (/^[#a-zA-Z0-9(),.% -]{1,40}$/.test(c)) host.style.setProperty("--c", c);
    else host.style.removeProperty("--c");
    wrap.classList.toggle("L", (attr("position") || a.p) === "left");
    var icon = ICONS[attr("icon")] || ICONS[a.i];
    btn.firstChild.innerHTML = typeof icon === "string" ? icon : ICONS.chat;
    var text = attr("text") || (a.t && a.t[el ? "el" : "en"]) || "";
    btn.lastChild.textContent = typeof text === "string" ? text.slice(0, 40) : "";
    btn.classList.toggle("t", !!btn.lastChild.textContent);
  }

  var host, root, wrap, btn, badge, panel, frame;
  var isOpen = false;
  var ready = false;
  var pending = null;

  function send(msg) {
    msg.source = NS;
    if (frame && ready) frame.contentWindow.postMessage(msg, chatOrigin);
  }

  function page() {
    return { url: location.href, title: d.title, referrer: d.referrer };
  }

  function setLabel(unread) {
    btn.setAttribute(
      "aria-label",
      isOpen ? T.close : T.open + (unread ? " (" + unread + T.unread + ")" : "")
    );
    btn.setAttribute("aria-expanded", String(isOpen));
  }

  function ensureFrame() {
    if (frame) return;
    panel = d.createElement("div");
    panel.className = "p";
    panel.hidden = true;
    frame = d.createElement("iframe");
    frame.title = "Chat";
    frame.setAttribute("allow", "clipboard-write");
    // Page info for the chat travels in the hash: it never reaches the server's access log.
    frame.src =
      chatUrl +
      "#" +
      encodeURIComponent(
        JSON.stringify({ o: location.origin, p: page(), l: lang, c: attr("color"), t: attr("title"), v: vid })
      );
    panel.appendChild(frame);
    wrap.appendChild(panel);
  }

  function open(focus) {
    hideInvite();
    ensureFrame();
    isOpen = true;
    panel.hidden = false;
    wrap.classList.add("o");
    badge.hidden = true;
    setLabel(0);
    store("1");
    pending = focus !== false;
    send({ type: "open", focus: pending, page: page(), inv: inv && inv.ok ? inv.m : "" });
    if (pending && ready) frame.focus();
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    wrap.classList.remove("o");
    setLabel(0);
    store("0");
    send({ type: "hidden" });
    btn.focus();
  }

  function onMessage(e) {
    var m = e.data;
    if (!frame || e.origin !== chatOrigin || e.source !== frame.contentWindow) return;
    if (!m || m.source !== NS) return;
    if (m.type === "ready") {
      ready = true;
      if (isOpen) {
        send({ type: "open", focus: pending, page: page(), inv: inv && inv.ok ? inv.m : "" });
        if (pending) frame.focus();
      } else send({ type: "hidden" });
    } else if (m.type === "close") close();
    else if (m.type === "sent" && inv && inv.ok) {
      invEvent("chat_started"); // the visitor wrote after accepting the invitation
      inv = null;
    }
    else if (m.type === "unread" && !isOpen) {
      var n = +m.count || 0;
      badge.textContent = n > 9 ? "9+" : String(n);
      badge.hidden = !n;
      setLabel(n);
    }
  }

  function init() {
    host = d.createElement("shopchat-widget");
    // Inline !important beats any !important rule in the shop's stylesheets.
    host.setAttribute(
      "style",
      "all:initial!important;display:block!important;position:static!important;width:0!important;height:0!important"
    );
    root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    try {
      // Constructed stylesheets are not blocked by a shop's CSP (style-src without 'unsafe-inline').
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } catch (e) {
      var st = d.createElement("style");
      st.textContent = CSS;
      root.appendChild(st);
    }
    wrap = d.createElement("div");
    btn = d.createElement("button");
    btn.type = "button";
    btn.className = "l";
    btn.innerHTML = SVG; // static markup, no data
    badge = d.createElement("span");
    badge.className = "b";
    badge.hidden = true;
    badge.setAttribute("aria-hidden", "true");
    btn.insertBefore(badge, btn.lastChild);
    btn.onclick = function () {
      isOpen ? close() : open();
    };
    setLabel(0);
    wrap.appendChild(btn);
    draw();
    // the first page of a visitor waits (a moment at most) for the admins' look: no flash of the default
    if (!look) {
      wrap.style.visibility = "hidden";
      setTimeout(function () {
        wrap.style.visibility = "";
      }, 1500);
    }
    wrap.addEventListener("keydown", function (e) {
      if (e.key === "Escape") close();
    });
    root.appendChild(wrap);
    d.body.appendChild(host);
    w.addEventListener("message", onMessage);
    if (store() === "1") open(false);
    beat("pv");
    w.addEventListener("pagehide", function () {
      beat("bye");
    });
    w.addEventListener("pageshow", function (e) {
      if (e.persisted) beat("pv"); // back from the back-forward cache
    });
  }

  w.ShopChat = {
    open: function () {
      if (btn) open();
    },
    close: function () {
      if (btn) close();
    },
    toggle: function () {
      if (btn) isOpen ? close() : open();
    },
  };

  // shopchat("conversion", {order_id, value, currency}) on the thank-you page reports the order with
  // this browser's id, for attribution to its chats (docs/conversions.md). Calls made before this
  // script loaded wait in shopchat.q (the snippet there). Plain text, no cookies: no preflight.
  function shopchat(cmd, o) {
    if (cmd !== "conversion" || !o) return;
    var b = { order_id: o.order_id, value: o.value, currency: o.currency, visitor_id: vid };
    fetch(new URL("../api/conversions/widget", src).href, {
      method: "POST", body: JSON.stringify(b), credentials: "omit", keepalive: true,
    }).catch(function () {});
  }
  var queued = (w.shopchat && w.shopchat.q) || [];
  w.shopchat = shopchat;
  for (var i = 0; i < queued.length; i++) shopchat.apply(null, queued[i]);

  if (d.body) init();
  else d.addEventListener("DOMContentLoaded", init);
})();
