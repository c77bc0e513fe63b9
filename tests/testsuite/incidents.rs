//! Incident and maintenance files: every error with file, line and field; the lifecycle;
//! private incidents never leaving the repository; script injection through every text.

use std::path::Path;

use crate::common::{TestSite, http_server, text};
use upstate::incident::{self, Status};

const KNOWN: [&str; 2] = ["api", "postgres"];

fn errors_of(body: &str) -> Vec<(usize, Option<String>, String, String)> {
    match incident::parse(Path::new("incidents/x.md"), body, &KNOWN) {
        Ok(_) => Vec::new(),
        Err(e) => e
            .into_iter()
            .map(|e| (e.line, e.field, e.message, e.help.unwrap_or_default()))
            .collect(),
    }
}

#[test]
fn the_contract_examples_parse() {
    let i = incident::parse(
        Path::new("incidents/2026-11-02-api-errors.md"),
        include_str!("../fixtures/contracts/incident.example.md"),
        &KNOWN,
    )
    .unwrap();
    assert_eq!(i.title, "Elevated API error rates");
    assert_eq!(i.updates.len(), 3);
    assert_eq!(i.updates[0].status, Status::Resolved, "newest first");
    assert!(i.body.contains("## Root cause"));
    let m = incident::parse(
        Path::new("incidents/2026-12-01-db-upgrade.md"),
        include_str!("../fixtures/contracts/maintenance.example.md"),
        &KNOWN,
    )
    .unwrap();
    let before = chrono::DateTime::parse_from_rfc3339("2026-12-01T01:00:00Z")
        .unwrap()
        .to_utc();
    let during = chrono::DateTime::parse_from_rfc3339("2026-12-01T02:30:00Z")
        .unwrap()
        .to_utc();
    let after = chrono::DateTime::parse_from_rfc3339("2026-12-01T03:30:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(m.status_at(before), Status::Scheduled);
    assert_eq!(m.status_at(during), Status::InProgress);
    assert_eq!(m.status_at(after), Status::Completed);
    assert_eq!(
        m.forced_state(during),
        Some(upstate::state::ComponentState::UnderMaintenance)
    );
    assert_eq!(m.forced_state(after), None);
}

/// One malformed file per error kind: line, field and a fix.
#[test]
fn malformed_corpus_names_line_field_and_fix() {
    let head = "---\ntitle: T\nseverity: major\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\n";
    let cases: Vec<(String, usize, Option<&str>, &str, &str)> = vec![
        (format!("{head}titel: x\n---\n"), 6, Some("titel"), "unknown field `titel`", "did you mean `title`?"),
        (format!("{head}components: [api, postgress]\n---\n"), 6, Some("components"), "unknown component `postgress`", "did you mean `postgres`?"),
        ("---\ntitle: T\nseverity: major\nstatus: investigating\ndiscovered_at: 2026-11-02 14:05\n---\n".into(), 5, Some("discovered_at"), "`discovered_at` is not a time", "RFC 3339"),
        ("---\ntitle: T\nseverity: huge\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\n---\n".into(), 3, Some("severity"), "`severity` cannot be `huge`", "allowed: minor, major, critical"),
        ("---\ntitle: T\nseverity: major\nstatus: resolvd\ndiscovered_at: 2026-11-02T14:05:00Z\n---\n".into(), 4, Some("status"), "`status` cannot be `resolvd`", "did you mean `resolved`?"),
        ("---\ntitle: T\nseverity: major\nstatus: resolved\ndiscovered_at: 2026-11-02T14:05:00Z\n---\n".into(), 4, Some("resolved_at"), "the incident is resolved but has no `resolved_at`", "add `resolved_at:`"),
        (format!("{head}resolved_at: 2026-11-02T13:00:00Z\n---\n"), 6, Some("resolved_at"), "`resolved_at` is before `discovered_at`", "time zone"),
        (format!("{head}updates:\n  - at: 2026-11-02T14:05:00Z\n    status: scheduled\n    message: x\n---\n"), 8, Some("updates"), "`updates` cannot be `scheduled`", "allowed: investigating"),
        ("---\ntitle: M\nkind: maintenance\nstarts_at: 2026-12-01T03:00:00Z\nends_at: 2026-12-01T02:00:00Z\n---\n".into(), 5, Some("ends_at"), "`ends_at` is before `starts_at`", "swap"),
        ("---\ntitle: M\nkind: maintenance\n---\n".into(), 2, Some("starts_at"), "a maintenance notice needs `starts_at` and `ends_at`", "RFC 3339"),
        ("title: T\n".into(), 1, None, "no front matter", ""),
        ("---\ntitle: T\n".into(), 1, None, "the front matter is not closed", ""),
        ("---\nseverity: major\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\n---\n".into(), 2, Some("title"), "`title` is missing", "add `title:"),
    ];
    for (body, line, field, message, help) in cases {
        let errors = errors_of(&body);
        let found = errors.iter().find(|(_, _, m, _)| m.starts_with(message));
        let Some((l, f, _, h)) = found else {
            panic!("no `{message}` for:\n{body}\ngot {errors:#?}")
        };
        assert_eq!((*l, f.as_deref()), (line, field), "{message}\n{body}");
        assert!(h.contains(help), "{message}: help {h:?} lacks {help:?}");
    }
}

#[test]
fn check_reports_all_errors_in_all_files_at_once() {
    let site = TestSite::new(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    site.incident("a.md", "---\ntitle: A\nseverity: huge\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\ncomponents: [apii]\n---\n");
    site.incident("b.md", "---\ntitle: B\nkind: maintenance\nstarts_at: tomorrow\nends_at: 2026-12-01T02:00:00Z\n---\n");
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    for want in [
        "a.md:3: error [severity]",
        "a.md:6: error [components]: unknown component `apii`",
        "b.md:4: error [starts_at]: `starts_at` is not a time",
        "3 problems in",
    ] {
        assert!(t.contains(want), "missing {want:?} in:\n{t}");
    }
}

#[test]
fn new_writes_files_that_check_accepts() {
    let site = TestSite::new(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    let out = site.cmd(&[
        "new",
        "incident",
        "Login: errors & timeouts!",
        "--components",
        "api",
        "--severity",
        "major",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let out = site.cmd(&[
        "new",
        "maintenance",
        "DB upgrade",
        "--starts",
        "2026-12-01T02:00:00Z",
        "--ends",
        "2026-12-01T03:00:00Z",
        "--components",
        "api",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let names: Vec<String> = std::fs::read_dir(site.path().join("incidents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"2026-12-01-db-upgrade.md".to_owned()),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n.ends_with("-login-errors-timeouts.md")),
        "{names:?}"
    );
    let check = site.cmd(&["check"]);
    assert!(check.status.success(), "{}", text(&check));
    let bad = site.cmd(&["new", "incident", "X", "--components", "nope"]);
    assert_eq!(
        bad.status.code(),
        Some(2),
        "an unknown component is refused before writing"
    );
}

fn site_with(incidents: &[(&str, &str)], extra: &str) -> TestSite {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[site]\ntitle = \"Status\"\nbase_url = \"https://status.test\"\n{extra}\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n\n[[component]]\nid = \"postgres\"\nlabel = \"DB\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    for (name, body) in incidents {
        site.incident(name, body);
    }
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    site
}

#[test]
fn a_private_incident_leaves_no_trace_of_its_words_in_any_output() {
    let now = chrono::Utc::now();
    let at = (now - chrono::Duration::hours(2)).format("%Y-%m-%dT%H:%M:%SZ");
    let site = site_with(
        &[(
            "2026-11-20-secret.md",
            &format!(
                "---\ntitle: Zebra-Quokka breach of the payroll bucket\nseverity: critical\nstatus: identified\ncomponents: [api]\ndiscovered_at: {at}\nprivate: true\nupdates:\n  - at: {at}\n    status: identified\n    message: Narwhal credentials rotated on host db-7\n---\nPostmortem mentions Okapi-Pangolin internals.\n"
            ),
        )],
        "",
    );
    let secrets = [
        "Zebra-Quokka",
        "payroll",
        "Narwhal",
        "db-7",
        "Okapi-Pangolin",
    ];
    let files = site.all_public_files();
    assert!(files.len() > 20);
    for (path, content) in &files {
        for s in secrets {
            assert!(!content.contains(s), "{s} leaked into {path}");
        }
    }
    // Severity, status and timestamps are still published, and the open incident counts.
    let status = site.status_json();
    assert_eq!(status["incidents"][0]["severity"], "critical");
    assert_eq!(status["incidents"][0]["status"], "identified");
    assert_eq!(
        status["components"][0]["state"], "down",
        "an open critical incident forces at least major outage"
    );
    assert!(site.read_public("index.html").contains("Private incident"));
}

const PAYLOADS: [&str; 8] = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "[click](javascript:alert(3))",
    "<a href=\"data:text/html,<script>alert(4)</script>\">x</a>",
    "<iframe src=\"https://evil.example\"></iframe>",
    "\"><svg onload=alert(5)>",
    "<div style=\"background:url(javascript:alert(6))\" onclick=\"alert(7)\">x</div>",
    "</script><script>alert(8)</script>",
];

/// No element or attribute that executes: scripts other than ours, event handlers,
/// javascript:/data: URLs, frames, objects.
fn assert_inert(path: &str, html: &str) {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap();
    for el in doc.select(&all) {
        let name = el.value().name();
        assert!(
            !matches!(name, "iframe" | "object" | "embed" | "frame"),
            "{path}: <{name}>"
        );
        if name == "script" {
            let ours = el.value().attr("src") == Some("assets/js/app.js")
                || el.value().attr("type") == Some("application/json");
            assert!(ours, "{path}: a script that is not ours: {}", el.html());
        }
        for (attr, value) in el.value().attrs() {
            assert!(
                !attr.to_ascii_lowercase().starts_with("on"),
                "{path}: event handler {attr}={value}"
            );
            let v = value.trim().to_ascii_lowercase();
            if matches!(
                attr,
                "href" | "src" | "action" | "formaction" | "xlink:href"
            ) {
                assert!(
                    !v.starts_with("javascript:") && !v.starts_with("data:"),
                    "{path}: {attr}={value}"
                );
            }
        }
    }
}

#[test]
fn injection_payloads_in_every_text_field_stay_inert() {
    let joined = PAYLOADS.join(" ");
    let yaml = serde_json::to_string(&joined).unwrap(); // a valid YAML double-quoted scalar
    let toml_text = toml::Value::String(joined.clone()).to_string();
    let incident = format!(
        "---\ntitle: {yaml}\nseverity: major\nstatus: monitoring\ncomponents: [api]\ndiscovered_at: 2026-11-20T10:00:00Z\nupdates:\n  - at: 2026-11-20T10:00:00Z\n    status: investigating\n    message: {yaml}\n---\n{}\n",
        PAYLOADS.join("\n\n")
    );
    let maintenance = format!(
        "---\ntitle: {yaml}\nkind: maintenance\ncomponents: [postgres]\nstarts_at: 2030-01-01T00:00:00Z\nends_at: 2030-01-01T01:00:00Z\n---\n{}\n",
        PAYLOADS.join("\n")
    );
    let http = http_server();
    let site = TestSite::new(&format!(
        "[site]\ntitle = {toml_text}\ndescription = {toml_text}\nbase_url = \"https://status.test\"\nsecurity_contact = {toml_text}\n\n[[component]]\nid = \"api\"\nlabel = {toml_text}\ndescription = {toml_text}\ngroup = {toml_text}\nkind = \"http\"\nurl = \"http://{http}/json\"\nexpect_json = {{ \"/status\" = {toml_text} }}\n\n[[component]]\nid = \"postgres\"\nlabel = \"DB\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    site.incident("2026-11-20-x.md", &incident);
    site.incident("2030-01-01-m.md", &maintenance);
    std::fs::create_dir_all(site.path().join("content")).unwrap();
    std::fs::write(
        site.path().join("content/about.md"),
        format!("---\ntitle: {yaml}\n---\n{}", PAYLOADS.join("\n\n")),
    )
    .unwrap();
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut pages = 0;
    for (path, content) in site.all_public_files() {
        if path.ends_with(".html") {
            assert_inert(&path, &content);
            pages += 1;
        }
        if path.ends_with(".svg") {
            assert_inert(&path, &content);
        }
    }
    assert!(pages >= 6, "{pages}");
    // The words are shown, escaped, not dropped.
    assert!(
        site.read_public("index.html")
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
}

/// Issue 16: a mistake in an incident file never makes a published incident disappear. The run
/// publishes the last valid version (remembered in history), names the file, line and field in
/// its output and in `run --json`, and exits 3; a file that was never valid is left out, named.
#[test]
fn r16_an_invalid_incident_file_keeps_its_last_valid_version_published() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    let valid = "---\ntitle: API errors\nseverity: critical\nstatus: investigating\ncomponents: [api]\ndiscovered_at: 2026-11-24T10:00:00Z\n---\nWe are on it.\n";
    let file = site.incident("2026-11-24-api.md", valid);
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let published = site.status_json()["incidents"].clone();
    assert_eq!(published[0]["severity"], "critical", "{published:#}");
    let page = site.read_public("incidents/2026-11-24-api.html");

    std::fs::write(&file, valid.replace("severity: critical", "severity: crit")).unwrap();
    site.incident("2026-11-25-new.md", "---\ntitle: Never valid\nseverity: crit\nstatus: investigating\ncomponents: [api]\ndiscovered_at: 2026-11-25T10:00:00Z\n---\n");
    let out = site.cmd(&["run", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let attention: Vec<&str> = summary["attention"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        attention
            .iter()
            .any(|a| a.contains("2026-11-24-api.md:3: [severity]")
                && a.ends_with("its last valid version stays published")),
        "{attention:?}"
    );
    assert!(
        attention
            .iter()
            .any(|a| a.contains("2026-11-25-new.md:3: [severity]")
                && a.ends_with("the file was left out")),
        "{attention:?}"
    );
    assert!(
        text(&out).contains("2026-11-24-api.md has errors; its last valid version stays published"),
        "{}",
        text(&out)
    );
    assert_eq!(
        site.status_json()["incidents"],
        published,
        "the incident is still published as it was"
    );
    assert_eq!(site.read_public("incidents/2026-11-24-api.html"), page);
    assert!(!site.public("incidents/2026-11-25-new.html").exists());

    // Fixed: the new version is published and remembered; deleted: it is gone.
    std::fs::write(
        &file,
        valid.replace("status: investigating", "status: identified"),
    )
    .unwrap();
    std::fs::remove_file(site.path().join("incidents/2026-11-25-new.md")).unwrap();
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    assert_eq!(site.status_json()["incidents"][0]["status"], "identified");
    std::fs::remove_file(&file).unwrap();
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    assert_eq!(site.status_json()["incidents"], serde_json::json!([]));
}

/// Issue 16: one file reports every error it has, not only the first serde meets: unknown keys
/// (top level and in updates, each with the fields of its own level), values of the wrong type,
/// and the checks after them, each on its own line.
#[test]
fn r16_an_incident_file_reports_all_its_errors() {
    let body = "---\ntitle: T\ntitel: x\nseverity: huge\nprivate: maybe\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\nupdates:\n  - at: 2026-11-02T14:05:00Z\n    status: investigating\n    mesage: x\n  - at: 2026-11-02T14:06:00Z\n    status: investigating\n    zzzzzzzzzz: x\n---\n";
    let got = errors_of(body);
    let find = |message: &str| {
        got.iter()
            .find(|(_, _, m, _)| m.starts_with(message))
            .unwrap_or_else(|| panic!("no `{message}` in {got:#?}"))
    };
    let (line, field, _, help) = find("unknown field `titel`");
    assert_eq!((*line, field.as_deref()), (3, Some("titel")));
    assert!(help.contains("did you mean `title`?"), "{help}");
    let (line, field, _, _) = find("`severity` cannot be `huge`");
    assert_eq!((*line, field.as_deref()), (4, Some("severity")));
    let (line, field, _, _) = find("`private`:");
    assert_eq!((*line, field.as_deref()), (5, Some("private")));
    let (line, field, _, help) = find("unknown field `mesage` in an update");
    assert_eq!((*line, field.as_deref()), (11, Some("updates")));
    assert_eq!(help, "did you mean `message`?");
    // Far from every name: the help lists the fields of an update, not the top-level ones.
    let (line, _, _, help) = find("unknown field `zzzzzzzzzz` in an update");
    assert_eq!(*line, 14);
    assert!(help.contains("at, status, message"), "{help}");
    assert!(!help.contains("discovered_at"), "{help}");
    assert_eq!(got.len(), 5, "{got:#?}");
}

/// A field set aside for its own error is not reported missing as well.
#[test]
fn r16_a_field_of_the_wrong_type_is_not_also_missing() {
    let got = errors_of(
        "---\ntitle: [1, 2]\nseverity: major\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\n---\n",
    );
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!((got[0].0, got[0].1.as_deref()), (2, Some("title")));
}

/// A YAML syntax error names the line in the file (not in the front matter) and says what is
/// wrong without the parser's own `error: line 5 column 13:` prefix.
#[test]
fn r16_yaml_errors_are_located_in_the_file() {
    let got = errors_of("# note\n\n---\ntitle: T\nseverity: major\ncomponents: [api\n---\n");
    assert_eq!(got.len(), 1, "{got:#?}");
    let (line, _, message, help) = &got[0];
    assert_eq!(*line, 6, "{got:#?}");
    assert!(!message.contains("error"), "{message}");
    assert!(!message.contains("line "), "{message}");
    assert!(message.contains("bracket"), "{message}");
    assert!(help.contains("YAML"), "{help}");
}

/// An update before the incident was discovered, or dated in the future, is refused.
#[test]
fn r16_updates_lie_between_discovery_and_now() {
    let head = "---\ntitle: T\nseverity: major\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\nupdates:\n";
    let early = errors_of(&format!(
        "{head}  - at: 2026-11-02T14:04:59Z\n    status: investigating\n    message: x\n---\n"
    ));
    assert_eq!(early.len(), 1, "{early:#?}");
    assert_eq!((early[0].0, early[0].1.as_deref()), (7, Some("updates")));
    assert!(early[0].2.contains("before `discovered_at`"), "{early:#?}");
    let tomorrow = (chrono::Utc::now() + chrono::TimeDelta::days(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let future = errors_of(&format!(
        "{head}  - at: 2026-11-02T14:05:00Z\n    status: investigating\n    message: x\n  - at: {tomorrow}\n    status: identified\n    message: y\n---\n"
    ));
    assert_eq!(future.len(), 1, "{future:#?}");
    assert_eq!(future[0].0, 10);
    assert!(future[0].2.contains("in the future"), "{future:#?}");
    // The same updates at discovery and now are fine.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let fine = errors_of(&format!(
        "{head}  - at: 2026-11-02T14:05:00Z\n    status: investigating\n    message: x\n  - at: {now}\n    status: identified\n    message: y\n---\n"
    ));
    assert!(fine.is_empty(), "{fine:#?}");
}

/// An incident naming a component whose own section has an error is not also told the id is
/// unknown: one mistake, one error. The file's errors come in line order.
#[test]
fn r16_a_broken_component_is_not_also_unknown_to_incidents() {
    let site = TestSite::new(
        "[[component]]\nid = \"db\"\nlabel = \"DB\"\nkind = \"tcp\"\naddress = \"x:1\"\ntimeout = \"fast\"\n",
    );
    site.incident(
        "a.md",
        "---\ntitle: A\nseverity: huge\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\ncomponents: [db, dbb]\nupdates:\n  - at: 2026-11-02T14:05:00Z\n    status: investigating\n    mesage: x\n---\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(!t.contains("unknown component `db`"), "{t}");
    assert!(t.contains("unknown component `dbb`"), "{t}");
    let lines: Vec<usize> = t
        .lines()
        .filter_map(|l| l.split("a.md:").nth(1))
        .filter_map(|rest| rest.split(':').next()?.parse().ok())
        .collect();
    assert_eq!(lines, [3, 6, 10], "{t}");
    assert!(t.contains("4 problems in"), "{t}");
}
