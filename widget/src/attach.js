// Files in the visitor's chat (docs/attachments.md): how an attachment is drawn and the attach
// button. The server decides what a file is from its bytes; the checks here only save a round trip.
const TYPES = "image/png,image/jpeg,image/gif,image/webp,application/pdf";
const MAX_MB = 10;
const TXT = {
  en: { attach: "Send a file (image or PDF)", file: "File", tooBig: "the file is larger than {n} MB.",
        badType: "only images (PNG, JPEG, GIF, WebP) and PDF files can be sent.", open: "Open image" },
  el: { attach: "Αποστολή αρχείου (εικόνα ή PDF)", file: "Αρχείο", tooBig: "το αρχείο είναι μεγαλύτερο από {n} MB.",
        badType: "μπορείτε να στείλετε μόνο εικόνες (PNG, JPEG, GIF, WebP) και αρχεία PDF.", open: "Άνοιγμα εικόνας" },
};
const text = (lang) => TXT[lang] || TXT.en;
const ID_RE = /^[a-f0-9]{32}$/;

export function size(n) {
  n = +n || 0;
  return n < 1024 ? n + " B" : n < 1048576 ? Math.round(n / 1024) + " KB" : (n / 1048576).toFixed(1) + " MB";
}

/** An attachment as the transcript shows it: a thumbnail that opens the image, or a download link.
 *  `url(att, thumb)` gives the file's address for this reader. Built from DOM nodes only. */
export function attachmentEl(att, lang, url) {
  const d = document;
  if (!att || typeof att !== "object" || !ID_RE.test(att.id)) return d.createTextNode("");
  const name = typeof att.name === "string" && att.name ? att.name : text(lang).file;
  const a = d.createElement("a");
  a.className = "att";
  a.href = url(att, false);
  a.target = "_blank";
  a.rel = "noopener noreferrer";
  if (att.kind === "image" && att.thumb) {
    const img = d.createElement("img");
    img.src = url(att, true);
    img.alt = name;
    img.loading = "lazy";
    if (att.width && att.height) {
      const k = Math.min(1, 320 / Math.max(att.width, att.height));
      img.width = Math.round(att.width * k);
      img.height = Math.round(att.height * k);
    }
    a.title = text(lang).open + ": " + name;
    a.appendChild(img);
  } else {
    a.download = name;
    a.classList.add("file");
    const n = d.createElement("span");
    n.className = "fname";
    n.textContent = name;
    const s = d.createElement("span");
    s.className = "fsize";
    s.textContent = " · " + (att.kind === "pdf" ? "PDF · " : "") + size(att.size);
    a.append(n, s);
  }
  return a;
}

/** A file chosen in the browser, checked before it is sent: an error text, or "" when fine. */
export function checkFile(file, lang) {
  if (TYPES.split(",").indexOf(file.type) < 0) return text(lang).badType;
  if (file.size > MAX_MB * 1048576) return text(lang).tooBig.replace("{n}", MAX_MB);
  return "";
}

/** The attach button and its hidden file input, put before `before` in `form`; `onFile(file)` for
 *  each chosen file. Returns {show(on)}. */
export function attachButton(form, before, lang, onFile) {
  const d = document;
  const input = d.createElement("input");
  input.type = "file";
  input.accept = TYPES;
  input.hidden = true;
  input.id = "file";
  const b = d.createElement("button");
  b.type = "button";
  b.id = "attach";
  b.className = "attach";
  b.setAttribute("aria-label", text(lang).attach);
  b.title = text(lang).attach;
  b.innerHTML =
    '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M20 11.5l-8 8a5 5 0 0 1-7-7l8.5-8.5a3.5 3.5 0 0 1 5 5L10 17.5a2 2 0 0 1-3-3l7.5-7.5"/></svg>';
  b.onclick = () => input.click();
  input.onchange = () => {
    for (const f of input.files) onFile(f);
    input.value = "";
  };
  form.insertBefore(b, before);
  form.appendChild(input);
  const show = (on) => {
    b.hidden = !on;
    form.classList.toggle("with-attach", !!on);
  };
  show(false);
  return { show, button: b, input };
}

/** POST the file (raw body) to `path`; resolves to the server's JSON, rejects with {code, message}. */
export async function upload(path, file, headers) {
  let r;
  try {
    r = await fetch(path, {
      method: "POST",
      body: file,
      credentials: "same-origin",
      headers: Object.assign({ "X-File-Name": encodeURIComponent(file.name || "file") }, headers),
    });
  } catch (e) {
    throw { code: "offline", message: "" };
  }
  let body = null;
  try {
    body = await r.json();
  } catch (e) {
    /* not JSON */
  }
  if (r.ok && body && body.ok) return body;
  throw (body && body.error) || { code: "http_" + r.status, message: "" };
}

/** Files dropped on `zone` or pasted into it go to `onFile(file)` while `isOn()`; otherwise they
 *  are ignored. Either way a dropped file never replaces the page (the browser's default opens it
 *  in the frame, and the chat would be gone). `zone` gets the class "dropping" while a file is held
 *  over it. */
export function dropZone(zone, isOn, onFile) {
  const withFiles = (e) => !!e.dataTransfer && Array.prototype.indexOf.call(e.dataTransfer.types || [], "Files") >= 0;
  let depth = 0;
  const mark = (on) => zone.classList.toggle("dropping", on);
  zone.addEventListener("dragenter", (e) => {
    if (!withFiles(e)) return;
    e.preventDefault();
    depth += 1;
    mark(isOn());
  });
  zone.addEventListener("dragover", (e) => {
    if (!withFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = isOn() ? "copy" : "none";
  });
  zone.addEventListener("dragleave", (e) => {
    if (!withFiles(e)) return;
    depth = Math.max(0, depth - 1);
    if (!depth) mark(false);
  });
  zone.addEventListener("drop", (e) => {
    if (!withFiles(e)) return;
    e.preventDefault();
    depth = 0;
    mark(false);
    if (isOn()) for (const f of e.dataTransfer.files) onFile(f);
  });
  zone.addEventListener("paste", (e) => {
    const files = e.clipboardData ? Array.from(e.clipboardData.files || []) : [];
    if (!files.length || !isOn()) return; // text pastes as text
    e.preventDefault();
    for (const f of files) onFile(f);
  });
}
