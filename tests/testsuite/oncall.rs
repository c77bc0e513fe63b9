//! On-call from objectives: multi-window burn-rate alerts driven by a synthetic history through
//! the real model and notify path to local receivers (a PagerDuty stand-in for pages, a Slack
//! stand-in for tickets), minute by minute; no clock is faked, every run has its own `now`.

use crate::common;

use std::collections::BTreeMap;

use crate::common::history_fixtures::{obs, retention, t};
use crate::common::receiver::{Receiver, Request};
use chrono::{DateTime, Duration, Utc};
use upstate::config::Config;
use upstate::history::{History, LocalStore};
use upstate::model::{self, Counters, CurrentStatus};
use upstate::state::ComponentState;

/// A site whose `Availability` objective pages `oncall` (PagerDuty) and files tickets in
/// `team` (Slack), and a third, unnamed PagerDuty target that must never hear of it.
fn config(dir: &std::path::Path, pd: &Receiver, chat: &Receiver, other: &Receiver) -> Config {
    let text = format!(
        "[site]\nbase_url = \"https://status.test\"\n\n\
         [[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\npage = [\"other\"]\n\n\
         [[objective]]\nname = \"Availability\"\ncomponents = [\"api\"]\ntarget = \"99.9%\"\nwindow = \"30d\"\n\
         burn_alerts = true\npage = [\"oncall\"]\nticket = [\"team\"]\n\n\
         [[notify]]\nname = \"oncall\"\nkind = \"pagerduty\"\nrouting_key = \"burn-key-0001\"\nurl = \"{}\"\n\n\
         [[notify]]\nname = \"team\"\nkind = \"slack\"\nurl = \"{}\"\n\n\
         [[notify]]\nname = \"other\"\nkind = \"pagerduty\"\nrouting_key = \"other-key-0001\"\nurl = \"{}\"\n",
        pd.url("/v2/enqueue"),
        chat.url("/hook"),
        other.url("/v2/enqueue"),
    );
    let path = dir.join("upstate.toml");
    std::fs::write(&path, &text).unwrap();
    Config::parse(&text, &path).unwrap_or_else(|e| panic!("{e}"))
}

/// One scheduled run at `at`: records `api` in `state`, builds the model, sends what is due,
/// and keeps what was sent in the history store, as `upstate run` does.
fn run_at(config: &Config, history: &mut History, at: DateTime<Utc>, state: ComponentState) {
    let raw = obs(at, state, 40);
    let rules = BTreeMap::from([("api".to_owned(), Default::default())]);
    history.record(at, &[raw], &rules).unwrap();
    let current = BTreeMap::from([(
        "api".to_owned(),
        CurrentStatus {
            state,
            detail: String::new(),
            latency_ms: None,
            last_checked_at: Some(at),
        },
    )]);
    let snapshot = model::build(
        model::Inputs {
            config,
            current,
            incidents: &[],
            counters: Counters::default(),
            now: at,
            stale_now: false,
        },
        history,
    );
    let probed = BTreeMap::from([("api".to_owned(), state)]);
    let mut memory = history.notify_memory();
    let plan = upstate::notify::plan(&snapshot, &probed, &mut memory);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_, problems) = runtime.block_on(upstate::notify::deliver(config, &plan, &mut memory));
    assert!(problems.is_empty(), "{problems:?}");
    history.save_notify_memory(memory).unwrap();
}

/// Runs every `step` from `from` (inclusive) for `count` runs in `state`; returns the next time.
fn runs(
    config: &Config,
    history: &mut History,
    from: DateTime<Utc>,
    step: Duration,
    count: i32,
    state: ComponentState,
) -> DateTime<Utc> {
    let mut at = from;
    for _ in 0..count {
        run_at(config, history, at, state);
        at += step;
    }
    at
}

/// PagerDuty events for the rule `1h/5m` or `6h/30m` (by `dedup_key`).
fn for_rule<'a>(seen: &'a [Request], rule: &str) -> Vec<&'a Request> {
    let key = format!("availability-{}-", rule.replace('/', "-"));
    seen.iter()
        .filter(|r| r.json()["dedup_key"].as_str().unwrap().contains(&key))
        .collect()
}

#[test]
fn burn_rate_alerts_page_once_per_burn_and_resolve_when_it_stops() {
    let dir = tempfile::tempdir().unwrap();
    let (pd, chat, other) = (
        Receiver::start(r#"{"status":"success"}"#),
        Receiver::start("ok"),
        Receiver::start(r#"{"status":"success"}"#),
    );
    let config = config(dir.path(), &pd, &chat, &other);
    let mut history = History::open(
        Box::new(LocalStore::new(dir.path().join("history"))),
        retention(),
    )
    .unwrap();
    let minute = Duration::minutes(1);
    use ComponentState::{MajorOutage, Operational};

    // Two quiet hours: nothing burns.
    let quiet = Duration::minutes(5);
    let mut at = runs(
        &config,
        &mut history,
        t("2026-11-20T00:00:00Z"),
        quiet,
        24,
        Operational,
    );
    assert!(pd.seen().is_empty() && chat.seen().is_empty());

    // A hard outage for 20 minutes: the fast burns page, the slow one files a ticket, each once.
    at = runs(&config, &mut history, at, minute, 20, MajorOutage);
    let seen = pd.seen();
    for rule in ["1h/5m", "6h/30m"] {
        let events = for_rule(&seen, rule);
        assert_eq!(events.len(), 1, "{rule}: {seen:#?}");
        let body = events[0].json();
        assert_eq!(body["event_action"], "trigger");
        assert_eq!(body["routing_key"], "burn-key-0001");
        assert_eq!(body["payload"]["severity"], "critical");
        assert_eq!(
            body["payload"]["component"],
            format!("objective:availability:{rule}")
        );
        let summary = body["payload"]["summary"].as_str().unwrap();
        assert!(
            summary.starts_with("Availability is burning its error budget: "),
            "{summary}"
        );
    }
    assert_eq!(seen.len(), 2, "the ticket rule does not page: {seen:#?}");
    let tickets = chat.seen();
    assert_eq!(tickets.len(), 1, "{tickets:#?}");
    let text = tickets[0].json().to_string();
    assert!(
        text.contains("Availability is burning its error budget: ")
            && text.contains("(alert at 1.0×: 10% of the 30-day budget in 3d)"),
        "{text}"
    );
    // The target the component names gets the component's own page, and no burn alert.
    let component_pages: Vec<String> = other
        .seen()
        .iter()
        .map(|r| r.json()["payload"]["component"].to_string())
        .collect();
    assert_eq!(component_pages, ["\"api\""]);

    // Recovery: the short windows empty first. 1h/5m resolves within minutes, 6h/30m within
    // half an hour; each resolve carries its trigger's dedup_key.
    at = runs(&config, &mut history, at, minute, 10, Operational);
    let seen = pd.seen();
    let fast = for_rule(&seen, "1h/5m");
    assert_eq!(fast.len(), 2, "{seen:#?}");
    assert_eq!(fast[1].json()["event_action"], "resolve");
    assert_eq!(fast[1].json()["dedup_key"], fast[0].json()["dedup_key"]);
    assert_eq!(for_rule(&seen, "6h/30m").len(), 1, "30 minutes still burn");
    at = runs(&config, &mut history, at, minute, 30, Operational);
    let seen = pd.seen();
    let slow = for_rule(&seen, "6h/30m");
    assert_eq!(slow.len(), 2, "{seen:#?}");
    assert_eq!(slow[1].json()["dedup_key"], slow[0].json()["dedup_key"]);
    assert_eq!(
        seen.len(),
        4,
        "no second trigger while recovered: {seen:#?}"
    );

    // The ticket's short window is 6 h: it closes once the outage leaves it.
    assert_eq!(chat.seen().len(), 1);
    runs(
        &config,
        &mut history,
        at,
        Duration::minutes(10),
        6 * 6,
        Operational,
    );
    let tickets = chat.seen();
    assert_eq!(tickets.len(), 2, "{tickets:#?}");
    assert!(
        tickets[1]
            .json()
            .to_string()
            .contains("Availability: error budget burn 3d/6h stopped"),
        "{:?}",
        tickets[1].body
    );
    assert_eq!(pd.seen().len(), 4);
}

/// Burn alerts that could never fire or never reach anyone are config errors naming the file
/// and the objective's line, with the fix.
#[test]
fn burn_alert_mistakes_are_config_errors_with_their_line() {
    let component = "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\n\n";
    let objective = "[[objective]]\nname = \"A\"\ncomponents = [\"api\"]\ntarget = \"99.9%\"\n";
    let pd = "\n[[notify]]\nname = \"oncall\"\nkind = \"pagerduty\"\nrouting_key = \"k\"\n";
    for (extra, notify, message, help) in [
        (
            "burn_alerts = true\npage = [\"oncal\"]\n",
            pd,
            "objective `A` pages `oncal`, but no [[notify]] has that name",
            "did you mean `oncall`?",
        ),
        (
            "burn_alerts = [{ budget = \"2%\", long = \"5m\", short = \"1h\" }]\n",
            pd,
            "objective `A`: burn alert 5m/1h needs a short window shorter than its long one",
            "e.g. long = \"1h\", short = \"5m\"",
        ),
        (
            "burn_alerts = [{ budget = \"2%\", long = \"14d\", short = \"1h\" }]\n",
            pd,
            "objective `A`: burn alert 14d/1h looks back further than 7d",
            "exact 7-day timeline",
        ),
        (
            "burn_alerts = true\n",
            "\n[[notify]]\nkind = \"slack\"\nurl = \"http://127.0.0.1:9/\"\n",
            "objective `A` has burn alerts but no target gets them",
            "name targets with page = [\"oncall\"]",
        ),
        (
            "page = [\"oncall\"]\n",
            pd,
            "objective `A` names targets but has no burn alerts",
            "add `burn_alerts = true`",
        ),
    ] {
        let site = common::TestSite::new(&format!("{component}{objective}{extra}{notify}"));
        let out = site.cmd(&["check"]);
        let shown = common::text(&out);
        assert_eq!(out.status.code(), Some(2), "{shown}");
        let file = site.config().display().to_string();
        assert!(
            shown.contains(&format!("{file}:7:1: error: {message}")),
            "{shown}"
        );
        assert!(shown.contains(help), "{shown}");
    }
}

/// A 30-day objective on a new site: the page says "collecting history: 1 of 30 days", every
/// output publishes the real (tiny) coverage and no actual.
#[test]
fn a_new_objective_collects_history_before_publishing_an_actual() {
    let http = common::http_server();
    let site = common::TestSite::new(&format!(
        "[[objective]]\nname = \"Availability\"\ncomponents = [\"api\"]\ntarget = \"99.5%\"\nwindow = \"30d\"\n\n\
         [[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    for _ in 0..2 {
        let out = site.cmd(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", common::text(&out));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let page = site.read_public("index.html");
    assert!(page.contains("collecting history: 1 of 30 days"), "{page}");
    // Nothing pages on this site: "How we run the service" does not claim otherwise.
    let how = site.read_public("objectives.html");
    assert!(
        how.contains("<td>API</td><td>—</td><td>Not paged: shown on this page only (down when: Probe fails)</td>"),
        "{how}"
    );
    let status = site.status_json();
    let api: serde_json::Value =
        serde_json::from_str(&site.read_public("api/v2/objectives.json")).unwrap();
    for o in [&status["objectives"][0], &api["objectives"][0]] {
        assert!(o["actual"].is_null() && o["met"].is_null(), "{o}");
        let coverage = o["coverage"].as_f64().unwrap();
        assert!(coverage > 0.0 && coverage < 0.01, "{o}");
        assert_eq!(o["days_observed"], 1, "{o}");
    }
}
