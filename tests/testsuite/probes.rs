//! Each probe kind against real servers the test starts (or the machine's PostgreSQL and Redis):
//! healthy, degraded and down outcomes, and servers that hang or lie.

use crate::common;

use std::time::Duration;

use crate::common::services::{password_postgres, postgres_url, redis_url};
use crate::common::{closed_port, http_server, silent_server};
use upstate::config::Config;
use upstate::probe::{Health, Outcome, runner::check_once};

/// Parses a one-component config and runs its probe once under its deadline, like a run does.
async fn probe(kind_keys: &str) -> Outcome {
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

#[tokio::test]
async fn http_200_is_up_with_latency() {
    let addr = http_server();
    let o = probe(&format!(
        "kind = \"http\"\nurl = \"http://{addr}/ok\"\nexpect_body = \"ok\""
    ))
    .await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(o.latency_ms.is_some());
    assert!(o.detail.starts_with("HTTP 200 in "), "{}", o.detail);
}

#[tokio::test]
async fn http_500_is_down_and_says_so() {
    let addr = http_server();
    let o = probe(&format!("kind = \"http\"\nurl = \"http://{addr}/fail\"")).await;
    assert_eq!((o.health, o.detail.as_str()), (Health::Down, "HTTP 500"));
}

#[tokio::test]
async fn http_expected_status_list_accepts_non_2xx() {
    let addr = http_server();
    let o = probe(&format!(
        "kind = \"http\"\nurl = \"http://{addr}/fail\"\nexpect_status = [500]"
    ))
    .await;
    assert_eq!(o.health, Health::Up, "{o:?}");
}

#[tokio::test]
async fn http_lying_200_with_wrong_body_is_down() {
    let addr = http_server();
    let o = probe(&format!(
        "kind = \"http\"\nurl = \"http://{addr}/wrong\"\nexpect_body = \"ok\""
    ))
    .await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Body does not contain \"ok\".")
    );
}

#[tokio::test]
async fn http_json_pointer_checks() {
    let addr = http_server();
    let ok = probe(&format!("kind = \"http\"\nurl = \"http://{addr}/json\"\nexpect_json = {{ \"/status\" = \"ok\", \"/db/up\" = true }}")).await;
    assert_eq!(ok.health, Health::Up, "{ok:?}");
    let bad = probe(&format!("kind = \"http\"\nurl = \"http://{addr}/json\"\nexpect_json = {{ \"/status\" = \"degraded\" }}")).await;
    assert_eq!(
        (bad.health, bad.detail.as_str()),
        (
            Health::Down,
            "JSON /status is \"ok\", expected \"degraded\"."
        )
    );
}

#[tokio::test]
async fn http_closed_port_is_down() {
    let port = closed_port();
    let o = probe(&format!(
        "kind = \"http\"\nurl = \"http://127.0.0.1:{port}/\""
    ))
    .await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.starts_with("Connection failed"), "{}", o.detail);
}

#[tokio::test]
async fn http_server_that_never_answers_times_out() {
    let addr = silent_server();
    let o = probe(&format!(
        "kind = \"http\"\nurl = \"http://{addr}/\"\ntimeout = \"300ms\""
    ))
    .await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Timed out after 300ms.")
    );
}

#[tokio::test]
async fn http_redirect_loop_is_bounded() {
    let addr = http_server();
    let o = probe(&format!("kind = \"http\"\nurl = \"http://{addr}/loop\"")).await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Too many redirects.")
    );
}

/// Request heads a [`recording_server`] received, lower-cased.
type Heads = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A loopback HTTP/1.1 server that records every request head and answers `answer(path)`
/// (a whole response).
fn recording_server(
    answer: impl Fn(&str) -> String + Send + Sync + 'static,
) -> (std::net::SocketAddr, Heads) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Heads::default();
    let recorded = heads.clone();
    let answer = std::sync::Arc::new(answer);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let recorded = recorded.clone();
            let answer = answer.clone();
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head).to_lowercase();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                recorded.lock().unwrap().push(head);
                let _ = stream.write_all(answer(&path).as_bytes());
            });
        }
    });
    (addr, heads)
}

fn redirect_to(location: &str) -> String {
    format!(
        "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
}

const OK_RESPONSE: &str = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

/// Issue 15 item 3: credentials in headers are for the configured origin only, and no Referer
/// carries the URL's token anywhere. Another port on the same host is another origin.
#[tokio::test]
async fn http_redirect_to_another_origin_carries_no_credentials_and_no_referer() {
    let (elsewhere, elsewhere_heads) = recording_server(|_| OK_RESPONSE.to_owned());
    let (origin, origin_heads) = recording_server(move |path| {
        if path.starts_with("/away") {
            redirect_to(&format!("http://{elsewhere}/landing"))
        } else if path.starts_with("/stay") {
            redirect_to("/here")
        } else {
            OK_RESPONSE.to_owned()
        }
    });
    let secrets = ["key-7c1d9e2f", "bearer-0a4b", "cookie-5e6f", "tok-3b8a1c"];
    let keys = |path: &str| {
        format!(
            "kind = \"http\"\nurl = \"http://{origin}/{path}?token=tok-3b8a1c\"\nexpect_body = \"ok\"\n\
             headers = {{ X-Api-Key = \"key-7c1d9e2f\", Authorization = \"Bearer bearer-0a4b\", Cookie = \"s=cookie-5e6f\" }}"
        )
    };

    let away = probe(&keys("away")).await;
    assert_eq!(away.health, Health::Up, "{away:?}");
    let seen = elsewhere_heads.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].starts_with("get /landing "), "{seen:?}");
    for header in ["x-api-key:", "authorization:", "cookie:", "referer:"] {
        assert!(
            !seen[0].contains(header),
            "{header} crossed origins: {seen:?}"
        );
    }
    for secret in secrets {
        assert!(
            !seen[0].contains(secret),
            "{secret} crossed origins: {seen:?}"
        );
    }

    let stay = probe(&keys("stay")).await;
    assert_eq!(stay.health, Health::Up, "{stay:?}");
    let seen = origin_heads.lock().unwrap().clone();
    let here = seen
        .iter()
        .find(|h| h.starts_with("get /here "))
        .unwrap_or_else(|| panic!("the same-origin redirect was not followed: {seen:?}"));
    assert!(here.contains("x-api-key: key-7c1d9e2f"), "{here}");
    assert!(here.contains("authorization: bearer bearer-0a4b"), "{here}");
    assert!(
        seen.iter().all(|h| !h.contains("referer:")),
        "no Referer, even at home: {seen:?}"
    );
}

/// Issue 16: `[component.headers]` and `[component.expect_json]` as TOML sub-tables (what a
/// user writes for a long list) read the same as the inline tables; check once refused them.
#[tokio::test]
async fn http_headers_and_expect_json_as_sub_tables() {
    let (origin, heads) = recording_server(|_| {
        let body = r#"{"status":"ok"}"#;
        format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    });
    let keys = |status: &str| {
        format!(
            "kind = \"http\"\nurl = \"http://{origin}/\"\n\n[component.headers]\nX-Api-Key = \"key-1\"\n\n[component.expect_json]\n\"/status\" = \"{status}\"\n"
        )
    };
    let up = probe(&keys("ok")).await;
    assert_eq!(up.health, Health::Up, "{up:?}");
    let seen = heads.lock().unwrap().clone();
    assert!(seen[0].contains("x-api-key: key-1"), "{seen:?}");
    let down = probe(&keys("degraded")).await;
    assert_eq!(down.health, Health::Down, "{down:?}");
}

/// Issue 17: retries share the component's one deadline. A fast failure (HTTP 503) is tried
/// `retries + 1` times; a target that hangs used the deadline up on its first try and is not
/// tried again (a run stays within its slowest deadline).
#[tokio::test]
async fn retries_share_one_deadline() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use upstate::probe::{RunOptions, run_all};
    let (failing, heads) = recording_server(|_| {
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .to_owned()
    });
    // Accepts and never answers, counting connections.
    let hanging = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hanging_addr = hanging.local_addr().unwrap();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in hanging.incoming().flatten() {
            counter.fetch_add(1, Ordering::SeqCst);
            open.push(stream);
        }
    });
    let text = format!(
        "[[component]]\nid = \"failing\"\nlabel = \"F\"\nkind = \"http\"\nurl = \"http://{failing}/\"\ntimeout = \"5s\"\n\n\
         [[component]]\nid = \"hanging\"\nlabel = \"H\"\nkind = \"http\"\nurl = \"http://{hanging_addr}/\"\ntimeout = \"1s\"\n"
    );
    let config = Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let options = RunOptions {
        concurrency: 4,
        retries: 2,
        progress: None,
    };
    let seen = run_all(&config.components, options).await;
    assert!(
        seen.iter().all(|o| o.outcome.health == Health::Down),
        "{seen:?}"
    );
    assert_eq!(
        heads.lock().unwrap().len(),
        3,
        "a fast failure is retried twice"
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "a check that used its whole deadline is not retried"
    );
    assert!(seen[1].outcome.detail.contains("1s"), "{seen:?}");
}

/// The runner prints nothing itself: it tells whoever asked, once per finished probe, with the
/// count so far (the binary draws the terminal's progress line from it).
#[tokio::test]
async fn the_runner_reports_progress_to_its_caller() {
    use std::sync::{Arc, Mutex};
    use upstate::probe::{RunOptions, run_all};
    let addr = http_server();
    let text: String = (0..5)
        .map(|i| format!("[[component]]\nid = \"c{i}\"\nlabel = \"C\"\nkind = \"http\"\nurl = \"http://{addr}/ok\"\n\n"))
        .collect();
    let config = Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let told = Arc::new(Mutex::new(Vec::new()));
    let sink = told.clone();
    let options = RunOptions {
        concurrency: 2,
        retries: 0,
        progress: Some(Arc::new(move |done, total| {
            sink.lock().unwrap().push((done, total))
        })),
    };
    let seen = run_all(&config.components, options).await;
    assert_eq!(seen.len(), 5);
    let mut told = told.lock().unwrap().clone();
    told.sort_unstable();
    assert_eq!(told, (1..=5).map(|n| (n, 5)).collect::<Vec<_>>());
}

/// With fewer permits than components, checks start in the schedule's order (a run puts the
/// ones that hung last time first), results stay in config order, and each says how long its
/// check took.
#[tokio::test]
async fn the_runner_starts_checks_in_the_schedules_order() {
    use upstate::probe::{RunOptions, Schedule, run_scheduled};
    let (quick, hung) = (http_server(), silent_server());
    let text = format!(
        "[[component]]\nid = \"quick\"\nlabel = \"Q\"\nkind = \"http\"\nurl = \"http://{quick}/ok\"\n\n\
         [[component]]\nid = \"hung\"\nlabel = \"H\"\nkind = \"http\"\nurl = \"http://{hung}/\"\ntimeout = \"300ms\"\n"
    );
    let config = Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let options = RunOptions {
        concurrency: 1,
        retries: 0,
        progress: None,
    };
    let schedule = Schedule {
        start_order: vec![1, 7, 1],
    };
    let seen = run_scheduled(&config.components, options, schedule).await;
    assert_eq!(seen.len(), 2, "each once, an unknown position ignored");
    assert!(
        seen[1].at < seen[0].at,
        "one permit: the scheduled check ran (and ended) first: {seen:?}"
    );
    assert_eq!(seen[0].component, "quick");
    assert_eq!(seen[1].component, "hung");
    assert_eq!(seen[0].outcome.health, Health::Up, "{seen:?}");
    assert!(seen[1].took_ms.is_some_and(|ms| ms >= 300), "{seen:?}");
    assert!(seen[0].took_ms.is_some_and(|ms| ms < 300), "{seen:?}");
}

/// A retry cut short by what the first attempt left keeps the first attempt's failure: the page
/// says "HTTP 503", not "Timed out", when the server did answer.
#[tokio::test]
async fn a_retry_out_of_time_keeps_the_real_failure() {
    use upstate::probe::{RunOptions, run_all};
    let (slow, heads) = recording_server(|_| {
        std::thread::sleep(Duration::from_millis(600));
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            .to_owned()
    });
    let text = format!(
        "[[component]]\nid = \"slow\"\nlabel = \"S\"\nkind = \"http\"\nurl = \"http://{slow}/\"\ntimeout = \"1s\"\n"
    );
    let config = Config::parse(&text, std::path::Path::new("test.toml")).unwrap();
    let options = RunOptions {
        concurrency: 1,
        retries: 3,
        progress: None,
    };
    let seen = run_all(&config.components, options).await;
    assert_eq!(seen[0].outcome.detail, "HTTP 503", "{seen:?}");
    assert_eq!(
        heads.lock().unwrap().len(),
        2,
        "one retry, with what was left"
    );
}

#[tokio::test]
async fn http_max_redirects_zero_judges_the_redirect_itself() {
    let (origin, _) = recording_server(|_| redirect_to("/elsewhere"));
    let o = probe(&format!(
        "kind = \"http\"\nurl = \"http://{origin}/\"\nmax_redirects = 0"
    ))
    .await;
    assert_eq!((o.health, o.detail.as_str()), (Health::Down, "HTTP 302"));
}

#[tokio::test]
async fn http_huge_body_is_read_only_up_to_the_cap() {
    let addr = http_server();
    // 1 GiB is offered; the probe judges the first 64 KiB and stops reading.
    let o = probe(&format!("kind = \"http\"\nurl = \"http://{addr}/big\"\nexpect_body = \"xxxx\"\nmax_body_bytes = 65536\ntimeout = \"10s\"")).await;
    assert_eq!(o.health, Health::Up, "{o:?}");
}

#[tokio::test]
async fn http_header_secret_never_appears_in_detail() {
    // SAFETY: the variable name is unique to this test.
    unsafe { std::env::set_var("UPSTATE_TEST_HTTP_TOKEN", "tok-4f9a8b7c6d") };
    let port = closed_port();
    let o = probe(&format!(
        "kind = \"http\"\nurl = \"http://user:${{UPSTATE_TEST_HTTP_TOKEN}}@127.0.0.1:{port}/?token=${{UPSTATE_TEST_HTTP_TOKEN}}\"\nheaders = {{ Authorization = \"Bearer ${{UPSTATE_TEST_HTTP_TOKEN}}\" }}"
    ))
    .await;
    assert_eq!(o.health, Health::Down);
    assert!(!o.detail.contains("tok-4f9a8b7c6d"), "{}", o.detail);
}

#[tokio::test]
async fn tcp_connect_and_refusal() {
    let addr = silent_server(); // accepting is all TCP needs
    let up = probe(&format!("kind = \"tcp\"\naddress = \"{addr}\"")).await;
    assert_eq!(up.health, Health::Up, "{up:?}");
    let down = probe(&format!(
        "kind = \"tcp\"\naddress = \"127.0.0.1:{}\"",
        closed_port()
    ))
    .await;
    assert_eq!(down.health, Health::Down);
    assert!(
        down.detail.starts_with("Cannot connect:"),
        "{}",
        down.detail
    );
}

#[tokio::test]
async fn postgres_select_1_round_trip() {
    let o = probe(&format!(
        "kind = \"postgres\"\ndsn = \"{}\"",
        postgres_url()
    ))
    .await;
    assert_eq!(o.health, Health::Up, "{o:?}");
    assert!(o.detail.starts_with("SELECT 1 in "), "{}", o.detail);
    assert!(o.detail.contains("(connect "), "{}", o.detail);
}

#[tokio::test]
async fn postgres_failing_query_is_down() {
    let o = probe(&format!(
        "kind = \"postgres\"\ndsn = \"{}\"\nquery = \"SELECT * FROM no_such_table_upstate\"",
        postgres_url()
    ))
    .await;
    assert_eq!(o.health, Health::Down);
    assert!(o.detail.contains("no_such_table_upstate"), "{}", o.detail);
}

#[tokio::test]
async fn postgres_wrong_password_is_down_and_never_shows_the_password() {
    let (port, _right) = password_postgres();
    let wrong = "Wr0ng-Pa55word-xyz";
    let o = probe(&format!(
        "kind = \"postgres\"\ndsn = \"postgres://app:{wrong}@127.0.0.1:{port}/postgres\""
    ))
    .await;
    assert_eq!(o.health, Health::Down, "{o:?}");
    assert!(
        o.detail.contains("password authentication failed"),
        "{}",
        o.detail
    );
    assert!(!o.detail.contains(wrong), "{}", o.detail);
    let (port, right) = password_postgres();
    let ok = probe(&format!(
        "kind = \"postgres\"\ndsn = \"postgres://app:{right}@127.0.0.1:{port}/postgres\""
    ))
    .await;
    assert_eq!(ok.health, Health::Up, "{ok:?}");
}

#[tokio::test]
async fn postgres_that_accepts_and_stalls_times_out() {
    let addr = silent_server();
    let o = probe(&format!(
        "kind = \"postgres\"\ndsn = \"postgres://u:p@{addr}/db\"\ntimeout = \"300ms\""
    ))
    .await;
    assert_eq!(
        (o.health, o.detail.as_str()),
        (Health::Down, "Timed out after 300ms.")
    );
}

#[tokio::test]
async fn redis_ping_and_wrong_port() {
    let up = probe(&format!("kind = \"redis\"\nurl = \"{}\"", redis_url())).await;
    assert_eq!(up.health, Health::Up, "{up:?}");
    assert!(up.detail.starts_with("PING in "), "{}", up.detail);
    let down = probe(&format!(
        "kind = \"redis\"\nurl = \"redis://127.0.0.1:{}\"",
        closed_port()
    ))
    .await;
    assert_eq!(down.health, Health::Down);
    assert!(
        down.detail.starts_with("Cannot connect:"),
        "{}",
        down.detail
    );
}

async fn redis_cmd(args: &[&str]) {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let _: redis::Value = cmd.query_async(&mut conn).await.unwrap();
}

#[tokio::test]
async fn heartbeat_ages_from_redis() {
    let key = format!("upstate-test:hb:{}", std::process::id());
    let keys = format!(
        "kind = \"heartbeat\"\nsource = \"{}\"\nkey = \"{key}\"\nmax_age = \"60s\"\ndown_after = \"90s\"",
        redis_url()
    );
    redis_cmd(&["DEL", &key]).await;
    let none = probe(&keys).await;
    assert_eq!(
        (none.health, none.detail.as_str()),
        (Health::Down, "No heartbeat seen yet.")
    );
    let now = chrono::Utc::now().timestamp();
    for (age, want) in [(5, Health::Up), (75, Health::Degraded), (200, Health::Down)] {
        redis_cmd(&["SET", &key, &(now - age).to_string()]).await;
        let o = probe(&keys).await;
        assert_eq!(o.health, want, "age {age}: {o:?}");
    }
    redis_cmd(&["SET", &key, &chrono::Utc::now().to_rfc3339()]).await;
    assert_eq!(probe(&keys).await.health, Health::Up);
    redis_cmd(&["DEL", &key]).await;
}

#[tokio::test]
async fn heartbeat_from_postgres_query() {
    let o = probe(&format!(
        "kind = \"heartbeat\"\nsource = \"{}\"\nkey = \"SELECT now() - interval '10 seconds'\"\nmax_age = \"60s\"\ndown_after = \"90s\"",
        postgres_url()
    ))
    .await;
    assert_eq!(o.health, Health::Up, "{o:?}");
}

#[tokio::test]
async fn workers_name_the_stale_ones_and_count_failed_jobs() {
    let p = format!("upstate-test:w{}:", std::process::id());
    let keys = format!(
        "kind = \"workers\"\nsource = \"{}\"\nheartbeat_keys = \"{p}hb:*\"\nmax_age = \"60s\"\ndown_after = \"5m\"\nfailed_jobs = \"LLEN {p}failed\"",
        redis_url()
    );
    let none = probe(&keys).await;
    assert_eq!(
        (none.health, none.detail.as_str()),
        (Health::Down, "No workers have reported a heartbeat yet.")
    );
    let now = chrono::Utc::now().timestamp();
    redis_cmd(&["SET", &format!("{p}hb:push"), &now.to_string()]).await;
    redis_cmd(&["SET", &format!("{p}hb:exports"), &(now - 10).to_string()]).await;
    let ok = probe(&keys).await;
    assert_eq!(
        (ok.health, ok.detail.as_str()),
        (Health::Up, "2 workers; 0 failed jobs.")
    );
    redis_cmd(&["RPUSH", &format!("{p}failed"), "job-1"]).await;
    let failed = probe(&keys).await;
    assert_eq!(
        (failed.health, failed.detail.as_str()),
        (Health::Degraded, "2 workers; 1 failed job.")
    );
    redis_cmd(&["SET", &format!("{p}hb:exports"), &(now - 600).to_string()]).await;
    let stale = probe(&keys).await;
    assert_eq!(
        (stale.health, stale.detail.as_str()),
        (
            Health::Down,
            "2 workers; stale: exports (10 min); 1 failed job."
        )
    );
    redis_cmd(&[
        "DEL",
        &format!("{p}hb:push"),
        &format!("{p}hb:exports"),
        &format!("{p}failed"),
    ])
    .await;
}

#[tokio::test]
async fn storage_volume_round_trip_and_missing_volume() {
    let dir = tempfile::tempdir().unwrap();
    let ok = probe(&format!(
        "kind = \"storage\"\npath = \"{}\"",
        dir.path().display()
    ))
    .await;
    assert_eq!(ok.health, Health::Up, "{ok:?}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the probe cleans up after itself"
    );
    let missing = probe(&format!(
        "kind = \"storage\"\npath = \"{}/nope\"",
        dir.path().display()
    ))
    .await;
    assert_eq!(
        (missing.health, missing.detail.as_str()),
        (Health::Down, "Local media volume is missing or read-only.")
    );
}

#[tokio::test]
async fn push_without_providers_is_degraded_and_a_real_p8_key_is_accepted() {
    let none = probe("kind = \"push\"").await;
    assert_eq!(
        (none.health, none.detail.as_str()),
        (Health::Degraded, "No push providers enabled.")
    );
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let p8 = dir.path().join("AuthKey.p8");
    std::fs::write(&p8, key.serialize_pem()).unwrap();
    let ok = probe(&format!("kind = \"push\"\napns_key_file = \"{}\"\napns_key_id = \"ABC123DEFG\"\napns_team_id = \"TEAM123456\"", p8.display())).await;
    assert_eq!(
        (ok.health, ok.detail.as_str()),
        (Health::Up, "APNs configured.")
    );
    let bad_id = probe(&format!("kind = \"push\"\napns_key_file = \"{}\"\napns_key_id = \"short\"\napns_team_id = \"TEAM123456\"", p8.display())).await;
    assert_eq!(bad_id.health, Health::Down);
    std::fs::write(&p8, "not a key").unwrap();
    let garbage = probe(&format!("kind = \"push\"\napns_key_file = \"{}\"\napns_key_id = \"ABC123DEFG\"\napns_team_id = \"TEAM123456\"", p8.display())).await;
    assert_eq!(
        (garbage.health, garbage.detail.as_str()),
        (Health::Down, "APNs key file is not a PEM private key.")
    );
}

#[tokio::test]
async fn push_outbox_is_sampled() {
    let o = probe(&format!(
        "kind = \"push\"\ndsn = \"{}\"\noutbox = \"SELECT 7\"",
        postgres_url()
    ))
    .await;
    assert_eq!(o.sample, Some(7), "{o:?}");
}

#[tokio::test]
async fn postgres_sslmode_require_verifies_the_certificate() {
    let (port, ca) = common::services::tls_postgres();
    let dsn = format!("postgres://app@127.0.0.1:{port}/postgres?sslmode=require");
    let trusted = probe(&format!(
        "kind = \"postgres\"\ndsn = \"{dsn}\"\nca_file = \"{}\"",
        ca.display()
    ))
    .await;
    assert_eq!(trusted.health, Health::Up, "{trusted:?}");
    // Without the private CA the certificate is not trusted: down, never silently plaintext.
    let untrusted = probe(&format!("kind = \"postgres\"\ndsn = \"{dsn}\"")).await;
    assert_eq!(untrusted.health, Health::Down, "{untrusted:?}");
    assert!(
        untrusted.detail.to_lowercase().contains("certificate"),
        "{}",
        untrusted.detail
    );
    // The default (prefer) stays plaintext against the same server.
    let plain = probe(&format!(
        "kind = \"postgres\"\ndsn = \"postgres://app@127.0.0.1:{port}/postgres\""
    ))
    .await;
    assert_eq!(plain.health, Health::Up, "{plain:?}");
}
