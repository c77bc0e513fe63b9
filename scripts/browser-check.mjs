// Headless Chromium (Debian's, never a downloaded one) over the built site served on loopback:
// axe-core finds no accessibility violations on the front, component and incident pages; the
// reference poller (assets/js/app.js) keeps the page's words on an unchanged poll and updates the
// banner, its counts and a row when status.json changes;
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
  // A poll of the status.json the page was built from changes no word: the rows keep the
  // labels the HTML has ("Major outage", not the contract's "Down"), the banner its counts.
  const snapshot = () => page.evaluate(() => ({
    rows: [...document.querySelectorAll("[data-component]")].map((r) => r.className + "|" + r.querySelector(".st").textContent + "|" + (r.querySelector(".det") || {}).textContent),
    banner: document.getElementById("banner").className + "|" + document.getElementById("banner-text").textContent + "|" + document.getElementById("banner-count").textContent,
    groups: [...document.querySelectorAll("details.grp")].map((g) => g.open + "|" + g.querySelector("summary").className + "|" + g.querySelector("summary").textContent).join("\n"),
  }));
  const built = await snapshot();
  await page.evaluate(() => window.__upstatePollNow());
  await page.waitForFunction((t) => document.body.getAttribute("data-updated") === t, status.generated_at, { timeout: 5000 }).catch(() => fail("the poller did not apply the unchanged status.json"));
  const polled = await snapshot();
  const relabelled = built.rows.filter((r, i) => r !== polled.rows[i]);
  if (relabelled.length || built.banner !== polled.banner || built.groups !== polled.groups) fail(`an unchanged poll relabelled: ${relabelled.slice(0, 3).join(", ")} ${built.banner} -> ${polled.banner} ${built.groups} -> ${polled.groups}`);
  else console.log(`    poller: an unchanged poll keeps all ${built.rows.length} rows and the banner ("${built.banner.split("|")[2]}")`);
  // The poller must show what status.json says. First everything operational: the banner
  // and its count say so. Then one component down: its row, the banner and the count follow.
  const stamp = () => new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const allUp = structuredClone(status);
  allUp.overall_state = "operational";
  allUp.components.forEach((c) => { c.state = "operational"; c.condition = "operational"; c.observed = true; c.detail = "OK."; });
  allUp.generated_at = stamp();
  override = allUp;
  await page.evaluate(() => window.__upstatePollNow());
  await page.waitForFunction((want) => document.getElementById("banner-text").textContent === want, words.banner_operational, { timeout: 5000 })
    .then(() => console.log(`    poller: banner "${before}" -> "${words.banner_operational}"`))
    .catch(() => fail("the poller did not update the banner"));
  const allCount = `${words.count_all} ${status.components.length} ${words.components_word} ${words.count_operational}`;
  if ((await page.textContent("#banner-count")) !== allCount) fail(`banner count: ${await page.textContent("#banner-count")}`);
  if (await page.$("[data-component] .det")) fail("an operational row still shows a failure detail");
  const flipped = structuredClone(allUp);
  const up = flipped.components[0];
  flipped.overall_state = "down";
  up.state = "down";
  up.condition = "major_outage";
  up.detail = "Cannot connect: Connection refused (os error 111).";
  flipped.generated_at = stamp();
  override = flipped;
  await page.evaluate(() => window.__upstatePollNow());
  await page.waitForFunction((want) => document.getElementById("banner-text").textContent === want, words.banner_down, { timeout: 5000 })
    .catch(() => fail("the poller did not turn the banner down"));
  const row = `[data-component="${up.component}"]`;
  const det = await page.textContent(`${row} .det`).catch(() => null);
  if (det !== "Connection refused.") fail(`the poller did not show the short detail on the row: ${det}`);
  const label = await page.textContent(`${row} .st`);
  if (label !== words.major_outage) fail(`the row reads "${label}", not the page's word "${words.major_outage}"`);
  const rowClass = await page.getAttribute(row, "class");
  if (rowClass !== "m") fail(`row class not updated: ${rowClass}`);
  if (!(await page.getAttribute("#banner", "class")).includes(" m")) fail("banner class not updated");
  // Its group (if it has one) rolls up and opens, as the server renders it.
  const group = await page.evaluate((sel) => {
    const g = document.querySelector(sel).closest("details");
    return g && { open: g.open, st: g.querySelector("summary .st").textContent, count: g.querySelector("summary .mut").textContent };
  }, row);
  if (group && (!group.open || group.st !== words.major_outage || !group.count.includes(`1 ${words.count_down}`))) fail(`group summary not updated: ${JSON.stringify(group)}`);
  else if (group) console.log(`    poller: group "${group.st}", "${group.count}", open`);
  const count = await page.textContent("#banner-count");
  if (count !== `1 ${words.of} ${status.components.length} ${words.components_word} ${words.count_down}`) fail(`banner count not updated: ${count}`);
  else console.log(`    poller: row "${label}" / "${det}", banner count "${count}"`);

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
