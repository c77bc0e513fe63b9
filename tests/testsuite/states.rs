//! One state, the same words everywhere: a failing component read through every output
//! (page, component page, `status.json`, the Statuspage API, badges, webhooks, `probe`, the run
//! summary), and never-observed components shown as "no data" (README "States").

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use crate::common::{TestSite, assert_status_schema, http_server, text};

/// A webhook receiver that keeps every request body and answers 204.
fn body_receiver() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            let body = loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                data.extend_from_slice(&buf[..n]);
                let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&data[..end]).to_ascii_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map_or(0, |v| v.trim().parse().unwrap());
                while data.len() < end + 4 + len {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    data.extend_from_slice(&buf[..n]);
                }
                break Some(String::from_utf8_lossy(&data[end + 4..]).to_string());
            };
            if let Some(body) = body {
                log.lock().unwrap().push(body);
            }
            let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
        }
    });
    (addr, bodies)
}

fn config(http: SocketAddr, hook: SocketAddr, path: &str) -> String {
    format!(
        "[site]\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}{path}\"\n\n[[notify]]\nkind = \"webhook\"\nurl = \"http://{hook}/hook\"\n"
    )
}

fn json(site: &TestSite, path: &str) -> serde_json::Value {
    serde_json::from_str(&site.read_public(path)).unwrap()
}

#[test]
fn one_failing_component_reads_the_same_in_every_output() {
    let http = http_server();
    let (hook, bodies) = body_receiver();
    let site = TestSite::new(&config(http, hook, "/ok"));
    // The first run is every target's baseline: nothing is announced.
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::write(site.config(), config(http, hook, "/fail")).unwrap();

    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("Probed 1 components: 0 operational, 0 degraded, 1 down."),
        "{}",
        text(&out)
    );

    // status.json: the contract's word.
    let status = site.status_json();
    assert_status_schema(&status);
    assert_eq!(status["components"][0]["state"], "down");
    assert_eq!(status["components"][0]["observed"], true);
    assert_eq!(status["overall_state"], "down");

    // The page: the state's label.
    let index = site.read_public("index.html");
    assert!(
        index.contains("<span class=\"st\">Major outage</span>"),
        "{index}"
    );
    assert!(index.contains("Some systems are down"), "{index}");
    let page = site.read_public("components/api.html");
    assert!(
        page.contains("<b class=\"sy m\">Major outage</b><span>HTTP 500"),
        "{page}"
    );

    // The Statuspage API: the state's name.
    let summary = json(&site, "api/v2/summary.json");
    assert_eq!(summary["components"][0]["status"], "major_outage");
    assert_eq!(summary["status"]["indicator"], "critical");
    let components = json(&site, "api/v2/components.json");
    assert_eq!(components["components"][0]["status"], "major_outage");

    // Badges: the page's label, in the SVG and in the shields.io endpoint.
    let svg = site.read_public("badges/api.svg");
    assert!(svg.contains(">Major outage<"), "{svg}");
    let shield = json(&site, "api/badges/api.json");
    assert_eq!(shield["message"], "Major outage");
    assert_eq!(shield["color"], "red");

    // The webhook: the state's name.
    let bodies = bodies.lock().unwrap().clone();
    let event: serde_json::Value = bodies
        .iter()
        .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap())
        .find(|e| e["type"] == "component.state_changed")
        .unwrap_or_else(|| panic!("no state change announced: {bodies:?}"));
    assert_eq!(event["from"], "operational");
    assert_eq!(event["to"], "major_outage");

    // `probe`: the state's name and status.json's word, and an exit code scripts can use.
    let out = site.cmd(&["probe"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("api        major_outage (down)"),
        "{table}"
    );
    let out = site.cmd(&["probe", "--json"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["state"], "major_outage");
    assert_eq!(rows[0]["public"], "down");
}

#[test]
fn probe_applies_fail_after_and_says_how_many_failures_are_needed() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}/fail\"\nfail_after = 2\n"
    ));
    let out = site.cmd(&["probe"]);
    assert_eq!(out.status.code(), Some(0), "not down yet: {}", text(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    let row = table.lines().nth(1).unwrap();
    assert!(
        row.starts_with("api        degraded_performance (degraded)"),
        "{table}"
    );
    assert!(row.ends_with("(1 failed check; down after 2)"), "{table}");
    // A run remembers the streak; probe reads it (and writes nothing).
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let out = site.cmd(&["probe"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("major_outage (down)"),
        "{}",
        text(&out)
    );
}

/// The 24-hour figure of a component page's uptime table, e.g. `50.00%` or `no data`.
fn day_figure(page: &str) -> String {
    let cell = "<td><span class=\"nw\">";
    let at = page.find(cell).expect("an uptime table") + cell.len();
    page[at..].split("</span>").next().unwrap().to_owned()
}

#[test]
fn a_failing_component_never_reads_100_percent() {
    let http = http_server();
    let site_config = |path: &str| {
        format!(
            "[site]\nuptime_min_coverage = \"0%\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}{path}\"\n"
        )
    };
    let site = TestSite::new(&site_config("/ok"));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    std::fs::write(site.config(), site_config("/fail")).unwrap();
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let index = site.read_public("index.html");
    assert!(
        index.contains("<span class=\"st\">Major outage</span>"),
        "{index}"
    );
    let figure = day_figure(&site.read_public("components/api.html"));
    let value: f64 = figure
        .trim_end_matches('%')
        .parse()
        .unwrap_or_else(|_| panic!("{figure}"));
    assert!(
        value < 100.0,
        "the run that found it down counts against the figure: {figure}"
    );
}

#[test]
fn figures_carry_their_coverage_and_say_no_data_below_the_minimum() {
    let site = TestSite::new(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let page = site.read_public("components/api.html");
    assert!(page.contains("(1 check, 0 with a latency)"), "{page}");
    for _ in 0..5 {
        assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    }
    let index = site.read_public("index.html");
    // Seconds of every window: the front page's row says "no data" once, and no figure.
    assert!(
        index.contains("<a href=\"components/api.html\">API</a>no data<span"),
        "{index}"
    );
    assert!(!index.contains("0.00%"), "{index}");
    let page = site.read_public("components/api.html");
    // The component page: no figure, and the coverage beside it.
    assert_eq!(day_figure(&page), "no data");
    assert!(
        page.contains("no data</span> <small class=\"cov\">(0% observed)</small></td></tr>"),
        "{page}"
    );
    assert!(!page.contains("0.00%"), "{page}");
    assert!(page.contains("(6 checks, 0 with a latency)"), "{page}");
    assert!(
        page.contains("reads “no data” until at least 50%."),
        "{page}"
    );
    let badge = json(&site, "api/badges/api/uptime-quarter.json");
    assert_eq!(badge["message"], "no data");
}

#[test]
fn check_refuses_a_minimum_coverage_without_a_percent_sign() {
    let site = TestSite::new(
        "[site]\nuptime_min_coverage = \"50\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let file = site.config().display().to_string();
    assert!(
        text(&out).contains(&format!(
            "{file}:2:23: error: invalid percentage `50`: write a number from 0 to 100 and a `%`, e.g. \"50%\""
        )),
        "{}",
        text(&out)
    );
}

#[test]
fn times_read_in_the_site_zone_and_machines_keep_utc() {
    let http = http_server();
    let site = TestSite::new(&format!(
        "[site]\ntimezone = \"Europe/Berlin\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n"
    ));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let index = site.read_public("components/api.html");
    let at = index.find("<time class=\"chk\" datetime=\"").unwrap() + 28;
    let (utc, rest) = index[at..].split_once("\">").unwrap();
    let shown = rest.split("</time>").next().unwrap();
    assert!(utc.ends_with('Z'), "the attribute stays UTC: {utc}");
    let berlin = chrono::DateTime::parse_from_rfc3339(utc)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string();
    assert_eq!(shown, berlin);
    assert!(
        index.contains("data-tz=\"Europe/Berlin\""),
        "for the poller"
    );
    let summary = json(&site, "api/v2/summary.json");
    assert_eq!(summary["page"]["time_zone"], "Europe/Berlin");
    let status = site.status_json();
    assert!(status["generated_at"].as_str().unwrap().ends_with('Z'));
}

#[test]
fn check_refuses_a_zone_that_does_not_exist() {
    let site = TestSite::new(
        "[site]\ntitle = \"T\"\ntimezone = \"Mars/Olympus\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let file = site.config().display().to_string();
    assert!(
        text(&out).contains(&format!(
            "{file}:3:12: error: `timezone` `Mars/Olympus` is not an IANA time zone"
        )),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("e.g. \"Europe/Berlin\""),
        "{}",
        text(&out)
    );
    let site = TestSite::new("[site]\ntimezone = \"Europe/Berln\"\n");
    let out = site.cmd(&["check"]);
    assert!(
        text(&out).contains("did you mean `Europe/Berlin`?"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_catches_what_run_would_publish_as_an_outage() {
    let site = TestSite::new(
        "[[component]]\nid = \"a\"\nlabel = \"A\"\nkind = \"tcp\"\naddress = \"localhost\"\n\n[[component]]\nid = \"b\"\nlabel = \"B\"\nkind = \"postgres\"\ndsn = \"notadsn\"\n\n[[component]]\nid = \"c\"\nlabel = \"C\"\nkind = \"redis\"\nurl = \"http://cache.internal:6379\"\n\n[[component]]\nid = \"d\"\nlabel = \"D\"\nkind = \"tcp\"\naddress = \"db:5432\"\nfail_after = 0\n\n[[component]]\nid = \"e\"\nlabel = \"E\"\nkind = \"pusher\"\n",
    );
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    let file = site.config().display().to_string();
    for want in [
        format!("{file}:5:11: error: `address` `localhost` must be host:port"),
        format!("{file}:11:7: error: `dsn` is not a PostgreSQL connection string"),
        format!("{file}:17:7: error: `url` must start with redis://"),
        format!("{file}:24:14: error: `fail_after` must be at least 1"),
        format!("{file}:29:8: error: unknown component kind `pusher`"),
    ] {
        assert!(t.contains(&want), "{want}\n{t}");
    }
    assert!(t.contains("5 problems in"), "{t}");
    assert!(!t.contains("notadsn ("), "the DSN is not repeated: {t}");
    for args in [&["check", "--format", "json"][..], &["check", "--json"]] {
        let out = site.cmd(args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(report.to_string().contains("fail_after"), "{report:#}");
    }
}

#[test]
fn status_json_names_public_incidents_and_only_those() {
    let site = TestSite::new(
        "[site]\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    let at = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    site.incident(
        "2026-11-20-public.md",
        &format!("---\ntitle: API errors\nseverity: major\nstatus: investigating\ncomponents: [api]\ndiscovered_at: {at}\n---\n"),
    );
    site.incident(
        "2026-11-21-secret.md",
        &format!("---\ntitle: Secret thing\nseverity: minor\nstatus: investigating\ncomponents: [api]\ndiscovered_at: {at}\nprivate: true\n---\n"),
    );
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let status = site.status_json();
    assert_status_schema(&status);
    let incidents = status["incidents"].as_array().unwrap();
    let public = incidents
        .iter()
        .find(|i| i["id"] == "2026-11-20-public")
        .unwrap_or_else(|| panic!("{status:#}"));
    assert_eq!(public["title"], "API errors");
    assert_eq!(
        public["url"],
        "https://status.test/incidents/2026-11-20-public.html"
    );
    assert_eq!(public["components"], serde_json::json!(["api"]));
    let private = incidents.iter().find(|i| i["severity"] == "minor").unwrap();
    let keys: Vec<&String> = private.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "contained_at",
            "discovered_at",
            "resolved_at",
            "severity",
            "status"
        ],
        "a private incident publishes exactly the contract's keys"
    );
    assert!(!status.to_string().contains("Secret thing"));
}

#[test]
fn past_maintenance_stays_on_the_history_pages() {
    let site = TestSite::new(
        "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:1\"\n",
    );
    // Long past the 90-day incident window, so no longer in the front page's list.
    let start = chrono::Utc::now() - chrono::Duration::days(200);
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    site.incident(
        "2026-05-01-db-upgrade.md",
        &format!(
            "---\ntitle: Database upgrade window\nkind: maintenance\ncomponents: [api]\nstarts_at: {}\nends_at: {}\n---\n",
            fmt(start),
            fmt(start + chrono::Duration::hours(2))
        ),
    );
    assert_eq!(site.cmd(&["build"]).status.code(), Some(0));
    let dir = site.path().join(".upstate/site");
    let month =
        std::fs::read_to_string(dir.join(format!("history/{}.html", start.format("%Y-%m"))))
            .expect("a month page for the window");
    assert!(month.contains("Database upgrade window"), "{month}");
    assert!(
        month.contains("incidents/2026-05-01-db-upgrade.html"),
        "{month}"
    );
    assert!(
        dir.join("incidents/2026-05-01-db-upgrade.html").is_file(),
        "its page exists"
    );
}

#[test]
fn a_run_waiting_for_the_lock_says_so_and_for_whom() {
    let silent = common::silent_server();
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"slow\"\nlabel = \"Slow\"\nkind = \"http\"\nurl = \"http://{silent}/\"\ntimeout = \"3s\"\n"
    ));
    // The first run holds the history lock while its probe hangs for 3 s.
    let first = common::upstate()
        .args(["run", "--config"])
        .arg(site.config())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = site.path().join(".upstate/history/lock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .is_empty()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never took the lock"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let second = site.cmd(&["run"]);
    let mut first = first;
    assert!(first.wait().unwrap().success());
    assert!(second.status.success(), "{}", text(&second));
    let said = text(&second);
    assert!(
        said.contains("Waiting for another run to release the history lock.")
            && said.contains(&format!("holder=pid {} since ", first.id())),
        "{said}"
    );
}
