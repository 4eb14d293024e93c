// Builds widget/dist/: loader.js, chat.html, chat.js, chat.css, and the agent console in dist/console/
// (index.html, console.js, console.css; served at /console/) (run: npm run build).
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

// chat UI: one minified bundle with the Socket.IO client
const chat = await build({
  entryPoints: [src("chat.js")],
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2018"],
  legalComments: "none",
  write: false,
});
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
const loader = await build({
  entryPoints: [src("loader.js")],
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2018"],
  define: { BUILD_VERSION: JSON.stringify(hash(chatHtml)) },
  write: false,
});

await writeFile(dist("chat.js"), chatJs);
await writeFile(dist("chat.css"), chatCss);
await writeFile(dist("chat.html"), chatHtml + "\n");
await writeFile(dist("loader.js"), loader.outputFiles[0].text);
// the agent console (served by the app at /console/): its own bundle, versioned the same way
const consoleBuild = await build({
  entryPoints: [src("console.js")],
  bundle: true,
  minify: true,
  format: "iife",
  platform: "browser",
  target: ["es2018"],
  legalComments: "none",
  write: false,
});
const consoleJs = consoleBuild.outputFiles[0].text;
const consoleCss = (await transform(await readFile(src("console.css"), "utf8"), { loader: "css", minify: true })).code;
const cv = hash(consoleJs, consoleCss);
const consoleHtml = (await readFile(src("console.html"), "utf8"))
  .replace('href="console.css"', `href="console.css?v=${cv}"`)
  .replace('src="console.js"', `src="console.js?v=${cv}"`)
  .replace(/>\s+</g, "><")
  .trim();
await mkdir(dist("console"));
await writeFile(dist("console/console.js"), consoleJs);
await writeFile(dist("console/console.css"), consoleCss);
await writeFile(dist("console/index.html"), consoleHtml + "\n");

console.log(`built dist/ (version ${v}, console ${cv})`);
