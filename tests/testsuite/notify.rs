//! Webhook notifications against a local HTTP receiver: one event per transition across runs,
//! a valid signature, a retry after a 500, and a run that still publishes while the receiver hangs.

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;

use crate::common::{TestSite, text};
use hmac::Mac;

/// How the receiver answers the next requests: a queue of modes, then `Ok`.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ok,
    Fail,
    Hang,
}

#[derive(Default)]
struct Receiver {
    modes: Vec<Mode>,
    /// (headers, body) of every request, answered or not.
    seen: Vec<(String, String)>,
}

fn receiver() -> (SocketAddr, Arc<Mutex<Receiver>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let state = Arc::new(Mutex::new(Receiver::default()));
    let shared = Arc::clone(&state);
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let mut stream = stream;
                let mut data = Vec::new();
                let mut buf = [0u8; 8192];
                let (head, body) = loop {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    data.extend_from_slice(&buf[..n]);
                    if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&data[..end]).to_string();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        while data.len() < end + 4 + len {
                            let n = stream.read(&mut buf).unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            data.extend_from_slice(&buf[..n]);
                        }
                        break (head, String::from_utf8_lossy(&data[end + 4..]).to_string());
                    }
                };
                let mode = {
                    let mut r = shared.lock().unwrap();
                    r.seen.push((head, body));
                    if r.modes.is_empty() {
                        Mode::Ok
                    } else {
                        r.modes.remove(0)
                    }
                };
                match mode {
                    Mode::Ok => {
                        let _ = stream
                            .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
                    }
                    Mode::Fail => {
                        let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
                    }
                    Mode::Hang => thread::sleep(std::time::Duration::from_secs(30)),
                }
            });
        }
    });
    (addr, state)
}

fn site(http: SocketAddr, hook: SocketAddr, path: &str, extra_notify: &str) -> TestSite {
    TestSite::new(&format!(
        "[site]\nbase_url = \"https://status.test\"\n\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://{http}/{path}\"\n\n[[notify]]\nkind = \"webhook\"\nurl = \"http://{hook}/hook\"\nsecret = \"hook-secret-123\"\ntimeout = \"1s\"\n{extra_notify}"
    ))
}

fn set_path(site: &TestSite, from: &str, to: &str) {
    let config = std::fs::read_to_string(site.config())
        .unwrap()
        .replace(from, to);
    std::fs::write(site.config(), config).unwrap();
}

fn events(state: &Arc<Mutex<Receiver>>) -> Vec<serde_json::Value> {
    state
        .lock()
        .unwrap()
        .seen
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect()
}

#[test]
fn one_signed_event_per_transition_across_runs() {
    let http = common::http_server();
    let (hook, state) = receiver();
    let site = site(http, hook, "ok", "");
    for _ in 0..2 {
        assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    }
    assert!(
        events(&state).is_empty(),
        "the first run sets the baseline; no change, no event"
    );
    set_path(&site, "/ok\"", "/fail\"");
    for _ in 0..3 {
        assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    }
    let seen = events(&state);
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0]["type"], "component.state_changed");
    assert_eq!(
        (seen[0]["from"].as_str(), seen[0]["to"].as_str()),
        (Some("operational"), Some("major_outage"))
    );
    assert_eq!(
        seen[0]["summary"],
        "Web is now major outage (was operational): HTTP 500"
    );
    // The signature is HMAC-SHA256 of the exact body with the configured secret.
    let (head, body) = state.lock().unwrap().seen[0].clone();
    let sig = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("x-upstate-signature: ")
                .map(str::to_owned)
        })
        .unwrap();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"hook-secret-123").unwrap();
    mac.update(body.as_bytes());
    let want: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sig, format!("sha256={want}"));
    // A new incident file is one more event, once.
    site.incident(
        "2026-11-20-x.md",
        "---\ntitle: Web errors\nseverity: major\nstatus: investigating\ncomponents: [web]\ndiscovered_at: 2026-11-20T10:00:00Z\nupdates:\n  - at: 2026-11-20T10:00:00Z\n    status: investigating\n    message: Looking into it.\n---\n",
    );
    for _ in 0..2 {
        assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    }
    let seen = events(&state);
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert_eq!(seen[1]["type"], "incident.updated");
    assert_eq!(seen[1]["message"], "Looking into it.");
}

#[test]
fn a_500_is_retried_and_the_event_is_not_sent_again() {
    let http = common::http_server();
    let (hook, state) = receiver();
    let site = site(http, hook, "ok", "");
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    state.lock().unwrap().modes = vec![Mode::Fail];
    set_path(&site, "/ok\"", "/fail\"");
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let seen = events(&state);
    assert_eq!(
        seen.len(),
        2,
        "one failed attempt, one retry, no resend: {seen:#?}"
    );
    assert_eq!(seen[0]["id"], seen[1]["id"]);
}

#[test]
fn a_hanging_receiver_never_blocks_the_publish_and_gets_the_event_later() {
    let http = common::http_server();
    let (hook, state) = receiver();
    let site = site(http, hook, "ok", "");
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    state.lock().unwrap().modes = vec![Mode::Hang, Mode::Hang, Mode::Hang];
    set_path(&site, "/ok\"", "/fail\"");
    let out = site.cmd(&["run"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the page was published: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("failed after 3 attempts: timed out after 1s"),
        "{}",
        text(&out)
    );
    assert_eq!(site.status_json()["components"][0]["state"], "down");
    // The receiver is back: the undelivered event goes out on the next run, once.
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let seen = events(&state);
    assert_eq!(
        seen.len(),
        4,
        "three timed-out attempts, then one delivery: {seen:#?}"
    );
    assert!(!text(&out).contains("hook-secret-123"));
}

#[test]
fn slack_format() {
    let http = common::http_server();
    let (hook, state) = receiver();
    let site = TestSite::new(&format!(
        "[site]\nbase_url = \"https://status.test\"\n[[component]]\nid = \"web\"\nlabel = \"Web <edge>\"\nkind = \"http\"\nurl = \"http://{http}/ok\"\n[[notify]]\nkind = \"slack\"\nurl = \"http://{hook}/slack\"\n"
    ));
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    set_path(&site, "/ok\"", "/fail\"");
    assert_eq!(site.cmd(&["run"]).status.code(), Some(0));
    let seen = events(&state);
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0]["text"],
        "Web &lt;edge&gt; is now major outage (was operational): HTTP 500 <https://status.test/components/web.html|details>"
    );
}
