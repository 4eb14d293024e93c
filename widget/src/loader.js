/*
 * ShopChat loader: the one script a shop embeds.
 *
 *   <script src="https://CHAT-HOST/widget/loader.js" async></script>
 *
 * Dependency-free and tiny. It draws the launcher at once (inside a shadow root, so the shop's CSS
 * cannot reach it) and loads the chat UI, an iframe served by CHAT-HOST, only when the visitor opens
 * it, or at once when the visitor had it open on the previous page of this tab.
 * Options (attributes of the script tag): data-color, data-position="left|right", data-lang,
 * data-title. Global API: window.ShopChat.open(), .close(), .toggle().
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

  function attr(name) {
    return script.getAttribute("data-" + name) || "";
  }
  var color = attr("color");
  var left = attr("position") === "left";
  var lang = (attr("lang") || navigator.language || "en").slice(0, 2).toLowerCase();
  var el = lang === "el";
  var T = el
    ? { open: "Άνοιγμα συνομιλίας", close: "Κλείσιμο συνομιλίας", unread: " μη αναγνωσμένα" }
    : { open: "Open chat", close: "Close chat", unread: " unread" };

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
    ".l,.p{position:fixed;z-index:2147483000;" + (left ? "left" : "right") + ":20px}" +
    ".l{bottom:20px;width:60px;height:60px;margin:0;padding:0;border:0;border-radius:50%;cursor:pointer;" +
    "background:var(--c,#1f5f4a);color:#fff;display:flex;align-items:center;justify-content:center;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.25);transition:transform .15s ease;-webkit-tap-highlight-color:transparent}" +
    ".l:hover{transform:scale(1.06)}" +
    ".l:focus{outline:none}" +
    ".l:focus-visible{outline:3px solid #fff;box-shadow:0 0 0 6px var(--c,#1f5f4a),0 4px 14px rgba(0,0,0,.25)}" +
    ".l svg{width:28px;height:28px;fill:none;stroke:currentColor;stroke-width:2;stroke-linecap:round;stroke-linejoin:round}" +
    ".l .x,.o .l .m{display:none}.o .l .x{display:block}" +
    ".b{position:absolute;top:-4px;" + (left ? "left" : "right") + ":-4px;min-width:22px;height:22px;padding:0 6px;" +
    "border-radius:11px;background:#d92d20;color:#fff;font:700 12px/22px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;text-align:center;border:2px solid #fff}" +
    ".b[hidden],.p[hidden]{display:none}" +
    ".p{bottom:92px;width:370px;height:560px;max-height:calc(100vh - 112px);border-radius:16px;overflow:hidden;" +
    "background:#fff;box-shadow:0 12px 40px rgba(0,0,0,.22)}" +
    ".p iframe{display:block;width:100%;height:100%;border:0;margin:0;padding:0}" +
    "@media (max-width:480px){.p{left:0;right:0;top:0;bottom:0;width:100%;height:100%;max-height:none;border-radius:0}" +
    ".o .l{display:none}}" +
    "@media (prefers-reduced-motion:reduce){.l{transition:none}}";

  var ICONS =
    '<svg class="m" viewBox="0 0 24 24" aria-hidden="true"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z"/></svg>' +
    '<svg class="x" viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>';

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
        JSON.stringify({ o: location.origin, p: page(), l: lang, c: color, t: attr("title") })
      );
    panel.appendChild(frame);
    wrap.appendChild(panel);
  }

  function open(focus) {
    ensureFrame();
    isOpen = true;
    panel.hidden = false;
    wrap.className = "o";
    badge.hidden = true;
    setLabel(0);
    store("1");
    pending = focus !== false;
    send({ type: "open", focus: pending, page: page() });
    if (pending && ready) frame.focus();
  }

  function close() {
    if (!isOpen) return;
    isOpen = false;
    panel.hidden = true;
    wrap.className = "";
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
        send({ type: "open", focus: pending, page: page() });
        if (pending) frame.focus();
      } else send({ type: "hidden" });
    } else if (m.type === "close") close();
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
    if (/^[#a-zA-Z0-9(),.% -]{1,40}$/.test(color)) host.style.setProperty("--c", color);
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
    btn.innerHTML = ICONS; // static markup, no data
    badge = d.createElement("span");
    badge.className = "b";
    badge.hidden = true;
    badge.setAttribute("aria-hidden", "true");
    btn.appendChild(badge);
    btn.onclick = function () {
      isOpen ? close() : open();
    };
    setLabel(0);
    wrap.appendChild(btn);
    wrap.addEventListener("keydown", function (e) {
      if (e.key === "Escape") close();
    });
    root.appendChild(wrap);
    d.body.appendChild(host);
    w.addEventListener("message", onMessage);
    if (store() === "1") open(false);
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

  if (d.body) init();
  else d.addEventListener("DOMContentLoaded", init);
})();
