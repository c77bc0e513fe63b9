//! The Statuspage v2-compatible API (`api/v2/*.json`) decodes with strict typed structs that
//! mirror a real Statuspage page field for field and type for type, the way Go structs, Swift
//! `Codable` or serde clients read it: every field present (a missing one fails even when its
//! type is nullable), every array an array, every boolean a boolean.
//!
//! The structs are checked against a real-format document first (`fixtures/import/statuspage`,
//! shaped like githubstatus.com's `incidents.json`), so they demand what real pages publish.

use crate::common::{TestSite, text};
use serde::{Deserialize, Deserializer};

/// A field that must be present, though it may be `null` (serde lets a missing `Option` pass).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

#[derive(Debug, Deserialize)]
struct Page {
    id: String,
    name: String,
    url: String,
    time_zone: String,
    updated_at: String,
}

#[derive(Debug, Deserialize)]
struct Status {
    indicator: String,
    description: String,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)] // read for their types
struct Component {
    id: String,
    name: String,
    status: String,
    created_at: String,
    updated_at: String,
    position: u32,
    #[serde(deserialize_with = "present")]
    description: Option<String>,
    showcase: bool,
    #[serde(deserialize_with = "present")]
    start_date: Option<String>,
    #[serde(deserialize_with = "present")]
    group_id: Option<String>,
    page_id: String,
    group: bool,
    only_show_if_degraded: bool,
    /// Only on groups.
    #[serde(default)]
    components: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct AffectedComponent {
    code: String,
    name: String,
    old_status: String,
    new_status: String,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct IncidentUpdate {
    id: String,
    status: String,
    body: String,
    incident_id: String,
    created_at: String,
    updated_at: String,
    display_at: String,
    /// Real pages also send `null` here; ours is always an array, so this is typed as one for
    /// our documents (see `real_format`).
    affected_components: Vec<AffectedComponent>,
    deliver_notifications: bool,
    #[serde(deserialize_with = "present")]
    custom_tweet: Option<String>,
    #[serde(deserialize_with = "present")]
    tweet_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct Incident<U> {
    id: String,
    name: String,
    status: String,
    created_at: String,
    #[serde(deserialize_with = "present")]
    updated_at: Option<String>,
    #[serde(deserialize_with = "present")]
    monitoring_at: Option<String>,
    #[serde(deserialize_with = "present")]
    resolved_at: Option<String>,
    impact: String,
    shortlink: String,
    #[serde(deserialize_with = "present")]
    started_at: Option<String>,
    page_id: String,
    incident_updates: Vec<U>,
    components: Vec<Component>,
    #[serde(deserialize_with = "present")]
    reminder_intervals: Option<String>,
    /// Only on scheduled maintenance.
    #[serde(default)]
    scheduled_for: Option<String>,
    #[serde(default)]
    scheduled_until: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Summary {
    page: Page,
    components: Vec<Component>,
    incidents: Vec<Incident<IncidentUpdate>>,
    scheduled_maintenances: Vec<Incident<IncidentUpdate>>,
    status: Status,
}

#[derive(Debug, Deserialize)]
struct Incidents<U> {
    page: Page,
    incidents: Vec<Incident<U>>,
}

#[derive(Debug, Deserialize)]
struct Components {
    page: Page,
    components: Vec<Component>,
}

#[derive(Debug, Deserialize)]
struct Maintenances {
    page: Page,
    scheduled_maintenances: Vec<Incident<IncidentUpdate>>,
}

#[derive(Debug, Deserialize)]
struct StatusDoc {
    page: Page,
    status: Status,
}

/// An update as real pages send it: `affected_components` present but possibly `null`.
#[derive(Debug, Deserialize)]
#[allow(dead_code)]
struct RealUpdate {
    id: String,
    status: String,
    body: String,
    #[serde(deserialize_with = "present")]
    affected_components: Option<Vec<AffectedComponent>>,
    deliver_notifications: bool,
}

/// The structs demand no field a real page lacks: a real-format `incidents.json` decodes.
#[test]
fn real_format() {
    let real = include_str!("../fixtures/import/statuspage/incidents.json");
    // The fixture predates `reminder_intervals` (real pages send `null`); add it as they do.
    let mut v: serde_json::Value = serde_json::from_str(real).unwrap();
    for i in v["incidents"].as_array_mut().unwrap() {
        i["reminder_intervals"] = serde_json::Value::Null;
    }
    let doc: Incidents<RealUpdate> = serde_json::from_value(v).unwrap();
    assert!(!doc.incidents.is_empty());
    assert_eq!(doc.page.time_zone, "Etc/UTC");
}

const CONFIG: &str = r#"[site]
title = "Example"
base_url = "https://status.example.com"
timezone = "Europe/Berlin"

[publish]
output = "public"

[[component]]
id = "api"
label = "Public API"
group = "Edge"
kind = "tcp"
address = "127.0.0.1:1"

[[component]]
id = "db"
label = "Database"
kind = "tcp"
address = "127.0.0.1:1"
"#;

const OPEN: &str = "---\ntitle: API errors\nseverity: major\nstatus: identified\nimpact: partial_outage\ncomponents: [api, db]\ndiscovered_at: 2026-11-02T14:05:00Z\nupdates:\n  - at: 2026-11-02T14:05:00Z\n    status: investigating\n    message: Looking.\n  - at: 2026-11-02T14:30:00Z\n    status: identified\n    message: Found it.\n---\n";

const RESOLVED: &str = "---\ntitle: Slow DB\nseverity: minor\nstatus: resolved\ncomponents: [db]\ndiscovered_at: 2026-10-01T10:00:00Z\nresolved_at: 2026-10-01T11:00:00Z\nupdates:\n  - at: 2026-10-01T10:00:00Z\n    status: investigating\n    message: Slow.\n  - at: 2026-10-01T11:00:00Z\n    status: resolved\n    message: Fast again.\n---\n";

const WINDOW: &str = "---\ntitle: DB upgrade\nkind: maintenance\ncomponents: [db]\nstarts_at: 2099-12-01T02:00:00Z\nends_at: 2099-12-01T03:00:00Z\nupdates:\n  - at: 2026-11-01T09:00:00Z\n    status: scheduled\n    message: Planned.\n---\n";

fn built() -> TestSite {
    let site = TestSite::new(CONFIG);
    site.incident("2026-11-02-api-errors.md", OPEN);
    site.incident("2026-10-01-slow-db.md", RESOLVED);
    site.incident("2099-12-01-db-upgrade.md", WINDOW);
    let out = site.cmd(&["build"]);
    assert!(out.status.success(), "{}", text(&out));
    site
}

fn read<T: serde::de::DeserializeOwned>(site: &TestSite, path: &str) -> T {
    let raw = site.read_public(path);
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{path} does not decode: {e}\n{raw}"))
}

#[test]
fn every_document_decodes_with_the_real_types() {
    let site = built();
    let summary: Summary = read(&site, "api/v2/summary.json");
    assert_eq!(
        summary.page.time_zone, "Europe/Berlin",
        "from [site] timezone"
    );
    assert!(!summary.page.id.is_empty() && !summary.page.updated_at.is_empty());
    assert_eq!(summary.page.name, "Example");
    assert_eq!(summary.page.url, "https://status.example.com");
    assert!(!summary.status.indicator.is_empty() && !summary.status.description.is_empty());
    let group = summary.components.iter().find(|c| c.group).unwrap();
    assert_eq!(group.components.as_deref().unwrap().len(), 1);
    let api = summary.components.iter().find(|c| c.id == "api").unwrap();
    assert_eq!(api.group_id.as_deref(), Some(group.id.as_str()));
    assert_eq!(summary.incidents.len(), 1, "only the open incident");
    assert_eq!(summary.scheduled_maintenances.len(), 1);

    let incidents: Incidents<IncidentUpdate> = read(&site, "api/v2/incidents.json");
    assert_eq!(incidents.incidents.len(), 2);
    assert_eq!(incidents.page.time_zone, "Europe/Berlin");
    let unresolved: Incidents<IncidentUpdate> = read(&site, "api/v2/incidents/unresolved.json");
    assert_eq!(unresolved.incidents.len(), 1);
    let components: Components = read(&site, "api/v2/components.json");
    assert_eq!(components.components.len(), 3);
    assert_eq!(components.page.time_zone, "Europe/Berlin");
    for path in [
        "api/v2/scheduled-maintenances.json",
        "api/v2/scheduled-maintenances/upcoming.json",
    ] {
        let m: Maintenances = read(&site, path);
        assert_eq!(m.scheduled_maintenances.len(), 1, "{path}");
        assert!(m.scheduled_maintenances[0].scheduled_for.is_some());
        assert!(!m.page.id.is_empty());
    }
    let status: StatusDoc = read(&site, "api/v2/status.json");
    assert_eq!(status.page.time_zone, "Europe/Berlin");
    assert_eq!(status.status.indicator, summary.status.indicator);
}

/// Each update says what it did to each component the incident names, as the incident declares
/// it: from operational to the impact when it opens, back to operational when it resolves.
#[test]
fn updates_carry_their_affected_components() {
    let site = built();
    let doc: Incidents<IncidentUpdate> = read(&site, "api/v2/incidents.json");
    let open = doc
        .incidents
        .iter()
        .find(|i| i.name == "API errors")
        .unwrap();
    // Newest first, as Statuspage lists them.
    let [identified, investigating] = &open.incident_updates[..] else {
        panic!("{:#?}", open.incident_updates)
    };
    assert_eq!(identified.status, "identified");
    let moves = |u: &IncidentUpdate| -> Vec<(String, String, String, String)> {
        u.affected_components
            .iter()
            .map(|a| {
                (
                    a.code.clone(),
                    a.name.clone(),
                    a.old_status.clone(),
                    a.new_status.clone(),
                )
            })
            .collect()
    };
    let s = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned())
    };
    assert_eq!(
        moves(investigating),
        [
            s("api", "Public API", "operational", "partial_outage"),
            s("db", "Database", "operational", "partial_outage")
        ]
    );
    assert_eq!(
        moves(identified),
        [
            s("api", "Public API", "partial_outage", "partial_outage"),
            s("db", "Database", "partial_outage", "partial_outage")
        ]
    );
    assert!(identified.deliver_notifications);

    let resolved = doc.incidents.iter().find(|i| i.name == "Slow DB").unwrap();
    let newest = &resolved.incident_updates[0];
    assert_eq!(newest.status, "resolved");
    // A minor incident without `impact` declares degraded performance, as the page shows it.
    assert_eq!(
        moves(newest),
        [s("db", "Database", "degraded_performance", "operational")]
    );
}
