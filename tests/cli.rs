//! The binary end to end: init → check → run, a run over real servers (healthy, failing,
//! hanging, refusing, wrong password), `status.json` against the contract schema, secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::services::{password_postgres, postgres_url, redis_url};
use common::{
    TestSite, assert_status_schema, closed_port, http_server, silent_server, text, upstate,
};

#[test]
fn init_scaffolds_a_site_that_check_accepts_and_run_builds() {
    let dir = tempfile::tempdir().unwrap();
    let out = upstate().arg("init").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    for f in [
        "upstate.toml",
        "incidents/2026-01-15-website-slow.md",
        "content/about.md",
        ".github/workflows/upstate.yml",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    let config = dir.path().join("upstate.toml");
    let check = upstate()
        .arg("check")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("OK (1 component, 1 incident file)"),
        "{}",
        text(&check)
    );
    // Point the starter's probe at a local server so the test needs no network.
    let addr = http_server();
    let toml = std::fs::read_to_string(&config)
        .unwrap()
        .replace("https://example.com/", &format!("http://{addr}/ok"));
    std::fs::write(&config, toml).unwrap();
    let run = upstate()
        .arg("run")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("public/status.json")).unwrap())
            .unwrap();
    assert_status_schema(&status);
    assert_eq!(status["overall_state"], "operational");
    assert!(
        dir.path().join("public/about.html").is_file(),
        "content/ pages are rendered"
    );
    // A second init refuses to overwrite.
    let again = upstate().arg("init").arg(dir.path()).output().unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
}

#[test]
fn run_over_real_servers_publishes_an_honest_page() {
    let http = http_server();
    let silent = silent_server();
    let closed = closed_port();
    let (pg_port, _) = password_postgres();
    let wrong_password = "Wr0ngPassw0rd-cli-test";
    let site = TestSite::new(&format!(
        r#"
[site]
title = "Test"
base_url = "https://status.test"

[run]
timeout = "2s"

[[component]]
id = "web"
label = "Web"
kind = "http"
url = "http://{http}/ok"

[[component]]
id = "broken"
label = "Broken"
kind = "http"
url = "http://{http}/fail"

[[component]]
id = "closed"
label = "Closed port"
kind = "tcp"
address = "127.0.0.1:{closed}"

[[component]]
id = "hang"
label = "Hanging"
kind = "http"
url = "http://{silent}/"
timeout = "500ms"

[[component]]
id = "db"
label = "Database"
kind = "postgres"
dsn = "{pg}"

[[component]]
id = "db-auth"
label = "Database (auth)"
kind = "postgres"
dsn = "postgres://app:{wrong_password}@127.0.0.1:{pg_port}/postgres"

[[component]]
id = "cache"
label = "Cache"
kind = "redis"
url = "{redis}"

[[component]]
id = "cache-wrong"
label = "Cache (wrong port)"
kind = "redis"
url = "redis://127.0.0.1:{closed}"
"#,
        pg = postgres_url(),
        redis = redis_url(),
    ));
    let out = site.cmd(&["run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "published whatever the states:\n{}",
        text(&out)
    );
    assert!(!text(&out).contains(wrong_password), "{}", text(&out));
    let status = site.status_json();
    assert_status_schema(&status);
    let state = |id: &str| {
        status["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == id)
            .unwrap()["state"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (id, want) in [
        ("web", "operational"),
        ("broken", "down"),
        ("closed", "down"),
        ("hang", "down"),
        ("db", "operational"),
        ("db-auth", "down"),
        ("cache", "operational"),
        ("cache-wrong", "down"),
    ] {
        assert_eq!(state(id), want, "{id}: {status:#}");
    }
    assert_eq!(status["overall_state"], "down", "any down => down");
    for (path, content) in site.all_public_files() {
        assert!(
            !content.contains(wrong_password),
            "the password leaked into {path}"
        );
    }
    let html = site.read_public("index.html");
    assert!(html.contains("HTTP 500"));
    assert!(html.contains("Timed out after 500ms."));
    // Failures first within the group.
    let first_tile = html.find("data-component=").unwrap();
    assert!(
        !html[first_tile..first_tile + 40].contains("\"web\""),
        "a healthy tile must not lead"
    );
}

#[test]
fn overall_state_rolls_up_to_degraded_without_any_down() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[site]\ntitle = \"T\"\nbase_url = \"https://t.test\"\n\n[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n\n[[component]]\nid = \"b\"\nlabel = \"B\"\nkind = \"http\"\nurl = \"http://{http}/fail\"\nfail_after = 3\n"
    ));
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = site.status_json();
    assert_status_schema(&status);
    assert_eq!(status["overall_state"], "degraded", "{status:#}");
    assert!(
        status["components"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("1 failed check; down after 3")
    );
}

#[test]
fn check_reports_typo_bad_duration_and_missing_env_var_with_lines_and_fixes() {
    let site = TestSite::new(
        "[site]\ntitle = \"x\"\nbase_url = \"https://x.test\"\n\n[run]\ntimout = \"5s\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"https://x.test\"\ntimeout = \"5 mins\"\n\n[[component]]\nid = \"db\"\nlabel = \"DB\"\nkind = \"postgres\"\ndsn = \"${UPSTATE_TEST_SURELY_UNSET}\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    let file = site.config().display().to_string();
    assert!(
        t.contains(&format!("{file}:6:1: error: unknown key `timout` in [run]")),
        "{t}"
    );
    assert!(t.contains("help: did you mean `timeout`?"), "{t}");
    assert!(
        t.contains(&format!("{file}:13:11: error: invalid duration `5 mins`")),
        "{t}"
    );
    assert!(t.contains("e.g. \"30s\""), "{t}");
    assert!(
        t.contains(&format!(
            "{file}:19:7: error: environment variable `UPSTATE_TEST_SURELY_UNSET` is not set"
        )),
        "{t}"
    );
    assert!(t.contains("help: export UPSTATE_TEST_SURELY_UNSET="), "{t}");
    assert!(t.contains("has 3 problems"), "{t}");
}

#[test]
fn probe_prints_a_table_and_writes_nothing() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    let out = site.cmd(&["probe"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.starts_with("COMPONENT"), "{t}");
    assert!(
        t.lines()
            .nth(1)
            .unwrap()
            .starts_with("web        operational"),
        "{t}"
    );
    assert!(!site.path().join("public").exists() && !site.path().join(".upstate").exists());
}

#[test]
fn build_renders_from_history_without_probing() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[site]\nbase_url = \"https://t.test\"\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/fail\"\n"
    ));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let out = site.cmd(&["build"]);
    assert!(out.status.success(), "{}", text(&out));
    let built: serde_json::Value = serde_json::from_slice(
        &std::fs::read(site.path().join(".upstate/site/status.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(built["components"][0]["state"], "down");
    assert_eq!(built["components"][0]["detail"], "HTTP 500");
}

#[test]
fn a_failed_publish_exits_non_zero_with_the_target_and_reason() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[publish]\ntarget = \"blocked/public\"\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    std::fs::write(
        site.path().join("blocked"),
        "a file where a folder should be",
    )
    .unwrap();
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("publishing to") && text(&out).contains("blocked/public"),
        "{}",
        text(&out)
    );
    // History was still recorded: the next run after the fix has the earlier observation.
    let memory = std::fs::read_to_string(site.path().join(".upstate/history/memory.json")).unwrap();
    assert!(memory.contains("\"web\""));
}
