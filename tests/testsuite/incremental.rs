//! Incremental builds (issue 18): a build that reuses the previous build's output folder keeps
//! the pages whose inputs did not change. After each of a long list of edits, the site built
//! incrementally (folder `a`, never cleared) must be byte-identical to the site built from
//! scratch (folder `b`, removed before each build): same files, same bytes.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::{TestSite, text, upstate};
use chrono::{DateTime, Utc};
use upstate::history::{History, LocalStore, RawObservation};
use upstate::probe::{Observation, Outcome};
use upstate::state::{ComponentState, Memory};

fn config(title: &str, web_label: &str, output: &str) -> String {
    format!(
        "[site]\ntitle = \"{title}\"\nbase_url = \"https://status.acme.test\"\n\n\
         [publish]\noutput = \"{output}\"\ntarget = \"published-{output}\"\n\n\
         [[component]]\nid = \"api\"\nlabel = \"API\"\ngroup = \"Back\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n\
         [[component]]\nid = \"web\"\nlabel = \"{web_label}\"\ngroup = \"Front\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n\
         [[component]]\nid = \"db\"\nlabel = \"Database\"\ngroup = \"Back\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n"
    )
}

/// A site with two configs that differ only in their output folder.
struct Pair {
    site: TestSite,
    builds: usize,
}

impl Pair {
    fn new() -> Self {
        let site = TestSite::new("");
        let pair = Self { site, builds: 0 };
        pair.set_config("Acme", "Web");
        pair
    }

    fn set_config(&self, title: &str, web_label: &str) {
        std::fs::write(self.site.config(), config(title, web_label, "a")).unwrap();
        std::fs::write(self.b_config(), config(title, web_label, "b")).unwrap();
    }

    fn b_config(&self) -> std::path::PathBuf {
        self.site.path().join("upstate-b.toml")
    }

    fn path(&self, rel: &str) -> std::path::PathBuf {
        self.site.path().join(rel)
    }

    fn write(&self, rel: &str, content: &str) {
        let path = self.path(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    fn build_with(&self, config: &Path, now: &str) -> String {
        let out = upstate()
            .args(["build", "--config"])
            .arg(config)
            .env("UPSTATE_NOW", now)
            .env("UPSTATE_LOG", "upstate=info")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        text(&out)
    }

    /// Builds `a` incrementally and `b` from scratch at `now`, and compares them. Returns the
    /// incremental build's log.
    fn check(&mut self, step: &str, now: &str) -> String {
        self.builds += 1;
        let log = self.build_with(&self.site.config(), now);
        let b = self.path("b");
        if b.exists() {
            std::fs::remove_dir_all(&b).unwrap();
        }
        self.build_with(&self.b_config(), now);
        let (a, b) = (site_files(&self.path("a")), site_files(&b));
        let a_paths: Vec<&String> = a.keys().collect();
        let b_paths: Vec<&String> = b.keys().collect();
        assert_eq!(a_paths, b_paths, "{step}: the file sets differ");
        for (path, bytes) in &a {
            if bytes != &b[path] {
                let (a, b) = (
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(&b[path]),
                );
                let line = a
                    .lines()
                    .zip(b.lines())
                    .find(|(x, y)| x != y)
                    .map(|(x, y)| format!("incremental: {x}\nfrom scratch: {y}"))
                    .unwrap_or_default();
                panic!("{step}: {path} differs\n{line}");
            }
        }
        log
    }
}

/// The site in `dir`, without upstate's plumbing (marker, cache), which is never published.
fn site_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    upstate::site::files_list(dir)
        .unwrap()
        .into_iter()
        .filter(|p| !upstate::site::is_plumbing(p))
        .map(|p| {
            let bytes = std::fs::read(dir.join(&p)).unwrap();
            (p, bytes)
        })
        .collect()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

/// Records what the probe of `component` saw at `at`, as `upstate run` would.
fn observe(site: &Path, component: &str, at: &str, state: ComponentState) {
    let at = t(at);
    let outcome = if state == ComponentState::MajorOutage {
        Outcome::down("connection refused")
    } else {
        Outcome::up(Some(42), "ok")
    };
    let raw = RawObservation {
        observation: Observation {
            component: component.to_owned(),
            at,
            outcome,
            took_ms: None,
        },
        state,
        probed: None,
    };
    let retention = upstate::history::Retention {
        raw: chrono::Duration::days(7),
        max_gap: chrono::Duration::minutes(15),
    };
    let store = LocalStore::new(site.join(".upstate/history"));
    let mut history = History::open(Box::new(store), retention).unwrap();
    history
        .record(
            at,
            &[raw],
            &BTreeMap::from([(component.to_owned(), Memory::default())]),
        )
        .unwrap();
}

fn incident(title: &str, resolved_at: &str, body: &str) -> String {
    // Discovered on the morning of the day it was resolved.
    let discovered_at = format!("{}T08:00:00Z", &resolved_at[..10]);
    format!(
        "---\ntitle: {title}\nkind: incident\nseverity: major\nstatus: resolved\ncomponents: [api]\n\
         impact: partial_outage\ndiscovered_at: {discovered_at}\nresolved_at: {resolved_at}\n\
         updates:\n  - at: {discovered_at}\n    status: investigating\n    message: Looking.\n---\n{body}\n"
    )
}

fn default_template(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("themes/default/templates")
            .join(name),
    )
    .unwrap()
}

/// `kept=N` from the build's summary log line.
fn kept(log: &str) -> usize {
    log.split("kept=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no kept= in the log:\n{log}"))
}

#[test]
fn incremental_builds_equal_builds_from_scratch_after_every_edit() {
    let mut p = Pair::new();
    let now = "2026-11-20T12:00:00Z";
    p.write(
        "incidents/2026-11-02-api.md",
        &incident(
            "API errors",
            "2026-11-02T15:10:00Z",
            "## What happened\nErrors.",
        ),
    );
    p.write(
        "incidents/2026-10-05-old.md",
        &incident("Old outage", "2026-10-05T15:10:00Z", "Long ago."),
    );
    p.write(
        "incidents/2026-11-20-upgrade.md",
        "---\ntitle: Database upgrade\nkind: maintenance\ncomponents: [db]\n\
         starts_at: 2026-11-20T13:00:00Z\nends_at: 2026-11-20T14:00:00Z\n---\nRead-only.\n",
    );
    observe(
        p.site.path(),
        "api",
        "2026-11-20T11:59:00Z",
        ComponentState::Operational,
    );
    observe(
        p.site.path(),
        "web",
        "2026-11-20T11:59:00Z",
        ComponentState::Operational,
    );
    p.check("first build", now);

    let log = p.check("nothing changed", now);
    assert!(kept(&log) > 10, "an unchanged rebuild keeps pages:\n{log}");
    p.check("time passes", "2026-11-20T12:01:00Z");

    p.write(
        "incidents/2026-11-02-api.md",
        &incident(
            "API errors",
            "2026-11-02T15:10:00Z",
            "## What happened\nMore errors.",
        ),
    );
    p.check("incident text", "2026-11-20T12:01:00Z");
    p.write(
        "incidents/2026-11-02-api.md",
        &incident(
            "API errors",
            "2026-11-02T18:00:00Z",
            "## What happened\nMore errors.",
        ),
    );
    p.check("incident times", "2026-11-20T12:01:00Z");
    p.write(
        "incidents/2026-11-02-api.md",
        &incident(
            "API failures",
            "2026-11-02T18:00:00Z",
            "## What happened\nMore errors.",
        ),
    );
    p.check("incident title", "2026-11-20T12:01:00Z");
    p.write(
        "incidents/2026-11-15-web.md",
        &incident("Web slow", "2026-11-15T10:00:00Z", "Slow.").replace("[api]", "[web, api]"),
    );
    p.check("a new incident", "2026-11-20T12:01:00Z");

    observe(
        p.site.path(),
        "api",
        "2026-11-20T12:02:00Z",
        ComponentState::MajorOutage,
    );
    p.check("a component goes down", "2026-11-20T12:02:30Z");
    observe(
        p.site.path(),
        "api",
        "2026-11-20T12:03:00Z",
        ComponentState::Operational,
    );
    p.check("and comes back", "2026-11-20T12:03:30Z");
    observe(
        p.site.path(),
        "db",
        "2026-11-20T12:04:00Z",
        ComponentState::Operational,
    );
    p.check(
        "a component seen for the first time",
        "2026-11-20T12:04:30Z",
    );

    p.check("time passes a maintenance start", "2026-11-20T13:30:00Z");
    p.check("time passes a maintenance end", "2026-11-20T14:30:00Z");
    p.check("just before midnight", "2026-11-20T23:59:00Z");
    p.check("a day boundary", "2026-11-21T00:01:00Z");
    let now = "2026-11-21T00:01:00Z";

    p.write(
        "themes/default/templates/incident.html",
        &default_template("incident.html")
            .replace("{% block content %}", "{% block content %}<p>override</p>"),
    );
    p.check("a template override", now);
    p.write(
        "themes/default/templates/partials/incident_item.html",
        &format!(
            "<!-- partial -->{}",
            default_template("partials/incident_item.html")
        ),
    );
    p.check("an included template overridden", now);
    // The lists render the partial once per incident only while it is the embedded one: the
    // override is what the component and history pages list.
    for listing in ["a/components/api.html", "a/history/index.html"] {
        let text = std::fs::read_to_string(p.path(listing)).unwrap();
        assert!(text.contains("<!-- partial -->"), "{listing}: {text}");
    }
    // The default theme prints the 90-day strip made in Rust; a theme's own loop over
    // `c.bars` (the loop the default partial had) prints the same page.
    let page = |p: &Pair| std::fs::read(p.path("a/components/api.html")).unwrap();
    let strip_page = page(&p);
    let own_loop = default_template("partials/bars.html").replace(
        r#"<ol class="days">{{ page.day_strip | safe }}</ol>"#,
        concat!(
            r#"<ol class="days">{% for b in c.bars %}{% set seen = page.day_incidents[loop.index0] %}"#,
            r#"<li class="{{ b.state | state_class }}" tabindex="0"><span class="tip vh">{{ b.date }}: "#,
            r#"{% if b.state %}{{ s[b.state] }}{% if b.uptime is not none %}, {{ b.uptime | pct }}{% endif %}"#,
            r#"{% else %}{{ s.no_data }}{% endif %}{% if seen %}; {{ seen | length }} {{ s.day_incidents }}: "#,
            r#"{{ seen | join(sep="; ") }}{% endif %}</span></li>{% endfor %}</ol>"#,
        ),
    );
    assert!(
        own_loop.contains("c.bars"),
        "the default partial prints the strip"
    );
    p.write("themes/default/templates/partials/bars.html", &own_loop);
    p.check("the day strip as a theme's own loop", now);
    assert_eq!(
        String::from_utf8(page(&p)).unwrap(),
        String::from_utf8(strip_page).unwrap(),
        "a theme's loop over the days prints what the built-in strip prints"
    );
    assert!(
        String::from_utf8(page(&p))
            .unwrap()
            .contains(r#"class="axis-l""#),
        "the strip's axis legend is printed"
    );
    // While the theme reads the days itself, its pages follow history and incidents too.
    observe(
        p.site.path(),
        "api",
        "2026-11-21T00:00:40Z",
        ComponentState::Operational,
    );
    p.check("a state change under the theme's loop", now);
    p.write(
        "incidents/2026-11-02-api.md",
        &incident("API errors & <timeouts>", "2026-11-02T15:10:00Z", "Edited."),
    );
    p.check("an incident title under the theme's loop", now);
    std::fs::remove_file(p.path("themes/default/templates/partials/bars.html")).unwrap();
    p.check("the theme's loop removed", now);
    p.write(
        "themes/default/templates/base.html",
        &default_template("base.html").replace("</footer>", "<p>{{ generated_at }}</p></footer>"),
    );
    p.check("the base template prints the build time", now);
    p.check("then time passes", "2026-11-21T00:02:00Z");
    let now = "2026-11-21T00:02:00Z";
    std::fs::remove_file(p.path("themes/default/templates/base.html")).unwrap();
    p.check("an override removed", now);
    p.write("themes/default/strings.toml", "none = \"Nothing at all\"\n");
    p.check("strings.toml", now);
    p.write(
        "themes/default/strings.toml",
        "none = \"Nothing\"\nincident_history = \"Past\"\n",
    );
    p.check("strings.toml again", now);

    p.set_config("Acme Corp", "Web");
    p.check("config title", now);
    p.set_config("Acme Corp", "Website");
    p.check("a component label", now);

    std::fs::remove_file(p.path("incidents/2026-10-05-old.md")).unwrap();
    p.check("an incident deleted", now);
    p.write(
        "content/about.md",
        "---\ntitle: About us\n---\nWe run things.\n",
    );
    p.check("a content page added", now);
    p.write(
        "content/about.md",
        "---\ntitle: About\n---\nWe run things.\n",
    );
    p.check("a content page renamed in its title", now);
    p.write("static/CNAME", "status.acme.test\n");
    p.check("a static file", now);
    let log = p.check("nothing changed at the end", now);
    assert!(kept(&log) > 10, "{log}");
    assert!(p.builds > 25);
    let cache = p.path("a/.upstate-cache");
    assert!(cache.join("render-manifest.bin").is_file());
    let shards = std::fs::read_dir(cache.join("incidents")).unwrap().count();
    assert!(shards > 0, "no parsed incidents remembered");
}
