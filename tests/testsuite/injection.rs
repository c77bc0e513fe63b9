//! Issue 15, items 2 and 4: hostile text in every field (incident title, update message, body,
//! component label, file name) reaches every format (HTML, RSS, Atom, sitemap, iCal, JSON,
//! webhook and Slack bodies and headers), read back with real parsers after decoding: an XML
//! parser, then an HTML parser on what feed readers render; JSON strings; iCal line by line. And
//! a private incident's file name appears in no output name, content or notification.

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;

use crate::common::{TestSite, text};

/// Each one has broken a status page, a feed reader, a calendar or a chat somewhere.
const CORPUS: [&str; 12] = [
    "<script>alert(1)</script>",
    "&lt;img src=x onerror=alert(2)&gt;",
    "<img src=x onerror=alert(3)>",
    "]]><injected/>",
    "\r\nUID:evil\r\nX-INJECTED:1\r\n",
    "<!channel> <@U123> <https://evil.example|click>",
    "\"quoted\" 'single' `back`",
    "[click](javascript:alert(4))",
    "<a href=\"javascript:alert(5)\">x</a>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "\"><svg onload=alert(6)>",
    "line\u{2028}separator\u{85}next\u{0b}tab",
];

/// Every request a receiver got: (request head, body).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook/Slack receiver on 127.0.0.1 that records every request and answers 204.
fn receiver() -> (SocketAddr, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Seen = Arc::default();
    let shared = Arc::clone(&seen);
    thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let end = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break Some(end);
                }
            };
            let Some(end) = end else { continue };
            let head = String::from_utf8_lossy(&data[..end]).to_string();
            let len: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            while data.len() < end + 4 + len {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
            }
            let body = String::from_utf8_lossy(&data[end + 4..]).to_string();
            shared.lock().unwrap().push((head, body));
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
        }
    });
    (addr, seen)
}

/// A `<` that an HTML parser would read as the start of markup.
fn opens_a_tag(s: &str) -> bool {
    let b = s.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!' | b'?')))
}

fn each_json_string(v: &serde_json::Value, f: &mut dyn FnMut(&str)) {
    match v {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(a) => a.iter().for_each(|x| each_json_string(x, f)),
        serde_json::Value::Object(m) => m.values().for_each(|x| each_json_string(x, f)),
        _ => {}
    }
}

/// No element or attribute that executes: scripts other than ours, event handlers,
/// `javascript:`/`data:` URLs, frames, objects, SVG.
fn assert_inert(what: &str, doc: &scraper::Html) {
    let all = scraper::Selector::parse("*").unwrap();
    for el in doc.select(&all) {
        let name = el.value().name();
        assert!(
            !matches!(name, "iframe" | "object" | "embed" | "frame" | "img"),
            "{what}: <{name}>"
        );
        if name == "script" {
            let ours = el.value().attr("src") == Some("assets/js/app.js")
                || el.value().attr("type") == Some("application/json");
            assert!(ours, "{what}: a script that is not ours: {}", el.html());
        }
        for (attr, value) in el.value().attrs() {
            assert!(
                !attr.to_ascii_lowercase().starts_with("on"),
                "{what}: event handler {attr}={value}"
            );
            let v = value.trim().to_ascii_lowercase();
            assert!(
                !v.starts_with("javascript:") && !v.starts_with("data:"),
                "{what}: {attr}={value}"
            );
        }
    }
}

/// Text that readers may render as HTML must hold no element at all.
fn assert_no_elements(what: &str, html: &str) {
    let doc = scraper::Html::parse_fragment(html);
    let all = scraper::Selector::parse("*").unwrap();
    let names: Vec<String> = doc
        .select(&all)
        .map(|e| e.value().name().to_owned())
        .filter(|n| n != "html")
        .collect();
    assert!(
        names.is_empty(),
        "{what}: {html:?} makes elements {names:?}"
    );
}

const FEED_ELEMENTS: [&str; 24] = [
    "rss",
    "channel",
    "title",
    "link",
    "description",
    "item",
    "guid",
    "pubDate",
    "lastBuildDate",
    "feed",
    "id",
    "updated",
    "author",
    "name",
    "entry",
    "summary",
    "urlset",
    "url",
    "loc",
    // not used today; allowed so the list reads as "the formats' own elements"
    "content",
    "published",
    "category",
    "subtitle",
    "generator",
];

/// Parses an RSS/Atom/sitemap file with a real XML parser; only the format's own elements; every
/// text readers render as HTML rendered with an HTML parser and found inert.
fn check_xml(path: &str, xml: &str) -> usize {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut rendered = 0;
    for node in doc.descendants().filter(roxmltree::Node::is_element) {
        let name = node.tag_name().name();
        assert!(FEED_ELEMENTS.contains(&name), "{path}: element <{name}>");
        let text: String = node
            .children()
            .filter_map(|c| c.text())
            .collect::<Vec<_>>()
            .join("");
        let parent = node.parent_element().map(|p| p.tag_name().name());
        match (parent, name) {
            // RSS: titles are text that readers often render as HTML; descriptions are HTML.
            (Some("item" | "channel"), "title") => assert_no_elements(path, &text),
            (Some("item"), "description") => {
                assert_inert(path, &scraper::Html::parse_fragment(&text));
                rendered += 1;
            }
            // Atom: the declared type is what the content is.
            (Some("entry" | "feed"), "title" | "summary") => {
                assert_eq!(node.attribute("type"), Some("html"), "{path}: <{name}>");
                if name == "title" {
                    // type="html": decoded once more it is the plain title, no element.
                    assert_no_elements(path, &text);
                } else {
                    assert_inert(path, &scraper::Html::parse_fragment(&text));
                    rendered += 1;
                }
            }
            (_, "link" | "loc" | "id" | "guid") => {
                let url = node.attribute("href").unwrap_or(&text);
                assert!(
                    url.starts_with("https://status.test/") || url == "https://status.test",
                    "{path}: <{name}> {url:?}"
                );
                assert!(!url.contains(char::is_whitespace), "{path}: {url:?}");
            }
            _ => {}
        }
    }
    rendered
}

/// Parses the calendar line by line (RFC 5545: CRLF, folded lines begin with a space): every
/// property is one Upstate writes, one UID per event.
fn check_ics(ics: &str) -> usize {
    let unfolded = ics.replace("\r\n ", "");
    let allowed = [
        "BEGIN",
        "END",
        "VERSION",
        "PRODID",
        "CALSCALE",
        "METHOD",
        "X-WR-CALNAME",
        "UID",
        "DTSTAMP",
        "DTSTART",
        "DTEND",
        "SUMMARY",
        "STATUS",
        "URL",
        "DESCRIPTION",
    ];
    let mut events = 0;
    let mut uids = 0;
    for line in unfolded.split("\r\n").filter(|l| !l.is_empty()) {
        assert!(
            !line.contains(['\r', '\n', '\u{0b}', '\u{85}', '\u{2028}']),
            "a line break inside {line:?}"
        );
        let name = line.split([':', ';']).next().unwrap();
        assert!(allowed.contains(&name), "injected property {line:?}");
        if line == "BEGIN:VEVENT" {
            events += 1;
        }
        if name == "UID" {
            uids += 1;
        }
        if name == "URL" {
            let url = &line[4..];
            assert!(
                url.starts_with("https://status.test/incidents/")
                    && url.chars().all(|c| c.is_ascii_graphic()),
                "{line:?}"
            );
        }
    }
    assert_eq!(events, uids, "one UID per event");
    events
}

fn config(http: SocketAddr, hook: SocketAddr, label: &str) -> String {
    let label = toml::Value::String(label.to_owned()).to_string();
    format!(
        "[site]\ntitle = \"Status\"\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"api\"\nlabel = {label}\nkind = \"http\"\nurl = \"http://{http}/ok\"\n\n[[component]]\nid = \"db\"\nlabel = \"DB\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n\n[[notify]]\nkind = \"webhook\"\nurl = \"http://{hook}/hook\"\ntimeout = \"2s\"\n\n[[notify]]\nkind = \"slack\"\nurl = \"http://{hook}/slack\"\ntimeout = \"2s\"\n"
    )
}

/// Incident and maintenance file names with CR/LF, `<!channel>`, markup and quotes.
const EVIL_INCIDENT: &str = "2026-11-20-evil\r\nX-INJECTED:1 <!channel> <script>\"'&;,.md";
const EVIL_MAINTENANCE: &str = "2030-01-01-maint\r\nUID:evil <!channel> Zürich.md";

#[test]
fn the_injection_corpus_in_every_field_is_inert_in_every_format() {
    let joined = CORPUS.join(" ");
    let yaml = serde_json::to_string(&joined).unwrap(); // a valid YAML double-quoted scalar
    let http = common::http_server();
    let (hook, seen) = receiver();
    let site = TestSite::new(&config(http, hook, &joined));
    // First run: the notification targets' baseline (nothing is sent).
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(seen.lock().unwrap().is_empty());

    site.incident(
        EVIL_INCIDENT,
        &format!(
            "---\ntitle: {yaml}\nseverity: major\nstatus: identified\ncomponents: [api]\ndiscovered_at: 2026-11-20T10:00:00Z\nupdates:\n  - at: 2026-11-20T10:00:00Z\n    status: investigating\n    message: {yaml}\n  - at: 2026-11-20T11:00:00Z\n    status: identified\n    message: {yaml}\n---\n{}\n",
            CORPUS.join("\n\n")
        ),
    );
    site.incident(
        EVIL_MAINTENANCE,
        &format!(
            "---\ntitle: {yaml}\nkind: maintenance\ncomponents: [db]\nstarts_at: 2030-01-01T00:00:00Z\nends_at: 2030-01-01T01:00:00Z\n---\n{}\n",
            CORPUS.join("\n\n")
        ),
    );
    let config = std::fs::read_to_string(site.config())
        .unwrap()
        .replace("/ok\"\n\n[[component]]", "/fail\"\n\n[[component]]");
    std::fs::write(site.config(), config).unwrap();
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // Every output: a safe name, and inert in its format.
    let files = site.all_public_files();
    let (mut feeds_rendered, mut events, mut pages) = (0, 0, 0);
    for (path, content) in &files {
        assert!(
            path.bytes().all(|b| b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || matches!(b, b'/' | b'.' | b'-' | b'_')),
            "output file name {path:?}"
        );
        if path.ends_with(".html") || path.ends_with(".svg") {
            assert_inert(path, &scraper::Html::parse_document(content));
            pages += 1;
        } else if path.ends_with(".rss") || path.ends_with(".atom") || path.ends_with(".xml") {
            feeds_rendered += check_xml(path, content);
        } else if path.ends_with(".ics") {
            events += check_ics(content);
        } else if path.ends_with(".json") {
            let doc: serde_json::Value =
                serde_json::from_str(content).unwrap_or_else(|e| panic!("{path}: {e}"));
            each_json_string(&doc, &mut |s| {
                assert!(!opens_a_tag(s), "{path}: markup in {s:?}");
                assert!(!s.contains('\r'), "{path}: CR in {s:?}");
            });
        }
    }
    assert!(pages >= 8, "{pages} pages");
    assert_eq!(events, 1, "the maintenance is in the calendar");
    assert!(
        feeds_rendered >= 4,
        "{feeds_rendered} feed entries rendered"
    );

    // The words are kept as text, not dropped: the Statuspage body of the update shows them.
    let incidents: serde_json::Value =
        serde_json::from_str(&site.read_public("api/v2/incidents.json")).unwrap();
    let incident = &incidents["incidents"][0];
    assert_eq!(
        incident["id"], "2026-11-20-evil-x-injected-1-channel-script",
        "the id is the file name in [a-z0-9-]"
    );
    let body = incident["incident_updates"][0]["body"].as_str().unwrap();
    assert!(body.contains("onerror=alert(2)>"), "{body}");
    assert!(
        body.contains("\u{2039}img src=x onerror=alert(2)>"),
        "{body}"
    );
    assert!(body.contains("\"quoted\" 'single'"), "{body}");
    // The RSS description, decoded by the XML parser, is the sanitised HTML: the message's
    // `&lt;img…&gt;` is still escaped there, so a reader shows it as text.
    let rss = site.read_public("feed.rss");
    let doc = roxmltree::Document::parse(&rss).unwrap();
    let descriptions: Vec<&str> = doc
        .descendants()
        .filter(|n| {
            n.has_tag_name("description") && n.parent_element().unwrap().has_tag_name("item")
        })
        .filter_map(|n| n.text())
        .collect();
    assert!(
        descriptions
            .iter()
            .any(|d| d.contains("&lt;img src=x onerror=alert(2)&gt;")),
        "{descriptions:?}"
    );
    let maintenance_page = site
        .all_public_files()
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| p.starts_with("incidents/2030-01-01-maint"))
        .unwrap();
    assert_eq!(
        maintenance_page, "incidents/2030-01-01-maint-uid-evil-channel-zurich.html",
        "transliterated, not dropped"
    );

    // Notifications: each target got the component change and both timelines (the CR/LF file
    // name did not make an event undeliverable), with nothing that acts in its format.
    let seen = seen.lock().unwrap().clone();
    let to = |p: &str| {
        seen.iter()
            .filter(|(h, _)| h.starts_with(&format!("POST {p} ")))
            .cloned()
            .collect::<Vec<_>>()
    };
    let (hooks, slacks) = (to("/hook"), to("/slack"));
    assert_eq!(hooks.len(), 4, "{hooks:#?}");
    assert_eq!(slacks.len(), 4, "{slacks:#?}");
    for (head, _) in &seen {
        for line in head.split("\r\n").skip(1) {
            let (name, value) = line.split_once(':').unwrap_or_else(|| panic!("{line:?}"));
            assert!(
                !name.eq_ignore_ascii_case("x-injected") && !value.contains(['\r', '\n']),
                "{head}"
            );
        }
    }
    let mut maintenance_delivered = false;
    for (_, body) in &hooks {
        let event: serde_json::Value = serde_json::from_str(body).unwrap();
        each_json_string(&event, &mut |s| {
            assert!(!opens_a_tag(s), "webhook: markup in {s:?}");
        });
        maintenance_delivered |= event["incident"] == "2030-01-01-maint-uid-evil-channel-zurich";
    }
    assert!(maintenance_delivered, "{hooks:#?}");
    for (_, body) in &slacks {
        let message: serde_json::Value = serde_json::from_str(body).unwrap();
        let text = message["text"].as_str().unwrap();
        // Slack acts on `<…>` only: the one link at the end, nothing else.
        let (words, link) = text.rsplit_once(" <").unwrap();
        assert!(!words.contains(['<', '>']), "slack: {words}");
        assert!(
            link.starts_with("https://status.test/")
                && link.ends_with("|details>")
                && !link.contains(char::is_whitespace)
                && link.matches('<').count() == 0,
            "slack link: {link}"
        );
        assert!(
            words.contains("&lt;!channel&gt;") || words.contains("is now"),
            "{words}"
        );
    }
}

/// Copies a site's config, incidents and history store (what an ephemeral CI runner has) to a
/// new folder.
fn fresh_runner(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    let copy = |rel: &str| {
        let mut stack = vec![from.join(rel)];
        while let Some(p) = stack.pop() {
            let dest = to.path().join(p.strip_prefix(from).unwrap());
            if p.is_dir() {
                std::fs::create_dir_all(&dest).unwrap();
                stack.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
            } else {
                std::fs::copy(&p, &dest).unwrap();
            }
        }
    };
    copy("upstate.toml");
    copy("incidents");
    copy(".upstate/history");
    to
}

fn built_private_ids(dir: &Path) -> Vec<String> {
    let mut ids: Vec<String> = std::fs::read_dir(dir.join(".upstate/site/incidents"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("private-"))
        .collect();
    ids.sort();
    ids
}

fn build(dir: &Path) {
    let out = common::upstate()
        .args(["build", "--config"])
        .arg(dir.join("upstate.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

fn public_paths(site: &TestSite) -> Vec<String> {
    let mut paths: Vec<String> = site
        .all_public_files()
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    paths.sort();
    paths
}

#[test]
fn a_private_incidents_file_name_is_published_nowhere_and_its_id_is_stable() {
    const NAME: &str = "2026-11-20-leaked-acme-customer-passwords";
    let http = common::http_server();
    let (hook, seen) = receiver();
    let site = TestSite::new(&config(http, hook, "API"));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let at = (chrono::Utc::now() - chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ");
    let incident = |private: bool| {
        format!(
            "---\ntitle: Customer passwords\nseverity: critical\nstatus: identified\ncomponents: [api]\ndiscovered_at: {at}\nprivate: {private}\nupdates:\n  - at: {at}\n    status: identified\n    message: Rotated.\n---\nDetails.\n"
        )
    };
    site.incident(
        "2026-11-19-api-errors.md",
        "---\ntitle: API errors\nseverity: minor\nstatus: resolved\ncomponents: [db]\ndiscovered_at: 2026-11-19T10:00:00Z\nresolved_at: 2026-11-19T11:00:00Z\n---\n",
    );
    site.incident(&format!("{NAME}.md"), &incident(true));
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let leaks = ["leaked", "acme", "customer-passwords", "Customer passwords"];
    let check_nothing_leaked = |site: &TestSite, seen: &[(String, String)]| {
        for (path, content) in site.all_public_files() {
            for word in leaks {
                assert!(!path.contains(word), "{word} in the file name {path}");
                assert!(!content.contains(word), "{word} in {path}");
            }
        }
        for (head, body) in seen {
            for word in leaks {
                assert!(
                    !head.contains(word) && !body.contains(word),
                    "{word} in {head}\n{body}"
                );
            }
        }
    };
    let delivered = seen.lock().unwrap().clone();
    // To each of the two targets: api's change, and each incident's timeline entry.
    assert_eq!(delivered.len(), 6, "{delivered:#?}");
    check_nothing_leaked(&site, &delivered);
    let private_pages: Vec<String> = public_paths(&site)
        .into_iter()
        .filter(|p| p.starts_with("incidents/private-"))
        .collect();
    assert_eq!(private_pages.len(), 1, "{private_pages:?}");
    let id = private_pages[0]
        .strip_prefix("incidents/")
        .unwrap()
        .strip_suffix(".html")
        .unwrap()
        .to_owned();
    assert_eq!(id.len(), "private-".len() + 16);
    let api = site.read_public("api/v2/incidents.json");
    assert!(api.contains(&format!("\"id\": \"{id}\"")), "{api}");
    let events: Vec<serde_json::Value> = delivered
        .iter()
        .filter(|(h, _)| h.starts_with("POST /hook "))
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["incident"] == id.as_str()));

    // Stable: another build, and a fresh runner with only the repository and the history store.
    build(site.path());
    assert_eq!(built_private_ids(site.path()), [format!("{id}.html")]);
    let runner = fresh_runner(site.path());
    build(runner.path());
    assert_eq!(built_private_ids(runner.path()), [format!("{id}.html")]);
    // Keyed: the same file name without the site's key gives another id.
    let stranger = fresh_runner(site.path());
    std::fs::remove_file(stranger.path().join(".upstate/history/site-key.json")).unwrap();
    build(stranger.path());
    let other = built_private_ids(stranger.path());
    assert_eq!(other.len(), 1);
    assert_ne!(other[0], format!("{id}.html"));

    // Making it public and private again changes its own address only, and announces nothing.
    let before = public_paths(&site);
    site.incident(&format!("{NAME}.md"), &incident(false));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let public = public_paths(&site);
    let changed: Vec<&String> = public
        .iter()
        .filter(|p| !before.contains(p))
        .chain(before.iter().filter(|p| !public.contains(p)))
        .collect();
    assert_eq!(
        changed,
        [
            &format!("incidents/{NAME}.html"),
            &format!("incidents/{id}.html")
        ]
    );
    site.incident(&format!("{NAME}.md"), &incident(true));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    assert_eq!(public_paths(&site), before);
    let delivered = seen.lock().unwrap().clone();
    assert_eq!(
        delivered.len(),
        6,
        "flipping `private` announced again: {delivered:#?}"
    );
    check_nothing_leaked(&site, &delivered);
}

#[test]
fn file_names_that_make_the_same_slug_are_reported_and_both_published() {
    let http = common::http_server();
    let (hook, _seen) = receiver();
    let site = TestSite::new(&config(http, hook, "API"));
    let body = "---\ntitle: Outage\nseverity: minor\nstatus: resolved\ncomponents: [api]\ndiscovered_at: 2026-11-19T10:00:00Z\nresolved_at: 2026-11-19T11:00:00Z\n---\n";
    site.incident("2026-11-19-Zürich.md", body);
    site.incident("2026-11-19-zurich.md", body);
    let check = site.cmd(&["check"]);
    let said = text(&check);
    assert!(!check.status.success(), "{said}");
    assert!(
        said.contains("2026-11-19-zurich.md")
            && said.contains("2026-11-19-Zürich.md")
            && said.contains("incidents/2026-11-19-zurich.html"),
        "{said}"
    );
    site.cmd(&["run"]);
    let pages: Vec<String> = public_paths(&site)
        .into_iter()
        .filter(|p| p.starts_with("incidents/2026-11-19-zurich"))
        .collect();
    assert_eq!(pages.len(), 2, "{pages:?}");
    assert!(pages.contains(&"incidents/2026-11-19-zurich.html".to_owned()));
}

#[test]
fn entries_announced_under_the_raw_file_name_are_not_announced_again() {
    let http = common::http_server();
    let (hook, seen) = receiver();
    let site = TestSite::new(&config(http, hook, "API"));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    // What a release that published raw file names remembered having sent to each target.
    let memory_path = site.path().join(".upstate/history/memory.json");
    let mut memory: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&memory_path).unwrap()).unwrap();
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-20T11:00:00Z").unwrap();
    let old_id = format!("incident:2026-11-20-API Errors:resolved:{}", at.timestamp());
    let sent = memory["notify"]["sent"].as_object_mut().unwrap();
    assert_eq!(sent.len(), 2, "both targets have a baseline");
    for ids in sent.values_mut() {
        ids.as_array_mut().unwrap().push(old_id.clone().into());
    }
    std::fs::write(&memory_path, serde_json::to_vec(&memory).unwrap()).unwrap();

    site.incident(
        "2026-11-20-API Errors.md",
        "---\ntitle: API errors\nseverity: minor\nstatus: resolved\ncomponents: [db]\ndiscovered_at: 2026-11-20T10:00:00Z\nresolved_at: 2026-11-20T11:00:00Z\nupdates:\n  - at: 2026-11-20T11:00:00Z\n    status: resolved\n    message: Fixed.\n---\n",
    );
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(site.public("incidents/2026-11-20-api-errors.html").exists());
    assert!(
        seen.lock().unwrap().is_empty(),
        "announced again under its new id: {:#?}",
        seen.lock().unwrap()
    );
}

mod generated {
    //! The encoders' promises, for any text: built from the corpus' pieces and arbitrary
    //! strings, so the generator reaches `<!`, CR/LF and entities often.
    use proptest::prelude::*;
    use upstate::text;

    fn hostile() -> impl Strategy<Value = String> {
        proptest::collection::vec(
            prop_oneof![
                proptest::sample::select(
                    &[
                        "<", ">", "&", "&lt;", "&#60;", "&#x3c;", "<!", "</", "<?", "<a", "\r",
                        "\n", "\r\n", "\u{85}", "\u{2028}", "\u{0}", "\u{b}", ";", ",", "\\", "|",
                        "\"", "'", "%", "ü", "東", " ", "-",
                    ][..]
                )
                .prop_map(str::to_owned),
                any::<String>()
            ],
            0..24,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn every_encoder_keeps_its_promise(s in hostile()) {
            let slug = text::slugify(&s);
            prop_assert!(slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
            prop_assert!(!slug.starts_with('-') && !slug.ends_with('-') && !slug.contains("--"));

            let plain = text::plain_text(&s);
            prop_assert!(!super::opens_a_tag(&plain), "{plain:?}");
            let from_html = text::plain_text(&text::html_to_text(&s));
            prop_assert!(!super::opens_a_tag(&from_html), "{from_html:?}");

            let slack = text::slack_escape(&s);
            prop_assert!(!slack.contains(['<', '>']), "{slack:?}");
            let link = text::slack_link(&s, &s);
            prop_assert!(link.starts_with('<') && link.ends_with('>'));
            prop_assert_eq!(link.matches(['<', '>']).count(), 2, "{}", link);
            prop_assert_eq!(link.matches('|').count(), 1, "{}", link);

            let ical = text::ical_text(&s);
            prop_assert!(!ical.chars().any(|c| c.is_control() && c != '\t'), "{ical:?}");
            prop_assert!(!ical.contains(['\u{2028}', '\u{2029}']), "{:?}", ical);

            let uri = text::uri(&s);
            prop_assert!(uri.bytes().all(|b| b.is_ascii_graphic()), "{uri:?}");
            prop_assert!(!uri.contains(['"', '<', '>', '\\', '^', '`', '{', '|', '}']), "{:?}", uri);

            let header = text::header_value(&s);
            prop_assert!(header.bytes().all(|b| (0x20..0x7f).contains(&b)), "{header:?}");

            let xml = format!("<t a=\"{0}\">{0}</t>", text::xml_escape(&s));
            let doc = roxmltree::Document::parse(&xml);
            prop_assert!(doc.is_ok(), "{xml:?}: {doc:?}");
            let html = text::html_escape(&s);
            prop_assert!(!html.contains(['<', '>', '"', '\'']), "{:?}", html);
        }
    }
}

/// Two ephemeral CI runners that share only a git history branch publish a private incident
/// under the same id.
#[test]
fn a_private_id_is_the_same_on_every_fresh_runner_of_a_git_history_store() {
    let repo = tempfile::tempdir().unwrap();
    let init = std::process::Command::new("git")
        .args(["init", "-q", "--bare", "history.git"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let store = format!(
        "git+file://{}#upstate-history",
        repo.path().join("history.git").display()
    );
    let http = common::http_server();
    let private_page = || {
        let site = TestSite::new(&format!(
            "[site]\nbase_url = \"https://status.test\"\n\n[history]\nstore = \"{store}\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
        ));
        site.incident(
            "2026-11-20-leaked-acme-customer-passwords.md",
            "---\ntitle: Secret\nseverity: minor\nstatus: resolved\ncomponents: [api]\ndiscovered_at: 2026-11-20T10:00:00Z\nresolved_at: 2026-11-20T11:00:00Z\nprivate: true\n---\n",
        );
        let out = site.cmd(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let pages: Vec<String> = public_paths(&site)
            .into_iter()
            .filter(|p| p.starts_with("incidents/"))
            .collect();
        assert_eq!(pages.len(), 1, "{pages:?}");
        assert!(pages[0].starts_with("incidents/private-"), "{pages:?}");
        pages[0].clone()
    };
    let first = private_page();
    let second = private_page();
    assert_eq!(first, second);
}
