// Upstate's reference poller (seed 002): progressive enhancement over a page that works without
// JavaScript. It fetches status.json every poll interval, pauses while the tab is hidden, resumes
// on focus, and updates the banner, its counts and the component rows in place. Copy it into your own dashboard.
(function () {
  "use strict";
  var body = document.body;
  var interval = Math.max(5, parseInt(body.getAttribute("data-poll"), 10) || 30) * 1000;
  var strings = {};
  try { strings = JSON.parse(document.getElementById("ups-strings").textContent); } catch (e) { /* optional */ }
  // One CSS class per state, as the HTML has them (render::filters::state_class).
  var CLASS = { operational: "o", degraded_performance: "d", partial_outage: "p", major_outage: "m",
    under_maintenance: "u", degraded: "d", down: "m" };
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
    var comps = data.components || [];
    var banner = document.getElementById("banner");
    if (banner && data.overall_state) {
      // Nothing failing but something unobserved: "no data", as the page itself says.
      var overall = data.overall_state;
      var unknown = comps.some(function (c) { return c.observed === false; });
      var failing = comps.some(function (c) { return c.observed !== false && c.state !== "operational"; });
      if (unknown && !failing) overall = "no_data";
      setState(banner, overall);
      var text = document.getElementById("banner-text");
      if (text) { setState(text, overall); text.textContent = strings["banner_" + overall] || overall; }
      var count = document.getElementById("banner-count");
      if (count && comps.length) count.textContent = countLine(comps);
    }
    comps.forEach(function (c) {
      var row = document.querySelector('[data-component="' + (window.CSS && CSS.escape ? CSS.escape(c.component) : c.component) + '"]');
      if (!row) return;
      var state = condition(c);
      setState(row, state);
      var st = row.querySelector(".st");
      if (st) st.textContent = strings[state] || state;
      var det = row.querySelector(".det");
      var show = state !== "operational" && state !== "no_data" && c.detail;
      if (show && !det) { det = document.createElement("small"); det.className = "det"; row.appendChild(det); }
      if (det) { if (show) det.textContent = shortDetail(c.detail); else det.remove(); }
      var lat = row.querySelector(".lat");
      if (lat) lat.textContent = c.latency_ms == null ? "\u2014" : c.latency_ms + " ms";
      var chk = row.querySelector(".chk");
      if (chk) { chk.textContent = when(c.last_checked_at); chk.setAttribute("datetime", c.last_checked_at || ""); localTitles(row); }
    });
    groups(comps);
    body.setAttribute("data-updated", data.generated_at || "");
    checkStale();
  }

  // The state as the HTML words it: the additive `condition` key ("major_outage"), else the
  // contract's three values; `observed: false` means never observed, whatever `state` says.
  function condition(c) {
    if (c.observed === false) return "no_data";
    return c.condition || c.state;
  }

  // What needs attention, worst first, zeros left out: [[3, "down"], [1, "degraded"]].
  function attention(comps) {
    var n = { down: 0, degraded: 0, maintenance: 0, no_data: 0 };
    comps.forEach(function (c) {
      var k = { major_outage: "down", down: "down", degraded_performance: "degraded", partial_outage: "degraded",
        degraded: "degraded", under_maintenance: "maintenance", no_data: "no_data" }[condition(c)];
      if (k) n[k]++;
    });
    return ["down", "degraded", "maintenance", "no_data"].filter(function (k) { return n[k]; })
      .map(function (k) { return [n[k], strings["count_" + k] || k]; });
  }
  function noun(total) { return total === 1 ? strings.component_one : strings.components_word; }

  // "3 of 200 components down, 1 degraded", as the page words it (templates/index.html).
  function countLine(comps) {
    var total = comps.length;
    var parts = attention(comps).map(function (p, i) {
      return i ? p[0] + " " + p[1] : p[0] + " " + strings.of + " " + total + " " + noun(total) + " " + p[1];
    });
    return parts.length ? parts.join(", ") : strings.count_all + " " + total + " " + noun(total) + " " + strings.count_operational;
  }

  // Each group's summary rolls up as the server's (state::roll_up_shown): the worst observed
  // state; "no data" only when nothing is worse than operational and something is unobserved.
  var RANK = ["operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"];
  function groups(comps) {
    var byId = {};
    comps.forEach(function (c) { byId[c.component] = condition(c); });
    document.querySelectorAll("details.grp").forEach(function (g) {
      var worst = 0, unknown = false, seen = [];
      g.querySelectorAll("[data-component]").forEach(function (row) {
        var st = byId[row.getAttribute("data-component")];
        if (!st) return;
        seen.push({ component: row.getAttribute("data-component"), condition: st, state: st });
        if (st === "no_data") unknown = true; else worst = Math.max(worst, RANK.indexOf(st));
      });
      if (!seen.length) return;
      var state = worst === 0 && unknown ? "no_data" : RANK[worst];
      var summary = g.querySelector("summary");
      setState(summary, state);
      var st = summary.querySelector(".st");
      if (st) st.textContent = strings[state] || state;
      var count = summary.querySelector(".mut");
      // "2 components, 1 down": the group's total, then what needs attention.
      if (count) count.textContent = [seen.length + " " + noun(seen.length)].concat(attention(seen).map(function (p) { return p[0] + " " + p[1]; })).join(", ");
      if (state !== "operational") g.open = true;
    });
  }

  // The same short wording as the server's (render::filters::short_detail).
  var SHORT = [["connection refused", "Connection refused."], ["timed out", "Timed out."],
    ["connection reset", "Connection reset."], ["no route to host", "Host unreachable."],
    ["network is unreachable", "Network unreachable."], ["nxdomain", "Name does not resolve."],
    ["cannot resolve", "Name does not resolve."], ["certificate", "Certificate problem."]];
  function shortDetail(raw) {
    var lower = raw.toLowerCase();
    for (var i = 0; i < SHORT.length; i++) if (lower.indexOf(SHORT[i][0]) >= 0) return SHORT[i][1];
    var text = raw.replace(/ \(os error [^)]*\)/g, "");
    if (Array.from(text).length <= 80) return text;
    var cut = Array.from(text).slice(0, 79).join("");
    var sp = cut.lastIndexOf(" ");
    if (sp > 0) cut = cut.slice(0, sp);
    return cut.replace(/[,:;.]+$/, "") + "\u2026";
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
