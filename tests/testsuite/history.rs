//! The history store: observations recorded and rolled up, gaps shown as no data, unreadable
//! files never overwritten, overlapping runs never interleaving.

use crate::common;

use std::collections::BTreeMap;

use crate::common::history_fixtures::{obs, retention, t};
use crate::common::{TestSite, http_server, text, upstate};
use chrono::{DateTime, Duration, Utc};
use upstate::history::{History, LocalStore};
use upstate::state::{ComponentState, Memory};

fn record(dir: &std::path::Path, at: DateTime<Utc>, state: ComponentState, latency: u64) {
    let mut h = History::open(Box::new(LocalStore::new(dir)), retention()).unwrap();
    h.record(
        at,
        &[obs(at, state, latency)],
        &BTreeMap::from([("api".to_owned(), Memory::default())]),
    )
    .unwrap();
    assert!(h.problems().is_empty(), "{:?}", h.problems());
}

#[test]
fn three_runs_make_three_observations_and_time_weighted_rollups() {
    let dir = tempfile::tempdir().unwrap();
    record(
        dir.path(),
        t("2026-11-20T10:00:00Z"),
        ComponentState::Operational,
        10,
    );
    record(
        dir.path(),
        t("2026-11-20T10:01:00Z"),
        ComponentState::MajorOutage,
        0,
    );
    record(
        dir.path(),
        t("2026-11-20T10:03:00Z"),
        ComponentState::Operational,
        30,
    );
    let raw = std::fs::read_dir(dir.path().join("raw/2026-11-20"))
        .unwrap()
        .count();
    assert_eq!(raw, 3);
    let mut h = History::open_read_only(Box::new(LocalStore::new(dir.path())), retention());
    let day = h
        .day_rollup("api", t("2026-11-20T00:00:00Z").date_naive())
        .unwrap();
    assert_eq!((day.checks, day.failures), (3, 1));
    // Each run stands for the time nearest to it: operational 10:00-10:00:30 and 10:02-10:03,
    // down 10:00:30-10:02 (the second run's down counts from halfway since the first).
    assert_eq!(day.seconds.operational, 90.0);
    assert_eq!(day.seconds.major_outage, 90.0);
    assert!((day.seconds.uptime().unwrap() - 90.0 / 180.0).abs() < 1e-9);
    assert_eq!(
        day.latency.count(),
        2,
        "a failed check has no latency sample"
    );
    let m = h.memory("api");
    assert_eq!(m.last_state, Some(ComponentState::Operational));
    assert_eq!(m.timeline.len(), 3, "operational, down, operational");
}

#[test]
fn a_gap_longer_than_max_gap_is_no_data_not_uptime() {
    let dir = tempfile::tempdir().unwrap();
    record(
        dir.path(),
        t("2026-11-20T10:00:00Z"),
        ComponentState::Operational,
        10,
    );
    // The cron stopped for five hours; only max_gap (15 min) of that counts as observed.
    record(
        dir.path(),
        t("2026-11-20T15:00:00Z"),
        ComponentState::Operational,
        10,
    );
    let mut h = History::open_read_only(Box::new(LocalStore::new(dir.path())), retention());
    let day = h
        .day_rollup("api", t("2026-11-20T00:00:00Z").date_naive())
        .unwrap();
    assert_eq!(day.seconds.observed(), 900.0);
    assert!(
        h.day_rollup("api", t("2026-11-19T00:00:00Z").date_naive())
            .is_none(),
        "a day never observed has no data"
    );
}

#[test]
fn the_page_shows_no_data_for_unobserved_days() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let html = site.read_public("components/web.html");
    assert_eq!(
        html.matches(": No data</span>").count(),
        89,
        "89 of the 90 days were never observed"
    );
    assert!(html.contains("class=\"o\""), "today has data");
    let index = site.read_public("index.html");
    assert!(
        index.contains("30 d <b>no data</b>") || index.contains("no data"),
        "a single run has no 30-day figure yet"
    );
}

#[test]
fn a_truncated_history_file_is_named_left_untouched_and_the_page_still_publishes() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let memory = site.path().join(".upstate/history/memory.json");
    let full = std::fs::read(&memory).unwrap();
    std::fs::write(&memory, &full[..full.len() / 2]).unwrap();
    let truncated = std::fs::read(&memory).unwrap();
    std::fs::remove_file(site.public("status.json")).unwrap();
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("memory.json cannot be read"),
        "{}",
        text(&out)
    );
    assert_eq!(
        std::fs::read(&memory).unwrap(),
        truncated,
        "the unreadable file was not touched"
    );
    assert_eq!(
        site.status_json()["components"][0]["state"],
        "operational",
        "the live status was published"
    );
    // `history repair` moves it aside; the next run is clean.
    let repair = site.cmd(&["history", "repair"]);
    assert!(
        repair.status.success() && text(&repair).contains("Moved aside: memory.json.unreadable-"),
        "{}",
        text(&repair)
    );
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    assert_eq!(site.cmd(&["history", "check"]).status.code(), Some(0));
}

#[test]
fn a_file_from_a_newer_format_is_refused_and_kept() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let memory = site.path().join(".upstate/history/memory.json");
    let newer = r#"{"version":99,"components":{}}"#;
    std::fs::write(&memory, newer).unwrap();
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("written by a newer upstate (format 99"),
        "{}",
        text(&out)
    );
    assert_eq!(std::fs::read_to_string(&memory).unwrap(), newer);
}

#[test]
fn a_store_of_a_newer_format_is_never_written() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    let store = site.path().join(".upstate/history");
    std::fs::create_dir_all(&store).unwrap();
    std::fs::write(
        store.join("FORMAT"),
        r#"{"format":"upstate-history","version":2}"#,
    )
    .unwrap();
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("has format 2; this upstate reads and writes format 1, so it wrote nothing. Run an upstate that reads format 2"),
        "{}",
        text(&out)
    );
    let left: Vec<_> = std::fs::read_dir(&store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n != "lock")
        .collect();
    assert_eq!(left, ["FORMAT"], "no raw/, daily/ or memory.json written");
    assert!(!site.path().join("public").exists(), "nothing published");
}

#[test]
fn overlapping_runs_never_interleave_or_lose_an_observation() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    let rounds = 4;
    for _ in 0..rounds {
        let children: Vec<_> = (0..3)
            .map(|_| {
                common::upstate()
                    .arg("run")
                    .arg("--config")
                    .arg(site.config())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
    }
    let runs = rounds * 3;
    let mut raw = 0;
    for day in std::fs::read_dir(site.path().join(".upstate/history/raw")).unwrap() {
        raw += std::fs::read_dir(day.unwrap().path()).unwrap().count();
    }
    assert_eq!(raw, runs, "one raw file per run");
    let mut h = History::open_read_only(
        Box::new(LocalStore::new(site.path().join(".upstate/history"))),
        retention(),
    );
    assert!(h.problems().is_empty());
    let checks: u64 = std::fs::read_dir(site.path().join(".upstate/history/daily"))
        .unwrap()
        .map(|e| {
            let day = e
                .unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            h.day_rollup(
                "web",
                chrono::NaiveDate::parse_from_str(&day, "%Y-%m-%d").unwrap(),
            )
            .map_or(0, |d| d.checks)
        })
        .sum();
    assert_eq!(checks, runs as u64, "every run's check is in the rollups");
}

#[test]
fn maintenance_time_is_recorded_apart_and_left_out_of_uptime() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/fail\"\n"
    ));
    let now = Utc::now();
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    site.incident(
        "m.md",
        &format!("---\ntitle: Upgrade\nkind: maintenance\ncomponents: [web]\nstarts_at: {}\nends_at: {}\n---\n", fmt(now - Duration::hours(1)), fmt(now + Duration::hours(1))),
    );
    for _ in 0..2 {
        assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    }
    let status = site.status_json();
    assert_eq!(
        status["components"][0]["state"], "degraded",
        "under maintenance is published as degraded"
    );
    assert!(
        status["components"][0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("Under scheduled maintenance.")
    );
    let mut h = History::open_read_only(
        Box::new(LocalStore::new(site.path().join(".upstate/history"))),
        retention(),
    );
    let day = h.day_rollup("web", now.date_naive()).unwrap();
    assert!(
        day.seconds.major_outage > 0.0,
        "history holds what the probe measured: {:?}",
        day.seconds
    );
    let page = site.read_public("components/web.html");
    assert_eq!(
        day_cell(&page),
        "no data",
        "the failing probe inside the window is not an outage, and maintenance is not in the denominator: {page}"
    );
}

#[test]
fn build_after_a_window_ends_shows_the_probe_not_the_window() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/fail\"\n"
    ));
    let now = Utc::now();
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    site.incident(
        "m.md",
        &format!("---\ntitle: Upgrade\nkind: maintenance\ncomponents: [web]\nstarts_at: {}\nends_at: {}\n---\n", fmt(now - Duration::hours(1)), fmt(now + Duration::seconds(3))),
    );
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    assert_eq!(
        site.status_json()["components"][0]["state"],
        "degraded",
        "inside the window"
    );
    // The clock moved past the window's end (`UPSTATE_NOW`), rather than a sleep.
    let later = fmt(now + Duration::seconds(10));
    let out = upstate()
        .args(["build", "--config"])
        .arg(site.config())
        .env("UPSTATE_NOW", &later)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let built: serde_json::Value = serde_json::from_slice(
        &std::fs::read(site.path().join(".upstate/site/status.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        built["components"][0]["state"], "down",
        "the window is over: {built:#}"
    );
}

/// Two runs raced on a shared store and the earlier one is re-applied after the later one (the
/// git store's retry): its observation is counted and kept, the later run's facts stay current,
/// no time is credited backwards, and a failure streak both runs saw counts both.
#[test]
fn an_earlier_run_applied_after_a_later_one_is_counted_without_rewinding() {
    let dir = tempfile::tempdir().unwrap();
    let streak = |n| {
        BTreeMap::from([(
            "api".to_owned(),
            Memory {
                consecutive_failures: n,
                ..Memory::default()
            },
        )])
    };
    let (early, late) = (t("2026-11-20T10:00:00Z"), t("2026-11-20T10:00:01Z"));
    let mut h = History::open(Box::new(LocalStore::new(dir.path())), retention()).unwrap();
    h.record(
        late,
        &[obs(late, ComponentState::MajorOutage, 0)],
        &streak(1),
    )
    .unwrap();
    // The earlier run, decided on top of the later one's memory: its streak advanced to 2.
    h.record(
        early,
        &[obs(early, ComponentState::MajorOutage, 0)],
        &streak(2),
    )
    .unwrap();
    drop(h);
    let mut h = History::open_read_only(Box::new(LocalStore::new(dir.path())), retention());
    let memory = h.memory("api");
    assert_eq!(memory.last_at, Some(late), "the later run stays current");
    assert_eq!(memory.rules.consecutive_failures, 2, "both failures count");
    assert!(memory.timeline.is_empty(), "{:?}", memory.timeline);
    let day = h.day_rollup("api", early.date_naive()).unwrap();
    assert_eq!((day.checks, day.failures), (2, 2));
    assert_eq!(day.seconds.major_outage, 0.0, "no time credited backwards");
    assert_eq!(
        std::fs::read_dir(dir.path().join("raw/2026-11-20"))
            .unwrap()
            .count(),
        2
    );

    // An earlier success after a later failure does not reset the later run's streak.
    let mut h = History::open(Box::new(LocalStore::new(dir.path())), retention()).unwrap();
    h.record(
        early,
        &[obs(early, ComponentState::Operational, 5)],
        &streak(0),
    )
    .unwrap();
    assert_eq!(h.memory("api").rules.consecutive_failures, 2);
    assert_eq!(h.memory("api").last_at, Some(late));
}

/// The 24-hour cell of a component page's uptime table, e.g. `50.00%` or `no data`.
fn day_cell(page: &str) -> String {
    let cell = "<td><span class=\"nw\">";
    let at = page.find(cell).expect("an uptime table") + cell.len();
    page[at..].split("</span>").next().unwrap().to_owned()
}

/// The 24-hour figure of a component page, as a number.
fn day_figure(page: &str) -> f64 {
    let figure = day_cell(page);
    figure
        .trim_end_matches('%')
        .parse()
        .unwrap_or_else(|_| panic!("{figure}"))
}

/// Issue 16: a declared incident is applied when figures are computed and never recorded as
/// downtime, so deleting (or correcting) the file corrects every figure, and the component page
/// shows the probes' own figure apart.
#[test]
fn r16_declared_incidents_are_applied_when_figures_are_computed_never_recorded() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[site]\nuptime_min_coverage = \"0%\"\n\n[[component]]\nid = \"db\"\nlabel = \"Database\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    let now = Utc::now();
    let fmt = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let file = site.incident(
        "2026-11-24-db.md",
        &format!("---\ntitle: Database down\nseverity: critical\nstatus: investigating\ncomponents: [db]\nimpact: major_outage\ndiscovered_at: {}\n---\n", fmt(now - Duration::hours(1))),
    );
    for _ in 0..2 {
        let out = site.cmd(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let mut h = History::open_read_only(
        Box::new(LocalStore::new(site.path().join(".upstate/history"))),
        retention(),
    );
    let day = h.day_rollup("db", Utc::now().date_naive()).unwrap();
    assert!(day.seconds.operational > 0.0, "{day:?}");
    assert_eq!(
        day.seconds.major_outage, 0.0,
        "history holds what the probe measured: {day:?}"
    );
    assert_eq!(
        day_figure(&site.read_public("components/db.html")),
        0.0,
        "readers were shown the declared outage"
    );
    let page = site.read_public("components/db.html");
    assert!(
        page.contains("Measured by the probes alone, before declared incidents and maintenance are applied: 24 h 100"),
        "{page}"
    );

    std::fs::remove_file(file).unwrap();
    let out = site.cmd(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let page =
        std::fs::read_to_string(site.path().join(".upstate/site/components/db.html")).unwrap();
    assert_eq!(
        day_figure(&page),
        100.0,
        "the deleted incident is gone from the figures"
    );
    assert!(!page.contains("Measured by the probes alone"), "{page}");
}

/// Issue 16: `history repair` rebuilds a damaged daily rollup from the raw observations kept of
/// its day (the time across midnight included) instead of restarting the day, and `history
/// check` ignores the damaged copy it set aside.
#[test]
fn r16_repair_rebuilds_a_damaged_rollup_from_raw_observations() {
    use ComponentState::{MajorOutage, Operational};
    let dir = tempfile::tempdir().unwrap();
    record(dir.path(), t("2026-11-23T23:55:00Z"), Operational, 10);
    record(dir.path(), t("2026-11-24T00:05:00Z"), MajorOutage, 0);
    record(dir.path(), t("2026-11-24T00:10:00Z"), Operational, 12);
    record(dir.path(), t("2026-11-24T00:20:00Z"), Operational, 14);
    let day = t("2026-11-24T00:00:00Z").date_naive();
    let read_only = || History::open_read_only(Box::new(LocalStore::new(dir.path())), retention());
    let original = read_only().day_rollup("api", day).unwrap();
    assert_eq!(original.checks, 3);
    assert!(original.seconds.major_outage > 0.0, "{original:?}");

    let daily = dir.path().join("daily/2026-11-24.json");
    let bytes = std::fs::read(&daily).unwrap();
    std::fs::write(&daily, &bytes[..bytes.len() / 2]).unwrap();
    assert_eq!(read_only().check_all().unwrap().len(), 1);

    let mut h = History::open(Box::new(LocalStore::new(dir.path())), retention()).unwrap();
    let repaired = h.repair().unwrap();
    drop(h);
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    assert_eq!(repaired[0].key, "daily/2026-11-24.json");
    assert_eq!(repaired[0].rebuilt_from, Some(3), "three raw runs that day");
    assert_eq!(
        std::fs::read(dir.path().join(&repaired[0].aside)).unwrap(),
        &bytes[..bytes.len() / 2],
        "the damaged copy is kept"
    );
    let mut h = read_only();
    assert_eq!(
        h.day_rollup("api", day).unwrap(),
        original,
        "the day is counted again, not restarted"
    );
    let bad = h.check_all().unwrap();
    assert!(
        bad.is_empty(),
        "what repair set aside is not history: {bad:?}"
    );
}
