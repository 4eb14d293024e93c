// Prints gzipped sizes of widget/dist/ and fails (exit 1) over budget (run: npm run size).
import { readFileSync, existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..", "dist");
const KB = 1024;
const LOADER_BUDGET = 5 * KB; // the script a shop embeds
const TOTAL_BUDGET = 40 * KB; // everything a visitor downloads to chat
const files = ["loader.js", "chat.html", "chat.css", "chat.js"];

if (!files.every((f) => existsSync(join(dist, f)))) {
  console.error("dist/ is missing files: run `npm run build` first");
  process.exit(1);
}
const fmt = (n) => (n / KB).toFixed(2).padStart(8) + " KB";
const rows = files.map((f) => {
  const buf = readFileSync(join(dist, f));
  return { f, raw: buf.length, gz: gzipSync(buf, { level: 9 }).length };
});
const total = rows.reduce((a, r) => ({ raw: a.raw + r.raw, gz: a.gz + r.gz }), { raw: 0, gz: 0 });
const loader = rows[0];

console.log("file".padEnd(28) + "raw".padStart(11) + "gzip".padStart(11) + "   budget (gzip)");
for (const r of rows)
  console.log(r.f.padEnd(28) + fmt(r.raw) + fmt(r.gz) + (r.f === "loader.js" ? `   <= ${fmt(LOADER_BUDGET).trim()}` : ""));
console.log("total to chat (all above)".padEnd(28) + fmt(total.raw) + fmt(total.gz) + `   <= ${fmt(TOTAL_BUDGET).trim()}`);

let ok = true;
if (loader.gz > LOADER_BUDGET) {
  console.error(`FAIL loader.js is ${loader.gz} B gzipped, budget ${LOADER_BUDGET} B`);
  ok = false;
}
if (total.gz > TOTAL_BUDGET) {
  console.error(`FAIL total is ${total.gz} B gzipped, budget ${TOTAL_BUDGET} B`);
  ok = false;
}
console.log(ok ? "OK: within budget" : "over budget");
process.exit(ok ? 0 : 1);
