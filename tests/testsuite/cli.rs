//! The binary end to end: init → check → run, a run over real servers (healthy, failing,
//! hanging, refusing, wrong password), `status.json` against the contract schema, secrets.

use crate::common;

use crate::common::services::{password_postgres, postgres_url, redis_url};
use crate::common::{
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
    // The front page words failures short; the component page keeps the probe's own text.
    assert!(
        html.contains("<small class=\"det\">Timed out.</small>"),
        "{html}"
    );
    assert!(
        html.contains("<small class=\"det\">Connection refused.</small>"),
        "{html}"
    );
    assert!(!html.contains("os error"), "{html}");
    assert!(
        site.read_public("components/hang.html")
            .contains("Timed out after 500ms.")
    );
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
    // --strict: an unset variable is an error, as it is for `run`.
    let out = site.cmd(&["check", "--strict"]);
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
            "{file}:19:8: error: environment variable `UPSTATE_TEST_SURELY_UNSET` is not set"
        )),
        "{t}"
    );
    assert!(t.contains("help: export UPSTATE_TEST_SURELY_UNSET="), "{t}");
    assert!(t.contains("3 problems in"), "{t}");
    // Without --strict the same variable is a note: the two real mistakes still fail the check.
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(
        t.contains(&format!(
            "{file}:19:8: note: environment variable `UPSTATE_TEST_SURELY_UNSET` is not set here"
        )),
        "{t}"
    );
    assert!(t.contains("2 problems in"), "{t}");
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
            .starts_with("web        operational (operational)"),
        "{t}"
    );
    assert!(!site.path().join("public").exists() && !site.path().join(".upstate").exists());
}

#[test]
fn a_fresh_build_shows_no_data_never_a_state() {
    let site = TestSite::new(
        "[site]\nbase_url = \"https://t.test\"\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n[[component]]\nid = \"db\"\nlabel = \"DB\"\nkind = \"tcp\"\naddress = \"127.0.0.1:2\"\n",
    );
    let out = site.cmd(&["build"]);
    assert!(out.status.success(), "{}", text(&out));
    let dir = site.path().join(".upstate/site");
    let status: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("status.json")).unwrap()).unwrap();
    assert_status_schema(&status);
    for c in status["components"].as_array().unwrap() {
        assert_eq!(c["observed"], false, "{c}");
        assert_eq!(c["detail"], "No data. Not observed yet.", "{c}");
    }
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    assert_eq!(
        index.matches("<span class=\"st\">No data</span>").count(),
        2,
        "{index}"
    );
    assert!(
        index.contains("Some components have no data yet"),
        "{index}"
    );
    let page = std::fs::read_to_string(dir.join("components/web.html")).unwrap();
    assert!(
        page.contains("<b class=\"sy n\">No data</b><span>Not observed yet.</span>"),
        "{page}"
    );
    let badge = std::fs::read_to_string(dir.join("badges/web.svg")).unwrap();
    assert!(badge.contains(">No data<"), "{badge}");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("api/v2/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["components"][0]["status"], "degraded_performance");
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

/// A site whose secrets live in `${VAR}`s, as a pull request from a fork sees it: none set.
const SECRETS_ONLY_AT_RUN_TIME: &str = r#"
[site]
title = "Forked"

[history]
store = "${UPSTATE_CHECK_TEST_STORE:-.upstate/history}"

[[component]]
id = "db"
label = "Database"
kind = "postgres"
dsn = "${UPSTATE_CHECK_TEST_DSN}"

[[component]]
id = "api"
label = "API"
kind = "http"
url = "https://api.example.com/health?token=${UPSTATE_CHECK_TEST_TOKEN}"
"#;

#[test]
fn check_judges_a_config_without_its_secrets_and_strict_refuses() {
    let site = TestSite::new(SECRETS_ONLY_AT_RUN_TIME);
    let lenient = site.cmd(&["check"]);
    assert_eq!(lenient.status.code(), Some(0), "{}", text(&lenient));
    let out = text(&lenient);
    assert!(out.contains("OK (2 components, 0 incident files)"), "{out}");
    for (line, name) in [
        (12, "UPSTATE_CHECK_TEST_DSN"),
        (18, "UPSTATE_CHECK_TEST_TOKEN"),
    ] {
        assert!(
            out.contains(&format!(":{line}:"))
                && out.contains(&format!(
                    "note: environment variable `{name}` is not set here"
                )),
            "{name} on line {line}: {out}"
        );
    }
    assert!(
        !out.contains("UPSTATE_CHECK_TEST_STORE"),
        "a variable with a default is not a note: {out}"
    );

    let strict = site.cmd(&["check", "--strict"]);
    assert_eq!(strict.status.code(), Some(2), "{}", text(&strict));
    assert!(text(&strict).contains("error: environment variable `UPSTATE_CHECK_TEST_DSN`"));

    // `run` still refuses to start without them, before probing anything.
    let run = site.cmd(&["run"]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("`UPSTATE_CHECK_TEST_DSN` is not set"));
    assert!(!site.public("index.html").exists());
}

#[test]
fn check_still_finds_real_mistakes_beside_unset_variables() {
    let site = TestSite::new(&format!(
        "{SECRETS_ONLY_AT_RUN_TIME}\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\nfail_aftr = 2\n"
    ));
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("fail_aftr"), "{}", text(&out));
}

#[test]
fn check_prints_github_annotations_on_the_file_and_line() {
    let site = TestSite::new(SECRETS_ONLY_AT_RUN_TIME);
    site.incident(
        "2026-11-02-broken.md",
        "---\ntitle: Broken\nseverity: crit\nstatus: investigating\ncomponents: [db]\ndiscovered_at: 2026-11-02T10:00:00Z\n---\nBody.\n",
    );
    let out = site.cmd(&["check", "--format", "github"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let error = stdout
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_else(|| panic!("no ::error line: {stdout}"));
    assert!(
        error.contains("2026-11-02-broken.md,line=3,")
            && error.contains("title=upstate check%3A severity::"),
        "{error}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("::notice ") && l.contains("upstate.toml,line=12,col=8,")),
        "{stdout}"
    );
    // One annotation per line: no message may carry a raw newline that would end the command.
    assert!(stdout.lines().all(|l| l.starts_with("::")), "{stdout}");

    let json = site.cmd(&["check", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["ok"], false);
    let findings = doc["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["severity"] == "error" && f["field"] == "severity" && f["line"] == 3)
    );
    assert_eq!(
        findings.iter().filter(|f| f["severity"] == "note").count(),
        2
    );
}

#[test]
fn status_json_says_when_readers_should_stop_trusting_it() {
    let addr = http_server();
    let site = TestSite::new(&format!(
        "[run]\ninterval = \"10m\"\n\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{addr}/ok\"\n"
    ));
    let run = site.cmd(&["run"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let status = site.status_json();
    assert_status_schema(&status);
    let at =
        |key: &str| chrono::DateTime::parse_from_rfc3339(status[key].as_str().unwrap()).unwrap();
    // Counted from the observation (a moment before the build), so at most 30 minutes.
    let margin = at("stale_after") - at("generated_at");
    assert!(
        margin <= chrono::Duration::minutes(30)
            && margin >= chrono::Duration::minutes(30) - chrono::Duration::seconds(6),
        "{margin}"
    );
    let index = site.read_public("index.html");
    assert!(
        index.contains(&format!(
            "data-stale-after=\"{}\"",
            status["stale_after"].as_str().unwrap()
        )),
        "the page carries the same instant for its poller"
    );

    let site = TestSite::new(&format!(
        "[run]\ninterval = \"10m\"\nstale_after = \"1h\"\n\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{addr}/ok\"\n"
    ));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let status = site.status_json();
    let at =
        |key: &str| chrono::DateTime::parse_from_rfc3339(status[key].as_str().unwrap()).unwrap();
    let margin = at("stale_after") - at("generated_at");
    assert!(
        margin <= chrono::Duration::hours(1)
            && margin >= chrono::Duration::hours(1) - chrono::Duration::seconds(6),
        "{margin}"
    );
}

/// A receiver that records each request line and answers `status`.
fn recording_server(
    status: &'static str,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let mut req = Vec::new();
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&req);
            log.lock()
                .unwrap()
                .push(head.lines().next().unwrap_or_default().to_owned());
            let _ = stream.write_all(
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .as_bytes(),
            );
        }
    });
    (addr, seen)
}

#[test]
fn heartbeat_is_requested_after_each_publish_and_its_url_never_printed() {
    let addr = http_server();
    let (beat, seen) = recording_server("200 OK");
    let key = "hb-key-5f1e2d9c";
    let site = TestSite::new(&format!(
        "[run]\nheartbeat_url = \"http://{beat}/ping/{key}\"\n\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{addr}/ok\"\n"
    ));
    for _ in 0..2 {
        let run = site.cmd(&["run"]);
        assert_eq!(run.status.code(), Some(0), "{}", text(&run));
        assert!(!text(&run).contains(key));
    }
    assert_eq!(
        *seen.lock().unwrap(),
        vec![format!("GET /ping/{key} HTTP/1.1"); 2],
        "one GET per published run"
    );

    // A monitor that fails is a warning (the page was published); the URL's key stays hidden.
    let (failing, _) = recording_server("500 Internal Server Error");
    let site = TestSite::new(&format!(
        "[run]\nheartbeat_url = \"http://{failing}/ping/{key}\"\n\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{addr}/ok\"\n"
    ));
    let run = site.cmd(&["run"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert!(text(&run).contains("warning: heartbeat"), "{}", text(&run));
    assert!(!text(&run).contains(key), "{}", text(&run));
    for (path, body) in site.all_public_files() {
        assert!(!body.contains(key), "{path}");
    }
}

#[test]
fn init_writes_what_ci_cron_needs() {
    let dir = tempfile::tempdir().unwrap();
    let out = upstate().arg("init").arg(dir.path()).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let ignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l == "public/") && ignore.lines().any(|l| l == ".upstate/"));
    let workflow =
        std::fs::read_to_string(dir.path().join(".github/workflows/upstate.yml")).unwrap();
    for needed in [
        "upstate check --format github",
        "upstate run",
        "#upstate-history",
        "#gh-pages",
        "contents: write",
    ] {
        assert!(workflow.contains(needed), "{needed}");
    }
    assert!(
        !workflow.contains("cargo install"),
        "no compile step in a scheduled job"
    );
    assert!(dir.path().join(".gitlab-ci.yml").is_file());
    // The starter needs no variable to be checked or built here: every one has a default.
    let check = upstate()
        .args(["check", "--strict", "--config"])
        .arg(dir.path().join("upstate.toml"))
        .env_remove("UPSTATE_HISTORY")
        .env_remove("UPSTATE_TARGET")
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
}

/// `[[objective]]`: the actual is published only once its window is covered; until then readers
/// see "collecting history" with the real coverage, in the page and in status.json.
#[test]
fn objectives_publish_actuals_only_once_covered() {
    let addr = http_server();
    let config = |min: &str| {
        format!(
            "[[objective]]\nname = \"Availability\"\ncomponents = [\"api\"]\ntarget = \"99.5%\"\nwindow = \"1d\"\nlatency = \"p95 < 5s\"\nmin_coverage = \"{min}\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{addr}/ok\"\n"
        )
    };
    let site = TestSite::new(&config("90%"));
    for _ in 0..2 {
        let out = site.cmd(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let status = site.status_json();
    assert_status_schema(&status);
    let o = &status["objectives"][0];
    assert_eq!(o["name"], "Availability");
    assert_eq!(o["target"], 0.995);
    assert_eq!(o["window"], "1d");
    assert!(o["actual"].is_null() && o["budget_left"].is_null(), "{o}");
    let coverage = o["coverage"].as_f64().unwrap();
    assert!(
        coverage > 0.0 && coverage < 0.9,
        "real, small coverage: {coverage}"
    );
    assert!(
        site.read_public("index.html")
            .contains("collecting history: 1 of 1 days"),
        "the page says why there is no actual"
    );
    // The Statuspage-style API carries the same objectives (additive): in the summary and alone.
    let api = |file: &str| -> serde_json::Value {
        serde_json::from_str(&site.read_public(&format!("api/v2/{file}"))).unwrap()
    };
    for doc in [api("summary.json"), api("objectives.json")] {
        let o = &doc["objectives"][0];
        assert_eq!(
            (&o["name"], &o["window"]),
            (
                &status["objectives"][0]["name"],
                &status["objectives"][0]["window"]
            )
        );
        assert!(o["actual"].is_null() && o["budget_left"].is_null(), "{o}");
        assert_eq!(o["coverage"], status["objectives"][0]["coverage"], "{o}");
    }

    // The same history (and one more run) with no minimum: actual, budget and latency published.
    std::fs::write(site.config(), config("0%")).unwrap();
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let o = &site.status_json()["objectives"][0];
    assert_eq!(o["actual"], 1.0, "{o}");
    assert_eq!(o["budget_left"], 1.0, "{o}");
    assert_eq!(o["met"], true, "{o}");
    assert!(o["latency"]["actual_ms"].as_f64().is_some(), "{o}");
    let api: serde_json::Value =
        serde_json::from_str(&site.read_public("api/v2/objectives.json")).unwrap();
    assert_eq!(api["objectives"][0]["actual"], 1.0, "{api}");
    assert_eq!(api["objectives"][0]["budget_left"], 1.0, "{api}");
}

#[test]
fn objectives_name_known_components_and_valid_figures() {
    let site = TestSite::new(
        "[[objective]]\nname = \"A\"\ncomponents = [\"apii\"]\ntarget = \"99.5\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("invalid percentage `99.5`"), "{t}");
    assert!(t.contains("e.g. \"50%\""), "{t}");
    let site = TestSite::new(
        "[[objective]]\nname = \"A\"\ncomponents = [\"apii\"]\ntarget = \"99.5%\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    let t = text(&site.cmd(&["check"]));
    let file = site.config().display().to_string();
    assert!(
        t.contains(&format!(
            "{file}:1:1: error: objective `A` names unknown component `apii`"
        )),
        "{t}"
    );
    assert!(t.contains("did you mean `api`?"), "{t}");
}

/// An escape sequence in a file name is shown, never obeyed: a pull request cannot erase the
/// error line and print a fake "OK" in `check`'s output or its GitHub annotations.
#[test]
fn file_names_cannot_forge_check_output() {
    let site = TestSite::new(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    site.incident(
        "2026-11-27-a\u{1b}[2K\r\u{1b}[1Aupstate.toml: OK.md",
        "---\ntitle: A\nseverity: huge\n---\n",
    );
    for args in [&["check"][..], &["check", "--format", "github"][..]] {
        let out = site.cmd(args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let all = [out.stdout.as_slice(), out.stderr.as_slice()].concat();
        assert!(
            !all.contains(&0x1b),
            "a raw escape reached the output: {}",
            text(&out)
        );
        assert!(text(&out).contains("\\u{1b}[2K"), "{}", text(&out));
    }
}

/// Issue 16: each config error is printed once (`file:line:col: error: message`, then the
/// snippet, not the message again); the snippet underlines the right character after
/// multi-byte ones; a bad `url` is underlined on the `url` line.
#[test]
fn r16_config_errors_print_once_and_point_at_the_right_place() {
    let site = TestSite::new(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://x.test\"\nheaders = { \"Ääää\" = \"öööö\", \"B\" = 5 }\n\n[[component]]\nid = \"cache\"\nlabel = \"Cache\"\nkind = \"redis\"\nurl = \"http://cache.internal:6379\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    let file = site.config().display().to_string();
    let header = format!("{file}:6:36: error: invalid type: integer `5`, expected a string");
    assert!(t.contains(&header), "{t}");
    assert_eq!(
        t.matches("invalid type: integer `5`").count(),
        1,
        "printed once:\n{t}"
    );
    assert_eq!(
        t.matches("`url` must start with redis://").count(),
        1,
        "{t}"
    );
    // The underline's column (in characters) is the column of `5` on the printed line.
    let underline_under = |code: &str, what: char| {
        let lines: Vec<&str> = t.lines().collect();
        let at = lines
            .iter()
            .position(|l| l.contains(code))
            .unwrap_or_else(|| panic!("no {code:?} in:\n{t}"));
        let source = lines[at];
        let marks = lines[at + 1];
        let want = source.chars().position(|c| c == what).unwrap();
        let got = marks.chars().position(|c| c == '┬' || c == '^').unwrap();
        assert_eq!(got, want, "underline of {code:?}:\n{source}\n{marks}");
    };
    underline_under("│ headers = {", '5');
    // The redis URL error underlines the `url` value, the line after `kind`.
    underline_under("│ url = \"http://cache", '"');
}

/// A config file that cannot be read names the file, not `file:0:0`.
#[test]
fn r16_a_missing_config_file_has_no_line_zero() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    for args in [&["check"][..], &["build"]] {
        let out = common::upstate()
            .args(args)
            .arg("--config")
            .arg(&missing)
            .output()
            .unwrap();
        let t = text(&out);
        assert!(!out.status.success(), "{t}");
        assert!(
            t.contains(&format!(
                "{}: error: cannot read the config file",
                missing.display()
            )),
            "{t}"
        );
        assert!(!t.contains(":0:0"), "{t}");
    }
}

/// An incident file's YAML error reads `file:line: error: message`, once, with the line in
/// the file.
#[test]
fn r16_yaml_errors_read_once_with_the_file_line() {
    let site = TestSite::new(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    site.incident(
        "a.md",
        "---\ntitle: T\nseverity: major\nstatus: investigating\ndiscovered_at: 2026-11-02T14:05:00Z\ncomponents: [api\n---\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(t.contains("a.md:6: error: "), "{t}");
    assert!(!t.contains("error: error"), "{t}");
    assert!(!t.contains("line 5 column"), "{t}");
}

/// Issue 16: `publish` and `run` print their publish in one format, and a probe that times out
/// is the component's state in the summary, not also a warning logged on every run.
#[test]
fn r16_publish_and_run_print_one_summary_and_no_warning_for_a_timeout() {
    let http = http_server();
    let silent = silent_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n\n[[component]]\nid = \"hang\"\nlabel = \"Hanging\"\nkind = \"http\"\nurl = \"http://{silent}/\"\ntimeout = \"300ms\"\n"
    ));
    let run = site.cmd(&["run"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!stderr.contains("timed out"), "{stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        stdout.contains("1 operational, 0 degraded, 1 down"),
        "{stdout}"
    );
    let published = |stdout: &str| -> (String, usize, usize, usize) {
        let line = stdout
            .lines()
            .find(|l| l.starts_with("Published "))
            .unwrap_or_else(|| panic!("no summary in {stdout}"));
        let (head, counts) = line.split_once(": ").unwrap();
        let n: Vec<usize> = counts
            .split(", ")
            .map(|c| c.split(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            counts.ends_with(" unchanged.") && counts.contains(" written, "),
            "{line}"
        );
        (head.to_owned(), n[0], n[1], n[2])
    };
    let (head, written, _, _) = published(&stdout);
    assert!(written > 0, "{stdout}");

    let again = site.cmd(&["publish"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let (head2, written2, deleted2, unchanged2) =
        published(&String::from_utf8_lossy(&again.stdout));
    assert_eq!(head2, head, "same files, same target, same words");
    assert_eq!((written2, deleted2), (0, 0));
    assert!(
        head.starts_with(&format!("Published {unchanged2} files to ")),
        "{head}"
    );
}
