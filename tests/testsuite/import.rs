//! `upstate import cstate|statuspage`: cState's own example site and Statuspage API documents
//! become incident files that `upstate check` accepts; what cannot be carried over is reported
//! (exit 3); nothing is ever overwritten.

use std::path::{Path, PathBuf};

use crate::common::{TestSite, text};
use upstate::incident::{self, Incident, Kind, Severity, Status};
use upstate::state::ComponentState;

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(path)
}

fn component(id: &str, label: &str) -> String {
    format!(
        "[[component]]\nid = \"{id}\"\nlabel = \"{label}\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n\n"
    )
}

fn site(components: &[(&str, &str)]) -> TestSite {
    TestSite::new(
        &components
            .iter()
            .map(|(id, label)| component(id, label))
            .collect::<String>(),
    )
}

fn import(site: &TestSite, what: &str, path: &Path) -> std::process::Output {
    site.cmd(&["import", what, path.to_str().unwrap()])
}

/// The file names under `incidents/`, sorted.
fn files(site: &TestSite) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(site.path().join("incidents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Parses a written file exactly as `check` does, with the site's ids.
fn parsed(site: &TestSite, name: &str, ids: &[&str]) -> Incident {
    let path = site.path().join("incidents").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    incident::parse(&path, &text, ids).unwrap_or_else(|e| panic!("{name}: {e:?}\n{text}"))
}

fn at(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    Some(chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc())
}

fn assert_checks(site: &TestSite) {
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

const CSTATE_FILES: [&str; 11] = [
    "2017-12-17-issues-sending-dms.md",
    "2018-04-13-unavailable-guilds-connection-issues.md",
    "2018-04-25-us-east-connection-issues.md",
    "2019-10-04-testing-new-cstate-features.md",
    "2019-10-05-new-pipeline-rollout.md",
    "2023-04-16-formatting-testing.md",
    "2024-02-24-cstate-v6-planning-meeting.md",
    "2024-02-24-exciting-downtime.md",
    "2024-02-24-maintenance-announcement.md",
    "2024-12-24-cstate-v6-showdown.md",
    "2024-12-27-api-dns-resolution-error.md",
];

#[test]
fn cstate_example_site_imports_and_checks() {
    let site = site(&[
        ("api", "API"),
        ("media", "Media Proxy"),
        ("gateway", "Gateway"),
    ]);
    let ids = ["api", "media", "gateway"];
    let out = import(&site, "cstate", &fixture("cstate"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(t.contains("Imported 11 files; 1 warning."), "{t}");
    // Its timeline is tracked in February for a post dated July: an update before
    // `discovered_at` is an error (issue 16), so the incident starts at its first entry.
    assert!(
        t.contains("warning: content/issues/2024-07-23-excitement.md: its timeline starts (2024-02-24T10:35:00Z) before its `date` (2024-07-23T10:35:00Z); discovered_at set to the first entry"),
        "{t}"
    );
    assert!(
        t.contains("2018-04-25-us-east-connection-issues.md (from content/issues/2018-05-25-us-east-conn-issues.md)"),
        "{t}"
    );
    assert_eq!(files(&site), CSTATE_FILES);

    // down, resolved, a tracked timeline and a post-mortem.
    let i = parsed(
        &site,
        "2018-04-13-unavailable-guilds-connection-issues.md",
        &ids,
    );
    assert_eq!(i.title, "Unavailable Guilds & Connection Issues");
    assert_eq!(i.kind, Kind::Incident);
    assert_eq!(i.severity, Some(Severity::Critical));
    assert_eq!(i.impact, Some(ComponentState::MajorOutage));
    assert_eq!(i.status, Some(Status::Resolved));
    assert_eq!(i.components, ["api", "media"]);
    assert_eq!(i.discovered_at, at("2018-04-13T15:54:00Z"));
    assert_eq!(i.contained_at, at("2018-04-13T16:50:00Z"));
    assert_eq!(i.resolved_at, at("2018-04-13T17:30:00Z"));
    let timeline: Vec<(Status, &str)> = i
        .updates
        .iter()
        .map(|u| (u.status, u.message.as_str()))
        .collect();
    assert_eq!(
        timeline,
        [
            (
                Status::Resolved,
                "*Update* - A fix has been implemented and we are monitoring the results. Looks like this has been fixed."
            ),
            (
                Status::Monitoring,
                "After hitting the ole reboot button Example Chat App is now recovering. We're going to continue to monitor as everyone reconnects."
            ),
            (
                Status::Investigating,
                "We're aware of users experiencing unavailable guilds and issues when attempting to connect. We're currently investigating."
            ),
        ],
        "newest first"
    );
    assert!(
        i.body
            .starts_with("*Post-mortem*\n\nAt approximately 14:01"),
        "{}",
        i.body
    );
    assert!(
        !i.body.contains("---"),
        "separators of moved entries dropped: {}",
        i.body
    );

    // disrupted, resolved, no tracked times: the text stays in the body.
    let i = parsed(&site, "2017-12-17-issues-sending-dms.md", &ids);
    assert_eq!(
        (i.severity, i.impact, i.status),
        (
            Some(Severity::Major),
            Some(ComponentState::PartialOutage),
            Some(Status::Resolved)
        )
    );
    assert_eq!(i.resolved_at, at("2017-12-19T16:58:00Z"));
    assert_eq!(i.components, ["api"]);
    assert!(
        i.body
            .contains("*Investigating* - We're aware of an issue affecting sending DMs")
    );

    // notice.
    let i = parsed(&site, "2024-02-24-maintenance-announcement.md", &ids);
    assert_eq!(
        (i.severity, i.impact),
        (
            Some(Severity::Minor),
            Some(ComponentState::DegradedPerformance)
        )
    );
    assert_eq!(i.resolved_at, at("2024-02-24T11:35:00Z"));

    // unresolved, RFC 3339 dates with milliseconds, extra fields (automated, id) ignored.
    let i = parsed(&site, "2024-12-27-api-dns-resolution-error.md", &ids);
    assert_eq!(i.title, "API DNS resolution error!");
    assert_eq!(i.status, Some(Status::Investigating));
    assert_eq!(i.resolved_at, None);
    assert_eq!(i.discovered_at, at("2024-12-27T09:43:40Z"));
    assert!(i.body.contains("(2024-12-27 09:44 UTC)"), "{}", i.body);

    // informational: resolved when posted, no impact, no components.
    let i = parsed(&site, "2019-10-04-testing-new-cstate-features.md", &ids);
    assert_eq!(i.status, Some(Status::Resolved));
    assert_eq!((i.impact, i.components.len()), (None, 0));
    assert_eq!(i.resolved_at, i.discovered_at);
    assert!(i.body.contains("_informational_ posts"));

    // a track on its own line, `*Fixed*`, rules between entries.
    let i = parsed(&site, "2024-02-24-exciting-downtime.md", &ids);
    assert_eq!(i.updates.len(), 2);
    assert_eq!(i.discovered_at, at("2024-02-24T10:35:00Z"));
    assert_eq!(
        i.updates
            .iter()
            .filter(|u| u.status == Status::Resolved)
            .count(),
        1
    );
    assert_eq!(
        i.body,
        "Our servers are down for a few minutes. We will be back up shortly. (2024-02-24 10:35 UTC)"
    );

    for name in CSTATE_FILES {
        let raw = std::fs::read_to_string(site.path().join("incidents").join(name)).unwrap();
        assert!(
            !raw.contains("{{<") && !raw.contains("{{%"),
            "raw shortcode left in {name}:\n{raw}"
        );
    }
    assert_checks(&site);

    // A second run writes nothing and overwrites nothing.
    let out = import(&site, "cstate", &fixture("cstate"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("Imported 0 files (11 already there); 1 warning."),
        "{t}"
    );
    assert_eq!(files(&site), CSTATE_FILES);
}

#[test]
fn cstate_unknown_systems_are_reported_and_left_out() {
    // The example site plus one issue naming a system cState's config.yml does not have.
    let source = tempfile::tempdir().unwrap();
    let issues = source.path().join("content/issues");
    std::fs::create_dir_all(&issues).unwrap();
    std::fs::copy(
        fixture("cstate/config.yml"),
        source.path().join("config.yml"),
    )
    .unwrap();
    for e in std::fs::read_dir(fixture("cstate/content/issues")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), issues.join(e.file_name())).unwrap();
    }
    std::fs::write(
        issues.join("2025-01-02-gateway.md"),
        "---\ntitle: Gateway timeouts\ndate: 2025-01-02 08:00:00\nresolved: true\nseverity: disrupted\naffected: [api, Gatway]\nsection: issue\n---\n\n*Investigating* - Timeouts. {{< track \"2025-01-02 08:00:00\" >}}\n",
    )
    .unwrap();

    let site = site(&[("api", "API")]);
    let out = import(&site, "cstate", source.path());
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    for want in [
        "warning: content/issues/2018-04-13-unavailable-guilds-connection-issues.md: system `Media Proxy` matches no component in upstate.toml",
        "cState's config.yml has this system",
        "add a [[component]] with label = \"Media Proxy\"",
        "warning: content/issues/2018-05-25-us-east-conn-issues.md: system `Media Proxy`",
        "warning: content/issues/2025-01-02-gateway.md: system `Gatway` matches no component",
        "not among cState's config.yml systems either",
        "may be a typo",
        "Imported 12 files; 4 warnings.",
    ] {
        assert!(t.contains(want), "missing `{want}` in:\n{t}");
    }
    // The unknown systems are left out, the known ones kept, and every file still checks.
    let i = parsed(
        &site,
        "2018-04-13-unavailable-guilds-connection-issues.md",
        &["api"],
    );
    assert_eq!(i.components, ["api"]);
    let i = parsed(&site, "2025-01-02-gateway-timeouts.md", &["api"]);
    assert_eq!(i.components, ["api"], "ids match case-insensitively too");
    assert_eq!(i.resolved_at, i.discovered_at);
    assert!(
        i.body.contains("did not record when this was resolved"),
        "{}",
        i.body
    );
    assert_checks(&site);
}

const SP_COMPONENTS: [(&str, &str); 3] = [
    ("api", "API Requests"),
    ("git", "Git Operations"),
    ("webhooks", "Webhooks"),
];
const SP_IDS: [&str; 3] = ["api", "git", "webhooks"];

#[test]
fn statuspage_incidents_and_maintenance_import_and_check() {
    let site = site(&SP_COMPONENTS);
    let out = import(&site, "statuspage", &fixture("statuspage/incidents.json"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Imported 3 files; 0 warnings."), "{t}");
    assert_eq!(
        files(&site),
        [
            "2024-02-20-delayed-notifications.md",
            "2024-03-03-elevated-error-rates-on-the-api-webhooks.md",
            "2024-03-14-degraded-performance-for-git-operations.md",
        ]
    );

    // Unresolved: the status as served, the worst component state the updates recorded.
    let i = parsed(
        &site,
        "2024-03-14-degraded-performance-for-git-operations.md",
        &SP_IDS,
    );
    assert_eq!(i.status, Some(Status::Identified));
    assert_eq!(i.severity, Some(Severity::Minor));
    assert_eq!(i.impact, Some(ComponentState::PartialOutage));
    assert_eq!(i.components, ["git"]);
    assert_eq!(i.discovered_at, at("2024-03-14T08:41:07Z"));
    assert_eq!((i.contained_at, i.resolved_at), (None, None));
    assert_eq!(
        i.updates.iter().map(|u| u.status).collect::<Vec<_>>(),
        [Status::Identified, Status::Investigating]
    );

    // Postmortem: resolved, times converted from -08:00, the postmortem in the body.
    let i = parsed(
        &site,
        "2024-03-03-elevated-error-rates-on-the-api-webhooks.md",
        &SP_IDS,
    );
    assert_eq!(i.title, "Elevated error rates on the API & Webhooks");
    assert_eq!(i.status, Some(Status::Resolved));
    assert_eq!(i.severity, Some(Severity::Major));
    assert_eq!(i.components, ["api", "webhooks"]);
    assert_eq!(
        i.discovered_at,
        at("2024-03-03T00:58:00Z"),
        "started_at, before created_at"
    );
    assert_eq!(i.contained_at, at("2024-03-03T01:48:02Z"));
    assert_eq!(i.resolved_at, at("2024-03-03T02:30:44Z"));
    assert_eq!(i.updates.len(), 3, "the postmortem is not a timeline entry");
    assert_eq!(i.updates[0].message, "This incident has been resolved.");
    assert!(
        i.body
            .starts_with("## Postmortem\n\nOn March 2, a configuration change")
    );

    // impact none → minor; no components.
    let i = parsed(&site, "2024-02-20-delayed-notifications.md", &SP_IDS);
    assert_eq!(i.severity, Some(Severity::Minor));
    assert_eq!(i.impact, Some(ComponentState::DegradedPerformance));
    assert_eq!(i.resolved_at, at("2024-02-20T19:40:58Z"));
    assert!(i.components.is_empty());

    let out = import(
        &site,
        "statuspage",
        &fixture("statuspage/scheduled-maintenances.json"),
    );
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("Imported 2 files; 0 warnings."), "{t}");
    let m = parsed(
        &site,
        "2024-03-01-webhook-delivery-infrastructure-migration.md",
        &SP_IDS,
    );
    assert_eq!(m.kind, Kind::Maintenance);
    assert_eq!(m.status, Some(Status::Completed));
    assert_eq!(
        (m.starts_at, m.ends_at),
        (at("2024-03-01T04:00:00Z"), at("2024-03-01T06:00:00Z"))
    );
    assert_eq!(m.components, ["webhooks"]);
    assert_eq!(
        m.updates.iter().map(|u| u.status).collect::<Vec<_>>(),
        [
            Status::Completed,
            Status::InProgress,
            Status::InProgress,
            Status::Scheduled
        ],
        "verifying is in progress"
    );
    let m = parsed(&site, "2031-06-01-database-cluster-upgrade.md", &SP_IDS);
    assert_eq!(m.status, None, "a scheduled window follows the clock");
    assert_eq!(m.status_at(chrono::Utc::now()), Status::Scheduled);
    assert_eq!(m.components, ["git"]);
    assert_checks(&site);
}

#[test]
fn statuspage_unknown_components_are_reported() {
    let site = site(&SP_COMPONENTS[..2]);
    let out = import(&site, "statuspage", &fixture("statuspage/incidents.json"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(3), "{t}");
    assert!(
        t.contains("warning: incidents.json: \"Elevated error rates on the API & Webhooks\": component `Webhooks` matches no component in upstate.toml"),
        "{t}"
    );
    assert!(t.contains("Imported 3 files; 1 warning."), "{t}");
    let i = parsed(
        &site,
        "2024-03-03-elevated-error-rates-on-the-api-webhooks.md",
        &["api", "git"],
    );
    assert_eq!(i.components, ["api"]);
    assert_checks(&site);
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let site = site(&SP_COMPONENTS);
    let mine = "---\ntitle: Delayed notifications\nseverity: minor\nstatus: investigating\ndiscovered_at: 2024-02-20T18:00:00Z\n---\nOur own notes.\n";
    site.incident("2024-02-20-delayed-notifications.md", mine);
    let out = import(&site, "statuspage", &fixture("statuspage/incidents.json"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(
            site.path()
                .join("incidents/2024-02-20-delayed-notifications.md")
        )
        .unwrap(),
        mine
    );
    let i = parsed(&site, "2024-02-20-delayed-notifications-2.md", &SP_IDS);
    assert_eq!(i.status, Some(Status::Resolved));
    assert_checks(&site);
}

#[test]
fn unreadable_sources_are_errors_naming_them() {
    let site = site(&SP_COMPONENTS);
    let out = import(&site, "cstate", &fixture("statuspage"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("content/issues") && t.contains("must be a cState site"),
        "{t}"
    );

    let out = import(&site, "statuspage", &fixture("cstate/config.yml"));
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("config.yml is not a Statuspage API document"),
        "{t}"
    );
    assert!(files(&site).is_empty());
}
