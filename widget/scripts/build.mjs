// Builds widget/dist/: loader.js, chat.html, chat.js, chat.css, the agent console in dist/console/
// (index.html, console.js, console.css; served at /console/) and the knowledge-base editor in
// dist/editor/ (index.html, editor.js, editor.css; served at /editor/) (run: npm run build).
import { build, transform } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = (f) => join(root, "src", f);
const dist = (f) => join(root, "dist", f);
const hash = (...parts) => createHash("sha256").update(parts.join("\0")).digest("hex").slice(0, 10);

await rm(join(root, "dist"), { recursive: true, force: true });
await mkdir(join(root, "dist"));

// Every script a browser gets: one minified, self-contained file, kept in memory.
const bundle = (entry, extra = {}) => build({
  entryPoints: [src(entry)],
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2018"],
  legalComments: "none",
  write: false,
  ...extra,
});

// chat UI: one minified bundle with the Socket.IO client
const chat = await bundle("chat.js");
const chatJs = chat.outputFiles[0].text;
const chatCss = (await transform(await readFile(src("chat.css"), "utf8"), { loader: "css", minify: true })).code;

// chat.html refers to versioned chat.js/chat.css, so those can be cached for long
const v = hash(chatJs, chatCss);
const chatHtml = (await readFile(src("chat.html"), "utf8"))
  .replace('href="chat.css"', `href="chat.css?v=${v}"`)
  .replace('src="chat.js"', `src="chat.js?v=${v}"`)
  .replace(/>\s+</g, "><")
  .trim();

// the loader points the iframe at chat.html?v=<hash of chat.html> for the same reason
const loader = await bundle("loader.js", { define: { BUILD_VERSION: JSON.stringify(hash(chatHtml)) } });

await writeFile(dist("chat.js"), chatJs);
await writeFile(dist("chat.css"), chatCss);
await writeFile(dist("chat.html"), chatHtml + "\n");
await writeFile(dist("loader.js"), loader.outputFiles[0].text);
// The agent console (served by the app at /console/) and the knowledge-base editor (/editor/): each
// its own bundle in dist/<page>/ (index.html, <page>.js, <page>.css), versioned like the chat files.
async function buildPage(name) {
  const out = await bundle(`${name}.js`);
  const js = out.outputFiles[0].text;
  const css = (await transform(await readFile(src(`${name}.css`), "utf8"), { loader: "css", minify: true })).code;
  const pv = hash(js, css);
  const html = (await readFile(src(`${name}.html`), "utf8"))
    .replace(`href="${name}.css"`, `href="${name}.css?v=${pv}"`)
    .replace(`src="${name}.js"`, `src="${name}.js?v=${pv}"`)
    .replace(/>\s+</g, "><")
    .trim();
  await mkdir(dist(name));
  await writeFile(dist(`${name}/${name}.js`), js);
  await writeFile(dist(`${name}/${name}.css`), css);
  await writeFile(dist(`${name}/index.html`), html + "\n");
  return pv;
}
const cv = await buildPage("console");
const ev = await buildPage("editor");
// The Reports page (/reports/): Chart.js lives in its bundle only; the definitions its figures link
// to are docs/reports.md itself.
const rv = await buildPage("reports");
// The admins' "Visitors' data" page (/privacy/): data requests, retention, conversion tracking.
const pv = await buildPage("privacy");
await writeFile(dist("reports/definitions.md"), await readFile(join(root, "..", "docs", "reports.md"), "utf8"));
// ... and in Greek (docs/reports.el.md, the same anchors), for the page in Greek
await writeFile(dist("reports/definitions.el.md"), await readFile(join(root, "..", "docs", "reports.el.md"), "utf8"));

console.log(`built dist/ (version ${v}, console ${cv}, editor ${ev}, reports ${rv}, privacy ${pv})`);
