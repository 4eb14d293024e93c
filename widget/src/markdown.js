// A safe markdown subset for bot/agent messages, built with DOM APIs only.
// Supported: paragraphs (blank line), line breaks, **bold**, *italic*, "-"/"*" and "1." lists,
// [text](url) and bare http(s) URLs. Links only for http:, https: and mailto:.
// Message text is only ever put into the page as text nodes: never innerHTML.

const d = document;

function el(tag) {
  return d.createElement(tag);
}

function txt(parent, s) {
  if (s) parent.appendChild(d.createTextNode(s));
}

/** An <a> for a safe URL, or null. */
export function safeLink(href) {
  let u;
  try {
    u = new URL(href); // no base: relative and scheme-less URLs are refused
  } catch (e) {
    return null;
  }
  if (!/^(https?|mailto):$/.test(u.protocol)) return null;
  const a = el("a");
  a.href = u.href;
  a.rel = "noopener noreferrer";
  a.target = "_blank";
  return a;
}

function inline(parent, s, depth, inLink) {
  if (depth > 4) return txt(parent, s);
  // 1: link text, 2: link url | 3: bold | 4: italic | 5: bare URL
  const re =
    /\[([^\]\n]+)\]\(\s*([^\s()]+)\s*\)|\*\*(?=\S)(.*?\S)\*\*|\*(?=[^\s*])([^*]*?[^\s*])\*|(https?:\/\/[^\s<>]*[^\s<>.,;:!?'")\]*])/g;
  let last = 0;
  let m;
  while ((m = re.exec(s))) {
    txt(parent, s.slice(last, m.index));
    last = re.lastIndex;
    if (m[3] != null || m[4] != null) {
      const e = el(m[3] != null ? "strong" : "em");
      inline(e, m[3] != null ? m[3] : m[4], depth + 1, inLink);
      parent.appendChild(e);
      continue;
    }
    const a = inLink ? null : safeLink(m[1] != null ? m[2] : m[5]);
    if (!a) {
      // not a safe link (or a link inside a link): show the text, drop the URL of a refused link
      txt(parent, m[1] != null ? m[1] : m[5]);
      continue;
    }
    if (m[1] != null) inline(a, m[1], depth + 1, true);
    else a.textContent = m[5];
    parent.appendChild(a);
  }
  txt(parent, s.slice(last));
}

/** Render `text` to a DocumentFragment. */
export function markdown(text) {
  const frag = d.createDocumentFragment();
  const lines = String(text == null ? "" : text).replace(/\r\n?/g, "\n").split("\n");
  let p = null;
  let list = null;
  let kind = "";
  for (const line of lines) {
    if (!line.trim()) {
      p = list = null;
      kind = "";
      continue;
    }
    const ul = /^\s*[-*•]\s+(.*)$/.exec(line);
    const ol = !ul && /^\s*(\d{1,4})[.)]\s+(.*)$/.exec(line);
    if (ul || ol) {
      p = null;
      const k = ul ? "ul" : "ol";
      if (kind !== k) {
        list = el(k);
        if (ol && ol[1] !== "1") list.start = +ol[1];
        frag.appendChild(list);
        kind = k;
      }
      const li = el("li");
      inline(li, ul ? ul[1] : ol[2], 0, false);
      list.appendChild(li);
      continue;
    }
    list = null;
    kind = "";
    if (p) p.appendChild(el("br"));
    else frag.appendChild((p = el("p")));
    inline(p, line, 0, false);
  }
  return frag;
}
