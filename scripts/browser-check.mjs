// Headless Chromium (Debian's, never a downloaded one) over the built site served on loopback:
// axe-core finds no accessibility violations on the front, component and incident pages; the
// reference poller (assets/js/app.js) updates the banner and a tile when status.json changes;
// a screenshot of the front page is saved. Usage: node browser-check.mjs SITE_DIR SCREENSHOT.png
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const [siteArg, shot] = process.argv.slice(2);
const site = path.resolve(siteArg);
let override = null;
const types = { ".html": "text/html; charset=utf-8", ".json": "application/json", ".js": "text/javascript", ".svg": "image/svg+xml" };
const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname === "/status.json" && override) {
    res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
    return res.end(JSON.stringify(override));
  }
  const file = path.join(site, url.pathname.endsWith("/") ? url.pathname + "index.html" : url.pathname);
  if (!file.startsWith(path.resolve(site)) || !fs.existsSync(file)) { res.writeHead(404); return res.end(); }
  res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream" });
  fs.createReadStream(file).pipe(res);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failures = 0;
const fail = (msg) => { failures++; console.log("    FAILED: " + msg); };
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
  const status = JSON.parse(fs.readFileSync(path.join(site, "status.json"), "utf8"));
  const pages = ["/index.html", `/components/${status.components[0].component}.html`];
  const incident = fs.readdirSync(path.join(site, "incidents")).find((f) => f.endsWith(".html"));
  if (incident) pages.push(`/incidents/${incident}`);
  for (const p of pages) {
    await page.goto(base + p);
    await page.addScriptTag({ path: require.resolve("axe-core/axe.min.js") });
    const result = await page.evaluate(async () => await window.axe.run(document, { resultTypes: ["violations"] }));
    if (result.violations.length) fail(`axe on ${p}: ${result.violations.map((v) => `${v.id} (${v.nodes.length})`).join(", ")}`);
    else console.log(`    axe: ${p}: no violations`);
  }
  if (external.length) fail(`third-party requests: ${external.join(", ")}`);

  await page.goto(base + "/index.html");
  await page.screenshot({ path: shot, fullPage: true });
  console.log(`    screenshot: ${shot}`);
  const before = await page.textContent("#banner-text");
  const words = JSON.parse(await page.textContent("#ups-strings"));
  // The poller must show what status.json says: flip every component and the banner.
  const flipped = structuredClone(status);
  const target = flipped.overall_state === "operational" ? "down" : "operational";
  flipped.overall_state = target;
  flipped.components[0].state = target;
  flipped.components[0].detail = "Changed by the browser test.";
  flipped.generated_at = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  override = flipped;
  await page.evaluate(() => window.__upstatePollNow());
  await page.waitForFunction((want) => document.getElementById("banner-text").textContent === want, words["banner_" + target], { timeout: 5000 })
    .then(() => console.log(`    poller: banner "${before}" -> "${words["banner_" + target]}"`))
    .catch(() => fail("the poller did not update the banner"));
  const tile = await page.textContent(`[data-component="${flipped.components[0].component}"] .det`);
  if (tile !== "Changed by the browser test.") fail(`the poller did not update the tile: ${tile}`);
  const bannerClass = await page.getAttribute("#banner", "class");
  if (!bannerClass.includes(target === "down" ? " m" : " o")) fail(`banner class not updated: ${bannerClass}`);

  // A page whose schedule stopped says so: stale_after in the past shows the note and greys the
  // states; a fresh status.json (stale_after ahead) takes it away again.
  if (!(await page.isHidden("#stale"))) fail("a fresh page shows the stale note");
  const isStale = () => page.evaluate(() => !document.getElementById("stale").hidden && document.body.classList.contains("is-stale"));
  override = { ...flipped, generated_at: "2026-01-01T00:00:00Z", stale_after: "2026-01-01T00:15:00Z" };
  await page.evaluate(() => window.__upstatePollNow());
  await page.waitForFunction(() => !document.getElementById("stale").hidden, null, { timeout: 5000 }).catch(() => {});
  if (await isStale()) console.log(`    stale: "${(await page.textContent("#stale")).trim().slice(0, 60)}…" shown past stale_after`);
  else fail("the stale note did not appear after stale_after passed");
  override = { ...flipped, stale_after: new Date(Date.now() + 3600e3).toISOString().replace(/\.\d+Z$/, "Z") };
  await page.evaluate(() => window.__upstatePollNow());
  await page.waitForFunction(() => document.getElementById("stale").hidden, null, { timeout: 5000 }).catch(() => {});
  if (await isStale()) fail("the stale note stayed after a fresh status.json");
} finally {
  await browser.close();
  server.close();
}
process.exit(failures ? 1 : 0);
