//! The page readers see (issue 19): only what is true for this site, counts in the banner,
//! groups that open on trouble, short public error text, and the feeds and calendar that go
//! with it. Real runs of the binary against local servers; the HTML is read as published.

use crate::common::{TestSite, http_server, text};

/// A closed local port: connecting is refused at once.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn site(extra: &str) -> TestSite {
    let http = http_server();
    let closed = closed_port();
    TestSite::new(&format!(
        "[site]\ntitle = \"Acme\"\nbase_url = \"https://status.acme.test\"\n{extra}\n\
         [[component]]\nid = \"web\"\nlabel = \"Web\"\ngroup = \"Front\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n\n\
         [[component]]\nid = \"db\"\nlabel = \"Database\"\ngroup = \"Back\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{closed}\"\n\n\
         [[component]]\nid = \"cache\"\nlabel = \"Cache\"\ngroup = \"Back\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ))
}

fn run(site: &TestSite) {
    let out = site.cmd(&["run"]);
    assert!(out.status.code().is_some(), "{}", text(&out));
    assert!(site.public("index.html").exists(), "{}", text(&out));
}

/// A group's `<details>` opening tag, found by its name.
fn group_tag<'a>(html: &'a str, name: &str) -> &'a str {
    let at = html
        .find(&format!("<span>{name}</span>"))
        .unwrap_or_else(|| panic!("group {name} missing: {html}"));
    let open = html[..at].rfind("<details").unwrap();
    &html[open..at]
}

#[test]
fn r19_front_page_counts_groups_and_says_only_what_is_configured() {
    let site = site("");
    run(&site);
    let html = site.read_public("index.html");
    // A solid banner with the counts; the down component's group opens, the healthy one not.
    assert!(
        html.contains("<span id=\"banner-count\">1 of 3 components down</span>"),
        "{html}"
    );
    assert!(group_tag(&html, "Back").contains(" open"), "{html}");
    assert!(!group_tag(&html, "Front").contains(" open"), "{html}");
    assert!(html.contains("2 components, 1 down</span>"), "{html}");
    // The public page words the failure short; the component page keeps the probe's text.
    assert!(
        html.contains("<small class=\"det\">Connection refused.</small>"),
        "{html}"
    );
    assert!(!html.contains("os error"), "{html}");
    assert!(site.read_public("components/db.html").contains("os error"));
    // One element per component row, its 90 days drawn as one gradient, not 90 elements.
    let row = &html[html.find("data-component=\"db\"").unwrap()..];
    let row = &row[..row.find("</li>").unwrap()];
    assert!(
        row.contains("--b:linear-gradient(90deg,var(--n) 0 "),
        "{row}"
    );
    assert!(
        row.contains("--x:linear-gradient"),
        "a down day carries its notch: {row}"
    );
    // Nothing configured, nothing claimed: no live-traffic boxes, no on-call, no filler table.
    for absent in [
        "Live traffic",
        "on-call",
        "How we run the service",
        "unavailable",
    ] {
        assert!(
            !html.contains(absent),
            "{absent} on a site without it: {html}"
        );
    }
    // The poller reads the same words: status.json carries the page's state key.
    let status = site.status_json();
    let db = status["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "db")
        .unwrap();
    assert_eq!(db["state"], "down");
    assert_eq!(db["condition"], "major_outage");
}

#[test]
fn r19_header_navigation_logo_and_on_call_only_when_configured() {
    let site = site(&format!(
        "logo = \"logo.svg\"\n\n[[notify]]\nname = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"k-page-0000000001\"\nurl = \"http://127.0.0.1:{}/\"\n",
        closed_port()
    ));
    std::fs::create_dir_all(site.path().join("content")).unwrap();
    std::fs::write(
        site.path().join("content/about.md"),
        "---\ntitle: About us\n---\nHello.\n",
    )
    .unwrap();
    std::fs::create_dir_all(site.path().join("static")).unwrap();
    std::fs::write(
        site.path().join("static/logo.svg"),
        "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
    )
    .unwrap();
    run(&site);
    let html = site.read_public("index.html");
    assert!(
        html.contains("<a href=\"about.html\">About us</a>"),
        "{html}"
    );
    assert!(html.contains("<img src=\"logo.svg\" alt=\"\""), "{html}");
    assert!(site.public("logo.svg").exists());
    // Paging is configured: now the page may say so, and the table shows who is paged when.
    assert!(html.contains("on-call team is paged"), "{html}");
    assert!(html.contains("Page on-call when"), "{html}");
    let component = site.read_public("components/web.html");
    assert!(component.contains("<a href=\"../about.html\">About us</a>"));
}

#[test]
fn r19_calendar_feeds_and_postmortem_headings() {
    let site = site("");
    site.incident(
        "2026-11-02-db.md",
        "---\ntitle: Database down\nseverity: major\nstatus: resolved\ncomponents: [db]\nimpact: major_outage\n\
         discovered_at: 2026-11-02T14:05:00Z\nresolved_at: 2026-11-02T15:00:00Z\n---\n\n\
         ## What happened\nThe disk filled.\n\n## Root cause\n\n## What we changed\n",
    );
    run(&site);
    // No maintenance: still a valid calendar, with a component (RFC 5545 §3.6).
    let ics = site.read_public("maintenance.ics");
    assert!(ics.contains("BEGIN:VTIMEZONE\r\nTZID:UTC\r\n"), "{ics}");
    assert!(!ics.contains("BEGIN:VEVENT"), "{ics}");
    // A component's feed links to the component's page, not the site root.
    let atom = site.read_public("feeds/db.atom");
    assert!(
        atom.contains("<link href=\"https://status.acme.test/components/db.html\"/>"),
        "{atom}"
    );
    // A feed says when its entries last changed, never when it was built (issue 16): else
    // every run re-publishes one feed per component. `web` never had an entry: the epoch.
    let generated = site.status_json()["generated_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let quiet = site.read_public("feeds/web.atom");
    assert!(quiet.contains("<updated>1970-01-01T00:00:00"), "{quiet}");
    assert!(!quiet.contains(&generated[..16]), "{generated} in {quiet}");
    let rss = site.read_public("feeds/db.rss");
    assert!(
        rss.contains("<link>https://status.acme.test/components/db.html</link>"),
        "{rss}"
    );
    // Postmortem headings nest under the page's h3; unfilled template headings are left out.
    let page = site.read_public("incidents/2026-11-02-db.html");
    assert!(page.contains("<h4>What happened</h4>"), "{page}");
    for empty in ["Root cause", "What we changed"] {
        assert!(!page.contains(empty), "{empty} published empty: {page}");
    }
}

#[test]
fn r19_maintenance_calendar_is_stamped_with_the_build_time() {
    let site = site("");
    site.incident(
        "2099-01-01-upgrade.md",
        "---\ntitle: Upgrade\nkind: maintenance\nstatus: scheduled\ncomponents: [db]\n\
         starts_at: 2099-01-01T02:00:00Z\nends_at: 2099-01-01T03:00:00Z\n---\n\nNew disks.\n",
    );
    run(&site);
    let ics = site.read_public("maintenance.ics");
    let generated = site.status_json()["generated_at"]
        .as_str()
        .unwrap()
        .replace(['-', ':'], "");
    assert!(ics.contains(&format!("DTSTAMP:{generated}\r\n")), "{ics}");
    assert!(ics.contains("DTSTART:20990101T020000Z"), "{ics}");
    assert!(!ics.contains("VTIMEZONE"), "{ics}");
    // Scheduled maintenance sits right under the banner, in the "Ongoing" callout.
    let html = site.read_public("index.html");
    let callout = html.find("id=\"now-h\"").expect("ongoing callout");
    assert!(html[callout..].find("Upgrade").unwrap() < html[callout..].find("comp-h").unwrap());
}

/// A page rewritten on a later run is as readable as a new one: the build folder replaces files
/// through temporary files (mode 0600) and the folder target publishes hard links to them in a
/// staging folder (mode 0700), which a web server running as another user could not read.
#[test]
fn published_files_and_folder_are_readable_by_the_web_server() {
    use std::os::unix::fs::PermissionsExt;
    let site = site("");
    run(&site);
    site.incident(
        "2026-11-02-db.md",
        "---\ntitle: Database down\nseverity: major\nstatus: resolved\ncomponents: [db]\n\
         discovered_at: 2026-11-02T14:05:00Z\nresolved_at: 2026-11-02T15:00:00Z\n---\nThe disk filled.\n",
    );
    run(&site);
    // What this process's umask gives a new file and folder: the modes a reader can rely on.
    let probe_file = site.path().join("probe.txt");
    std::fs::write(&probe_file, "x").unwrap();
    let probe_dir = site.path().join("probe-dir");
    std::fs::create_dir(&probe_dir).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        mode(&site.public("")),
        mode(&probe_dir),
        "the published folder"
    );
    for rewritten in ["index.html", "status.json", "components/db.html"] {
        assert_eq!(
            mode(&site.public(rewritten)),
            mode(&probe_file),
            "{rewritten} was rewritten on the second run"
        );
    }
}

/// A file in `static/` named like the build's own cache is never copied into the build folder:
/// the next build would trust it, and cached Markdown is published as it is (review of issue 18).
#[test]
fn static_files_never_reach_the_build_cache() {
    let site = site("");
    let forged = br#"{"format":1,"program":"x","entries":{}}"#;
    for name in ["incidents/00.bin", "render-manifest.bin"] {
        let path = site.path().join("static/.upstate-cache").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, forged).unwrap();
    }
    std::fs::write(site.path().join("static/.upstate-build"), "forged").unwrap();
    run(&site);
    run(&site);
    let build = site.path().join(".upstate/site");
    for name in ["incidents/00.bin", "render-manifest.bin"] {
        let cached = build.join(".upstate-cache").join(name);
        let bytes = std::fs::read(&cached).unwrap_or_default();
        assert_ne!(bytes, forged, "{name} came from static/");
        assert!(!site.public(&format!(".upstate-cache/{name}")).exists());
    }
    assert_ne!(
        std::fs::read(build.join(".upstate-build")).unwrap_or_default(),
        b"forged"
    );
}

/// Every file of a folder by relative path (the build folder's marker and cache left out).
fn served(dir: &std::path::Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walk(dir, dir)
}

fn walk(
    root: &std::path::Path,
    dir: &std::path::Path,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == ".upstate-build" || rel == ".upstate-cache" {
            continue;
        }
        if path.is_dir() {
            out.extend(walk(root, &path));
        } else {
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
    out
}

/// The folder target assembles each publish from the site it replaced last time (issue 18:
/// linking 18,000 files into new folders was most of a run's publish). Whatever the kept site
/// holds (files planted in it, a cache folder, a linked marker), the served folder is the build
/// exactly, a page already published never changes while it is served, and nothing outside the
/// folders is touched.
#[test]
fn republishing_reuses_files_yet_never_changes_a_served_page() {
    use std::io::{Read as _, Seek as _};
    use std::os::unix::fs::PermissionsExt;
    let site = site("");
    let build = site.path().join(".upstate/site");
    let outside = site.path().join("outside.txt");
    std::fs::write(&outside, "not the site's").unwrap();
    let kept = build.join(".upstate-cache/published-before");
    for round in 0..6 {
        if round == 2 {
            for planted in [
                ".upstate-cache/x.html",
                "planted.html",
                "components/extra.html",
            ] {
                let path = kept.join(planted);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, "<script>planted</script>").unwrap();
            }
        }
        if round == 4 {
            let marker = kept.join(".upstate-build");
            std::fs::remove_file(&marker).unwrap();
            std::os::unix::fs::symlink(&outside, &marker).unwrap();
        }
        // Pages that appear, change and go: a new incident each round, the one before removed.
        if round > 0 {
            let _ = std::fs::remove_file(
                site.path()
                    .join(format!("incidents/2026-11-0{round}-db.md")),
            );
        }
        site.incident(
            &format!("2026-11-0{}-db.md", round + 1),
            &format!(
                "---\ntitle: Database down {round}\nseverity: major\nstatus: resolved\ncomponents: [db]\n\
                 discovered_at: 2026-11-0{}T14:05:00Z\nresolved_at: 2026-11-0{}T15:00:00Z\n---\nRound {round}.\n",
                round + 1,
                round + 1
            ),
        );
        // Every served page, opened before the run: what a reader mid-download holds.
        let before = served(&site.public(""));
        let mut open: Vec<(String, std::fs::File)> = before
            .keys()
            .map(|rel| (rel.clone(), std::fs::File::open(site.public(rel)).unwrap()))
            .collect();
        run(&site);
        for (rel, file) in &mut open {
            let mut bytes = Vec::new();
            file.rewind().unwrap();
            file.read_to_end(&mut bytes).unwrap();
            assert_eq!(
                &bytes,
                &before[rel.as_str()],
                "round {round}: {rel} changed while served"
            );
        }
        let now = served(&site.public(""));
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            served(&build).keys().collect::<Vec<_>>(),
            "round {round}: the served folder has exactly the build's files"
        );
        assert_eq!(now, served(&build), "round {round}: and the same bytes");
        assert!(
            now.contains_key(&format!("incidents/2026-11-0{}-db.html", round + 1)),
            "{:?}",
            now.keys()
        );
        if round > 0 {
            assert!(
                !now.contains_key(&format!("incidents/2026-11-0{round}-db.html")),
                "round {round}: a removed incident's page goes"
            );
        }
        let mode = std::fs::metadata(site.public("components/db.html"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o044,
            0o044,
            "round {round}: readable by group and others"
        );
        assert_eq!(mode & 0o002, 0, "round {round}: never writable by others");
    }
    assert!(
        kept.is_dir(),
        "the replaced site is kept for the next publish"
    );
}
