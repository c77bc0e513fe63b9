// Upstate's reference poller (seed 002): progressive enhancement over a page that works without
// JavaScript. It fetches status.json every poll interval, pauses while the tab is hidden, resumes
// on focus, and updates the banner and the tiles in place. Copy it into your own dashboard.
(function () {
  "use strict";
  var body = document.body;
  var interval = Math.max(5, parseInt(body.getAttribute("data-poll"), 10) || 30) * 1000;
  var strings = {};
  try { strings = JSON.parse(document.getElementById("ups-strings").textContent); } catch (e) { /* optional */ }
  var CLASS = { operational: "o", degraded: "d", down: "m" };
  var SYMBOL = { operational: "\u2713", degraded: "!", down: "\u2715" };
  var timer = null;

  function setState(el, state) {
    el.classList.remove("o", "d", "p", "m", "u", "n");
    el.classList.add(CLASS[state] || "n");
  }

  // Times read in the site's zone ([site] timezone), as the server rendered them.
  var zone = body.getAttribute("data-tz") || "UTC";
  function when(iso) {
    if (!iso) return "\u2014";
    var utc = iso.replace("T", " ").replace(/:\d\d(\.\d+)?Z$/, " UTC");
    if (zone === "UTC" || !window.Intl) return utc;
    try {
      var p = {};
      new Intl.DateTimeFormat("en-GB", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" })
        .formatToParts(new Date(iso)).forEach(function (x) { p[x.type] = x.value; });
      return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + " " + p.timeZoneName;
    } catch (e) { return utc; }
  }

  // A static page cannot notice that its schedule stopped; status.json says when to stop
  // trusting it (stale_after), and past that the page says so and greys the states.
  function checkStale() {
    var note = document.getElementById("stale");
    if (!note) return;
    var after = Date.parse(note.getAttribute("data-stale-after") || "");
    var stale = !isNaN(after) && Date.now() > after;
    note.hidden = !stale;
    body.classList.toggle("is-stale", stale);
  }

  function apply(data) {
    var note = document.getElementById("stale");
    if (note && data.stale_after) {
      note.setAttribute("data-stale-after", data.stale_after);
      var since = note.querySelector("time");
      // "Not updated since" the newest observation, not the build: a rebuild of old data is stale.
      var newest = (data.components || []).map(function (c) { return c.last_checked_at || ""; }).sort().pop() || data.generated_at;
      if (since && newest) { since.setAttribute("datetime", newest); since.textContent = when(newest); }
    }
    var banner = document.getElementById("banner");
    if (banner && data.overall_state) {
      // Nothing failing but something unobserved: "no data", as the page itself says.
      var overall = data.overall_state;
      var unknown = (data.components || []).some(function (c) { return c.observed === false; });
      var failing = (data.components || []).some(function (c) { return c.observed !== false && c.state !== "operational"; });
      if (unknown && !failing) overall = "no_data";
      setState(banner, overall);
      var text = document.getElementById("banner-text");
      if (text) text.textContent = strings["banner_" + overall] || overall;
      var sym = banner.querySelector(".sym");
      if (sym) sym.textContent = SYMBOL[overall] || "?";
    }
    (data.components || []).forEach(function (c) {
      var tile = document.querySelector('[data-component="' + (window.CSS && CSS.escape ? CSS.escape(c.component) : c.component) + '"]');
      if (!tile) return;
      // observed: false = never observed; its `state` is the contract's placeholder, not a fact.
      var state = c.observed === false ? "no_data" : c.state;
      setState(tile, state);
      var st = tile.querySelector(".stt");
      if (st) st.textContent = strings[state] || state;
      var sym = tile.querySelector(".st .sym");
      if (sym) sym.textContent = SYMBOL[state] || "?";
      var det = tile.querySelector(".det");
      if (det) det.textContent = c.detail;
      var lat = tile.querySelector(".lat");
      if (lat) lat.textContent = c.latency_ms == null ? "\u2014" : c.latency_ms + " ms";
      var chk = tile.querySelector(".chk");
      if (chk) { chk.textContent = when(c.last_checked_at); chk.setAttribute("datetime", c.last_checked_at || ""); localTitles(tile); }
    });
    body.setAttribute("data-updated", data.generated_at || "");
    checkStale();
  }

  function poll() {
    timer = null;
    if (document.hidden) return;
    fetch("status.json", { cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) { if (d) apply(d); })
      .catch(function () { /* keep what the page shows; try again next interval */ })
      .then(checkStale)
      .then(schedule);
  }

  function schedule() {
    if (timer === null && !document.hidden) timer = setTimeout(poll, interval);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(timer); timer = null; } else { poll(); }
  });
  window.addEventListener("focus", function () { if (timer === null) poll(); });
  // Times are UTC in the HTML; the reader's local time is shown on hover, as an enhancement.
  function localTitles(root) {
    (root || document).querySelectorAll("time[datetime]").forEach(function (t) {
      var d = new Date(t.getAttribute("datetime"));
      if (!isNaN(d.getTime())) t.title = d.toLocaleString();
    });
  }

  window.__upstatePollNow = poll; // for tests and embedders: poll immediately
  localTitles();
  checkStale();
  schedule();
})();
