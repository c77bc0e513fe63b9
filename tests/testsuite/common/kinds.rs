//! Helpers for the probe-kind suites: a one-component config parsed and probed once, like a run.

use std::time::Duration;

use upstate::config::Config;
use upstate::probe::{Health, Outcome, runner::check_once};

/// Parses a one-component config and runs its probe once under its deadline, like a run does.
pub async fn probe(kind_keys: &str) -> Outcome {
    let text = format!("[[component]]\nid = \"c\"\nlabel = \"C\"\n{kind_keys}\n");
    let config =
        Config::parse(&text, std::path::Path::new("test.toml")).unwrap_or_else(|e| panic!("{e}"));
    let component = &config.components[0];
    // A hang guard only (generous); the deadline itself is enforced by check_once.
    tokio::time::timeout(
        component.timeout.std() * 4 + Duration::from_secs(5),
        check_once(component),
    )
    .await
    .expect("the runner must enforce the deadline")
}

/// The config error text for a one-component config that must not parse.
pub fn config_error(kind_keys: &str) -> String {
    let text = format!("[[component]]\nid = \"c\"\nlabel = \"C\"\n{kind_keys}\n");
    match Config::parse(&text, std::path::Path::new("test.toml")) {
        Ok(_) => panic!("accepted: {kind_keys}"),
        Err(e) => e.to_string(),
    }
}

/// A socket that accepts and never answers must cost the deadline and say "Timed out".
pub async fn assert_times_out(kind_keys: &str) {
    let started = std::time::Instant::now();
    let o = probe(&format!("{kind_keys}\ntimeout = \"400ms\"")).await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Timed out after 400ms."),
        "{kind_keys}"
    );
    // Not a timing assertion: only that the guard in `probe` was not what ended it.
    assert!(started.elapsed() < Duration::from_secs(5));
}
