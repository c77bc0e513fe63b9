// Screenshots of a built site in Debian's chromium (never a downloaded browser), at 1280 and
// 390 px wide, light and dark: node screenshots.mjs SITE_DIR OUT_PREFIX [--full]
// writes OUT_PREFIX-1280-light.png, OUT_PREFIX-390-dark.png, ...
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { chromium } from "playwright-core";

const [siteArg, prefix, ...flags] = process.argv.slice(2);
const site = path.resolve(siteArg);
const types = { ".html": "text/html; charset=utf-8", ".json": "application/json", ".js": "text/javascript", ".svg": "image/svg+xml" };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const file = path.join(site, url.pathname.endsWith("/") ? url.pathname + "index.html" : url.pathname);
  if (!file.startsWith(site) || !fs.existsSync(file)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
try {
  for (const width of [1280, 390]) {
    for (const scheme of ["light", "dark"]) {
      const page = await browser.newPage({ viewport: { width, height: width > 500 ? 900 : 844 }, colorScheme: scheme, deviceScaleFactor: width > 500 ? 1 : 2 });
      await page.goto(base + (flags.find((f) => f.startsWith("/")) || "/index.html"));
      const out = `${prefix}-${width}-${scheme}.png`;
      await page.screenshot({ path: out, fullPage: flags.includes("--full") });
      console.log(out);
      await page.close();
    }
  }
} finally {
  await browser.close();
  server.close();
}
