// Lighthouse (npm `lighthouse`, Debian's chromium; never a downloaded browser) on a built site's
// front page, mobile and desktop, served on loopback by a static server that honours the
// site's `_headers` (cache policy) and compresses as a CDN does (gzip). Fails below target:
// 100 accessibility, best practices and SEO, performance >= 95, first visit <= MAX_KB gzip,
// DOM <= MAX_DOM elements. Usage: node lighthouse.mjs SITE_DIR MAX_KB MAX_DOM [LABEL]
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";
import * as chromeLauncher from "chrome-launcher";

const [siteArg, maxKb, maxDom, label = siteArg] = process.argv.slice(2);
const site = path.resolve(siteArg);
const types = { ".html": "text/html; charset=utf-8", ".json": "application/json", ".js": "text/javascript", ".svg": "image/svg+xml", ".xml": "application/xml", ".txt": "text/plain" };

// `_headers` (Netlify / Cloudflare Pages form): a path pattern line, then indented headers.
const rules = [];
for (const line of fs.readFileSync(path.join(site, "_headers"), "utf8").split("\n")) {
  if (!line.trim()) continue;
  if (!/^\s/.test(line)) rules.push({ re: new RegExp("^" + line.trim().replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*") + "$"), headers: {} });
  else { const [k, ...v] = line.trim().split(":"); rules.at(-1).headers[k.trim()] = v.join(":").trim(); }
}
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const file = path.join(site, url.pathname.endsWith("/") ? url.pathname + "index.html" : url.pathname);
  if (!file.startsWith(site) || !fs.existsSync(file)) { res.writeHead(404); return res.end(); }
  const headers = { "content-type": types[path.extname(file)] || "application/octet-stream" };
  for (const r of rules) if (r.re.test(url.pathname)) Object.assign(headers, r.headers);
  let body = fs.readFileSync(file);
  if (/gzip/.test(req.headers["accept-encoding"] || "") && /text|json|javascript|svg|xml/.test(headers["content-type"])) {
    body = zlib.gzipSync(body, { level: 9 });
    headers["content-encoding"] = "gzip";
    headers["vary"] = "Accept-Encoding";
  }
  headers["content-length"] = body.length;
  res.writeHead(200, headers);
  res.end(body);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const url = `http://127.0.0.1:${server.address().port}/`;
const chrome = await chromeLauncher.launch({ chromePath: process.env.CHROME_PATH || "/usr/bin/chromium", chromeFlags: ["--headless=new", "--no-sandbox", "--disable-gpu"] });
let failures = 0;
try {
  for (const form of ["mobile", "desktop"]) {
    const config = form === "desktop" ? desktopConfig : undefined;
    const result = await lighthouse(url, { port: chrome.port, output: "json", logLevel: "error", onlyCategories: ["performance", "accessibility", "best-practices", "seo"] }, config);
    const lhr = result.lhr;
    const score = (k) => Math.round((lhr.categories[k].score || 0) * 100);
    const kb = lhr.audits["total-byte-weight"].numericValue / 1024;
    const dom = lhr.audits["dom-size"].numericValue;
    const tbt = lhr.audits["total-blocking-time"].numericValue;
    const line = `${label} ${form}: performance ${score("performance")}, accessibility ${score("accessibility")}, best practices ${score("best-practices")}, SEO ${score("seo")}; first visit ${kb.toFixed(1)} KB transferred, DOM ${dom} elements, TBT ${Math.round(tbt)} ms`;
    const misses = [];
    if (score("performance") < 95) misses.push("performance < 95");
    for (const k of ["accessibility", "best-practices", "seo"]) if (score(k) < 100) {
      const failed = Object.values(lhr.audits).filter((a) => a.score !== null && a.score < 1 && lhr.categories[k].auditRefs.some((r) => r.id === a.id && r.weight > 0)).map((a) => a.id);
      misses.push(`${k} ${score(k)} (${failed.join(", ")})`);
    }
    if (kb > Number(maxKb)) misses.push(`first visit ${kb.toFixed(1)} KB > ${maxKb} KB`);
    if (dom > Number(maxDom)) misses.push(`DOM ${dom} > ${maxDom}`);
    if (misses.length) { failures++; console.log(`    FAILED: ${line}: ${misses.join("; ")}`); } else console.log(`    ${line}`);
  }
} finally {
  await chrome.kill();
  server.close();
}
process.exit(failures ? 1 : 0);
