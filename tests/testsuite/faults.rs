//! The fault suite: servers that lie, trickle or talk nonsense; a run killed with SIGKILL at many
//! points; secrets configured everywhere and searched for in every output, log line and error.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use crate::common::{TestSite, closed_port, http_server, text};

/// A server that answers every connection with `reply` once, then keeps it open.
fn liar(reply: &'static [u8]) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 1024];
                // The same lie to every request: a client that sends its setup commands in
                // separate packets gets an answer to each (answering only the first left it
                // waiting for its deadline on a loaded machine, a flaky "timed out").
                while s.read(&mut buf).is_ok_and(|n| n > 0) {
                    if s.write_all(reply).is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// Sends an HTTP head, then one body byte a second.
fn trickler() -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            std::thread::spawn(move || {
                let mut s = s;
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf);
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n");
                for _ in 0..100 {
                    if s.write_all(b"x").is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            });
        }
    });
    addr
}

#[test]
fn lying_and_trickling_servers_are_reported_honestly_within_their_deadlines() {
    let trickle = trickler();
    let redis_errors = liar(b"-ERR this server answers nothing but errors\r\n");
    let garbage = liar(b"\x00\x01 not http at all \xff\r\n\r\n");
    let site = TestSite::new(&format!(
        "[run]\ntimeout = \"1s\"\n\n[[component]]\nid = \"trickle\"\nlabel = \"T\"\nkind = \"http\"\nurl = \"http://{trickle}/\"\nexpect_body = \"ok\"\n\n[[component]]\nid = \"redis-err\"\nlabel = \"R\"\nkind = \"redis\"\nurl = \"redis://{redis_errors}\"\n\n[[component]]\nid = \"garbage\"\nlabel = \"G\"\nkind = \"http\"\nurl = \"http://{garbage}/\"\n\n[[component]]\nid = \"hb-err\"\nlabel = \"H\"\nkind = \"heartbeat\"\nsource = \"redis://{redis_errors}\"\nkey = \"k\"\nmax_age = \"1m\"\ndown_after = \"2m\"\n"
    ));
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = site.status_json();
    for c in status["components"].as_array().unwrap() {
        assert_eq!(c["state"], "down", "{c}");
    }
    let detail = |id: &str| {
        status["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["component"] == id)
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(detail("trickle"), "Timed out after 1s.");
    assert!(
        detail("redis-err").contains("this server answers nothing but errors")
            || detail("redis-err").starts_with("Cannot connect"),
        "{}",
        detail("redis-err")
    );
    assert!(
        detail("garbage").starts_with("Request failed")
            || detail("garbage").starts_with("Connection failed"),
        "{}",
        detail("garbage")
    );
}

/// A run remembers how long each check took, and the next run starts the slowest first: with
/// fewer permits than components, a hanging target checked last would add its whole deadline
/// after the quick ones.
#[test]
fn the_next_run_starts_the_checks_that_hung_first() {
    let hung = common::silent_server();
    let quick = common::http_server();
    let site = TestSite::new(&format!(
        "[run]\nconcurrency = 1\n\n[[component]]\nid = \"quick\"\nlabel = \"Q\"\nkind = \"http\"\nurl = \"http://{quick}/ok\"\n\n[[component]]\nid = \"hung\"\nlabel = \"H\"\nkind = \"http\"\nurl = \"http://{hung}/\"\ntimeout = \"300ms\"\n"
    ));
    let config = upstate::config::Config::load(&site.config()).unwrap();
    let history = || {
        upstate::history::History::open_read_only(
            upstate::pipeline::store(&config).unwrap(),
            upstate::pipeline::retention(&config),
        )
    };
    // When each check ended, from the newest raw run history kept.
    let ended = || {
        let mut runs: Vec<std::path::PathBuf> =
            walkdir::WalkDir::new(site.path().join(".upstate/history/raw"))
                .into_iter()
                .flatten()
                .map(|e| e.into_path())
                .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
                .collect();
        runs.sort();
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(runs.last().unwrap()).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let run: serde_json::Value = serde_json::from_str(&text).unwrap();
        let at = |id: &str| {
            run["observations"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["component"] == id)
                .and_then(|o| o["at"].as_str())
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .unwrap()
        };
        (at("quick"), at("hung"))
    };
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (quick_ended, hung_ended) = ended();
    assert!(
        quick_ended < hung_ended,
        "no durations known yet: config order"
    );
    let first = history();
    assert!(
        first.last_took_ms("hung").is_some_and(|ms| ms >= 300),
        "{:?}",
        first.last_took_ms("hung")
    );
    assert!(first.last_took_ms("quick").is_some_and(|ms| ms < 300));
    assert_eq!(upstate::pipeline::slowest_first(&config, &first), [1, 0]);

    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (quick_ended, hung_ended) = ended();
    assert!(
        hung_ended < quick_ended,
        "one permit: the check that hung last time ran first"
    );
}

/// Kills `upstate run` with SIGKILL at many points of probe, history write, render and publish.
/// After every kill the history loads, no earlier observation is lost, and the next run publishes.
#[test]
fn a_run_killed_at_any_point_loses_nothing() {
    let http = http_server();
    let dead = closed_port();
    let mut config = String::from("[site]\nbase_url = \"https://t.test\"\n\n");
    for i in 0..60 {
        let target = if i % 3 == 0 {
            format!("127.0.0.1:{dead}")
        } else {
            http.to_string()
        };
        config.push_str(&format!("[[component]]\nid = \"c{i}\"\nlabel = \"C{i}\"\nkind = \"tcp\"\naddress = \"{target}\"\n\n"));
    }
    let site = TestSite::new(&config);
    for n in 0..40 {
        site.incident(&format!("2026-01-{:02}-i{n}.md", n % 28 + 1), &format!("---\ntitle: Incident {n}\nseverity: minor\nstatus: resolved\ncomponents: [c{n}]\ndiscovered_at: 2026-01-01T00:00:00Z\nresolved_at: 2026-01-01T01:00:00Z\n---\nBody {n}.\n"));
    }
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let history = site.path().join(".upstate/history");
    let count_raw = || -> usize {
        std::fs::read_dir(history.join("raw"))
            .map(|days| {
                days.flatten()
                    .map(|d| std::fs::read_dir(d.path()).unwrap().count())
                    .sum()
            })
            .unwrap_or(0)
    };
    let mut before = count_raw();
    let mut killed = 0;
    for i in 0..30u64 {
        let mut child = common::upstate()
            .arg("run")
            .arg("--config")
            .arg(site.config())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(5 + (i * 37) % 160));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
        let check = site.cmd(&["history", "check"]);
        assert_eq!(
            check.status.code(),
            Some(0),
            "after kill {i}: {}",
            text(&check)
        );
        let now = count_raw();
        assert!(now >= before, "observations were lost: {before} -> {now}");
        before = now;
        assert!(
            site.public("index.html").is_file() && site.public("status.json").is_file(),
            "the published site is never half there"
        );
        serde_json::from_str::<serde_json::Value>(&site.read_public("status.json")).unwrap();
    }
    assert!(
        killed >= 10,
        "only {killed} runs were killed mid-way; the test needs longer runs"
    );
    let last = site.cmd(&["run"]);
    assert_eq!(last.status.code(), Some(0), "{}", text(&last));
    assert!(count_raw() > before);
}

/// Secrets everywhere they can go, debug logging on, every output searched.
#[test]
fn secrets_appear_nowhere() {
    let http = http_server();
    let dead = closed_port();
    let secrets = [
        ("UPSTATE_FAULT_DB_PASSWORD", "pw-Fault-7d1e0c"),
        ("UPSTATE_FAULT_TOKEN", "tok-Fault-93b2aa"),
        ("UPSTATE_FAULT_REDIS_PASSWORD", "redis-Fault-51c4"),
        ("UPSTATE_FAULT_HOOK_SECRET", "hook-Fault-e6f2"),
        ("UPSTATE_FAULT_S3_SECRET", "s3-Fault-0b9d7c"),
    ];
    let site = TestSite::new(&format!(
        r#"[site]
base_url = "https://t.test"

[s3]
endpoint = "http://127.0.0.1:{dead}"
access_key_id = "AKIAFAULT"
secret_access_key = "${{UPSTATE_FAULT_S3_SECRET}}"

[snapshot]
dsn = "postgres://app:${{UPSTATE_FAULT_DB_PASSWORD}}@127.0.0.1:{dead}/db"
online_now = "SELECT 1"

[[component]]
id = "db"
label = "DB"
kind = "postgres"
dsn = "postgres://app:${{UPSTATE_FAULT_DB_PASSWORD}}@127.0.0.1:{dead}/db"

[[component]]
id = "api"
label = "API"
kind = "http"
url = "http://user:${{UPSTATE_FAULT_TOKEN}}@{http}/fail?token=${{UPSTATE_FAULT_TOKEN}}"
headers = {{ Authorization = "Bearer ${{UPSTATE_FAULT_TOKEN}}" }}

[[component]]
id = "cache"
label = "Cache"
kind = "redis"
url = "redis://:${{UPSTATE_FAULT_REDIS_PASSWORD}}@127.0.0.1:{dead}"

[[component]]
id = "ws"
label = "WS"
kind = "websocket"
url = "ws://127.0.0.1:{dead}/?token=${{UPSTATE_FAULT_TOKEN}}"

[[notify]]
kind = "webhook"
url = "http://127.0.0.1:{dead}/hook?token=${{UPSTATE_FAULT_TOKEN}}"
secret = "${{UPSTATE_FAULT_HOOK_SECRET}}"
timeout = "1s"
"#
    ));
    let mut outputs = Vec::new();
    for args in [
        &["check"][..],
        &["probe"],
        &["run"],
        &["run"],
        &["build"],
        &["history", "check"],
    ] {
        let mut cmd = common::upstate();
        for (k, v) in secrets {
            cmd.env(k, v);
        }
        let out = cmd
            .env("UPSTATE_LOG", "debug")
            .args(args)
            .arg("--config")
            .arg(site.config())
            .output()
            .unwrap();
        outputs.push((format!("upstate {}", args.join(" ")), text(&out)));
    }
    let mut searched = 0;
    let mut stack = vec![site.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().unwrap() != "upstate.toml" {
                let bytes = std::fs::read(&p).unwrap();
                let mut content = String::from_utf8_lossy(&bytes).into_owned();
                if bytes.starts_with(&[0x1f, 0x8b]) {
                    let mut plain = String::new();
                    flate2::read::GzDecoder::new(&bytes[..])
                        .read_to_string(&mut plain)
                        .unwrap();
                    content = plain;
                }
                outputs.push((p.display().to_string(), content));
            }
        }
    }
    for (place, content) in &outputs {
        searched += 1;
        for (_, secret) in secrets {
            assert!(!content.contains(secret), "{secret} leaked into {place}");
        }
    }
    assert!(searched > 50, "searched only {searched} places");
    assert!(
        outputs
            .iter()
            .any(|(p, c)| p.ends_with("upstate run") && c.contains("DEBUG")),
        "debug logs were on"
    );
}

/// Issue 15 item 5: at trace level every crate logs, and libraries log what they hold: the
/// WebSocket library logs its request line (path and query, token included), HTTP clients log
/// URLs, a failing notification names its target (Slack and Discord tokens live in the path).
/// Not one byte of a secret may reach stdout or stderr.
#[test]
fn secrets_appear_in_no_log_line_at_trace_level() {
    let http = http_server();
    let hook = liar(
        b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    );
    let secrets = [
        ("UPSTATE_TRACE_WS_TOKEN", "wsTok-S3CRET-5d2e9a"),
        ("UPSTATE_TRACE_HOOK_TOKEN", "hookPath-S3CRET-8c1f"),
        ("UPSTATE_TRACE_API_KEY", "apiKey-S3CRET-3a7b"),
    ];
    let site = TestSite::new(&format!(
        r#"[site]
base_url = "https://t.test"

[[component]]
id = "api"
label = "API"
kind = "http"
url = "http://{http}/ok"
headers = {{ X-Api-Key = "${{UPSTATE_TRACE_API_KEY}}" }}

[[component]]
id = "ws"
label = "WS"
kind = "websocket"
url = "ws://{http}/socket?token=${{UPSTATE_TRACE_WS_TOKEN}}"

[[notify]]
kind = "webhook"
url = "http://{hook}/services/T0/B0/${{UPSTATE_TRACE_HOOK_TOKEN}}"
timeout = "1s"
"#
    ));
    let run = || {
        let mut cmd = common::upstate();
        for (k, v) in secrets {
            cmd.env(k, v);
        }
        let out = cmd
            .env("UPSTATE_LOG", "trace")
            .arg("run")
            .arg("--config")
            .arg(site.config())
            .output()
            .unwrap();
        [out.stdout, out.stderr].concat()
    };
    let baseline = run(); // a new notify target's first run sets its baseline
    let config = std::fs::read_to_string(site.config()).unwrap();
    std::fs::write(site.config(), config.replace("/ok\"", "/fail\"")).unwrap();
    let changed = run(); // the API goes down: an event, refused by the receiver with 500
    let logged = String::from_utf8_lossy(&changed);
    assert!(logged.contains("TRACE"), "trace logging was on:\n{logged}");
    assert!(
        logged.contains("Request:"),
        "the WebSocket library logged its request line:\n{logged}"
    );
    assert!(
        logged.contains(&format!("notification to http://{hook} failed")),
        "the failed notification names its target by host and port only:\n{logged}"
    );
    for output in [&baseline, &changed] {
        for (_, secret) in secrets {
            assert!(
                !output.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} reached a log line:\n{}",
                String::from_utf8_lossy(output)
            );
        }
    }
}
