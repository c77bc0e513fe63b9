//! S3 history stores and publish targets against a real S3 API server: `moto_server` (PyPI
//! `moto[server]`), started by each test on a free loopback port. The tests read back what was
//! written with plain HTTP requests of their own, not through the code under test. Where a
//! failure must happen at a chosen request, a small HTTP proxy in front of moto answers that
//! request with an S3 error instead of forwarding it.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::history_fixtures::{obs, retention, t};
use crate::common::{TestSite, closed_port, text};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use upstate::config::Config;
use upstate::history::s3::S3Store;
use upstate::history::{History, HistoryError, Store};
use upstate::publish::Target;
use upstate::publish::s3::{MANIFEST, S3Target};
use upstate::state::{ComponentState, Memory};

const BUCKET: &str = "upstate-test";
const SECRET: &str = "testing-SECRET-9f8e";

// ---------------------------------------------------------------------------------------------
// moto, plain HTTP, a fault-injecting proxy

/// A `moto_server` on 127.0.0.1, killed when dropped.
struct Moto {
    child: Option<Child>,
    addr: SocketAddr,
}

impl Moto {
    fn start() -> Self {
        let port = closed_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server ({e}); install it with: pip install 'moto[server]'"
                )
            });
        let moto = Self {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let start = Instant::now();
        loop {
            if http(moto.addr, "GET", "/moto-api/", b"").is_ok_and(|r| r.status > 0) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "moto_server did not answer on {} within 120 s",
                moto.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let made = http(moto.addr, "PUT", &format!("/{BUCKET}"), b"").unwrap();
        assert_eq!(made.status, 200, "creating the bucket: {}", made.text());
        moto
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The object at `key`, or `None` when absent.
    fn get(&self, key: &str) -> Option<Vec<u8>> {
        let reply = http(self.addr, "GET", &format!("/{BUCKET}/{key}"), b"").unwrap();
        match reply.status {
            200 => Some(reply.body),
            404 => None,
            other => panic!("GET {key}: {other} {}", reply.text()),
        }
    }

    fn put(&self, key: &str, body: &[u8]) {
        let reply = http(self.addr, "PUT", &format!("/{BUCKET}/{key}"), body).unwrap();
        assert_eq!(reply.status, 200, "PUT {key}: {}", reply.text());
    }

    fn head(&self, key: &str) -> Reply {
        http(self.addr, "HEAD", &format!("/{BUCKET}/{key}"), b"").unwrap()
    }

    /// Every key under `prefix` (ListObjectsV2, all pages).
    fn keys(&self, prefix: &str) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token = String::new();
        loop {
            let mut path = format!("/{BUCKET}?list-type=2&prefix={prefix}");
            if !token.is_empty() {
                path.push_str(&format!("&continuation-token={token}"));
            }
            let reply = http(self.addr, "GET", &path, b"").unwrap();
            assert_eq!(reply.status, 200, "{}", reply.text());
            let xml = reply.text();
            keys.extend(xml_values(&xml, "Key"));
            match xml_values(&xml, "NextContinuationToken").first() {
                Some(t) => token = t.clone(),
                None => break,
            }
        }
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.kill();
    }
}

fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split(&close).next())
        .map(|v| v.replace("&amp;", "&"))
        .collect()
}

struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// moto does not check signatures, but treats a request without any as anonymous, and refuses
/// anonymous overwrites.
const FAKE_AUTH: &str = "authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0\r\n";

/// One HTTP/1.1 request, read to the end.
fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n{FAKE_AUTH}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<BTreeMap<_, _>>();
    let mut body = raw[split..].to_vec();
    if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&raw[..end]).trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
    out
}

/// A rule of the proxy: answer matching requests with `status` instead of forwarding them.
#[derive(Clone)]
struct Fault {
    method: &'static str,
    /// The request path (without query) ends with this.
    path_suffix: String,
    status: u16,
    /// How many matching requests fail; `usize::MAX` for all.
    times: usize,
}

/// An HTTP proxy in front of moto that logs every request (`METHOD /path`) and can fail chosen
/// ones. One request per connection (it answers `connection: close`), which every client
/// handles.
struct Proxy {
    addr: SocketAddr,
    faults: Arc<Mutex<Vec<Fault>>>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let faults: Arc<Mutex<Vec<Fault>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (f, l) = (faults.clone(), log.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let (f, l) = (f.clone(), l.clone());
                std::thread::spawn(move || {
                    let _ = proxy_one(client, upstream, &f, &l);
                });
            }
        });
        Self { addr, faults, log }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn fail(&self, fault: Fault) {
        self.faults.lock().unwrap().push(fault);
    }

    fn heal(&self) {
        self.faults.lock().unwrap().clear();
    }

    fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }
}

fn proxy_one(
    client: TcpStream,
    upstream: SocketAddr,
    faults: &Mutex<Vec<Fault>>,
    log: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        assert!(
            !lower.starts_with("transfer-encoding:"),
            "the test proxy does not handle chunked request bodies"
        );
        if !lower.starts_with("connection:") {
            head.push(line);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let path = target.split('?').next().unwrap_or_default().to_owned();
    log.lock().unwrap().push(format!("{method} {path}"));
    let injected = {
        let mut faults = faults.lock().unwrap();
        faults
            .iter_mut()
            .find(|f| f.method == method && path.ends_with(&f.path_suffix) && f.times > 0)
            .map(|f| {
                f.times = f.times.saturating_sub(1);
                f.status
            })
    };
    let mut client = client;
    if let Some(status) = injected {
        let code = if status == 503 {
            "SlowDown"
        } else {
            "AccessDenied"
        };
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the test</Message></Error>"
        );
        let reply = format!(
            "HTTP/1.1 {status} Injected\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{xml}",
            xml.len()
        );
        return client.write_all(reply.as_bytes());
    }
    let mut up = TcpStream::connect(upstream)?;
    let mut out = request_line.into_bytes();
    for line in head {
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out.extend_from_slice(&body);
    up.write_all(&out)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    client.write_all(&response)
}

// ---------------------------------------------------------------------------------------------
// History on S3

fn s3_config(endpoint: &str, history: &str, target: &str) -> String {
    format!(
        r#"[history]
store = "{history}"

[publish]
target = "{target}"

[s3]
endpoint = "{endpoint}"
region = "us-east-1"
access_key_id = "testing"
secret_access_key = "{SECRET}"
"#
    )
}

fn config(endpoint: &str, history: &str, target: &str) -> Config {
    Config::parse(
        &s3_config(endpoint, history, target),
        Path::new("/nonexistent/upstate.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

fn store(moto: &Moto, prefix: &str) -> S3Store {
    let url = format!("s3://{BUCKET}/{prefix}");
    S3Store::new(&config(&moto.endpoint(), &url, "public"), &url).unwrap()
}

fn record(store: S3Store, at: DateTime<Utc>, state: ComponentState, latency: u64) {
    let mut h = History::open(Box::new(store), retention()).unwrap();
    h.record(
        at,
        &[obs(at, state, latency)],
        &BTreeMap::from([("api".to_owned(), Memory::default())]),
    )
    .unwrap();
    assert!(h.problems().is_empty(), "{:?}", h.problems());
}

#[test]
fn history_on_s3_records_three_runs_and_rolls_them_up() {
    let moto = Moto::start();
    record(
        store(&moto, "h"),
        t("2026-11-20T10:00:00Z"),
        ComponentState::Operational,
        10,
    );
    record(
        store(&moto, "h"),
        t("2026-11-20T10:01:00Z"),
        ComponentState::MajorOutage,
        0,
    );
    record(
        store(&moto, "h"),
        t("2026-11-20T10:03:00Z"),
        ComponentState::Operational,
        30,
    );
    let raw = moto.keys("h/raw/2026-11-20/");
    assert_eq!(raw.len(), 3, "one raw object per run: {raw:?}");
    assert_eq!(
        store(&moto, "h").list("raw").unwrap(),
        raw.iter()
            .map(|k| k.strip_prefix("h/").unwrap().to_owned())
            .collect::<Vec<_>>(),
        "list() gives keys relative to the prefix, sorted"
    );
    assert!(moto.get("h/FORMAT").is_some() && moto.get("h/memory.json").is_some());
    assert!(
        moto.get("h/lock").is_none(),
        "the lock object is deleted when a run ends"
    );

    let mut h = History::open_read_only(Box::new(store(&moto, "h")), retention());
    let day = h
        .day_rollup("api", t("2026-11-20T00:00:00Z").date_naive())
        .unwrap();
    assert_eq!((day.checks, day.failures), (3, 1));
    // Each run stands for the time nearest to it (the time between two runs split halfway).
    assert_eq!(day.seconds.operational, 90.0);
    assert_eq!(day.seconds.major_outage, 90.0);
    assert!((day.seconds.uptime().unwrap() - 90.0 / 180.0).abs() < 1e-9);
    assert_eq!(day.latency.count(), 2);
    let m = h.memory("api");
    assert_eq!(m.last_state, Some(ComponentState::Operational));
    assert_eq!(m.timeline.len(), 3, "operational, down, operational");
    assert!(h.problems().is_empty());

    // Another prefix in the same bucket is another history.
    assert!(store(&moto, "other").list("").unwrap().is_empty());
}

#[test]
fn the_store_works_when_called_from_inside_an_async_runtime() {
    let moto = Moto::start();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // `History` is synchronous; the CLI calls it from async code. That must not panic.
    let read = runtime.block_on(async {
        let s = store(&moto, "async");
        s.put("a/b.json", b"{}").unwrap();
        s.rename("a/b.json", "a/c.json").unwrap();
        s.delete("absent").unwrap();
        (s.get("a/b.json").unwrap(), s.get("a/c.json").unwrap())
    });
    assert_eq!(read, (None, Some(b"{}".to_vec())));
    assert_eq!(moto.keys("async/"), ["async/a/c.json"]);
}

#[test]
fn a_corrupt_memory_object_is_named_and_never_overwritten() {
    let moto = Moto::start();
    record(
        store(&moto, "h"),
        t("2026-11-20T10:00:00Z"),
        ComponentState::Operational,
        10,
    );
    let full = moto.get("h/memory.json").unwrap();
    let truncated = &full[..full.len() / 2];
    moto.put("h/memory.json", truncated);

    let mut h = History::open(Box::new(store(&moto, "h")), retention()).unwrap();
    let problems: Vec<String> = h.problems().iter().map(ToString::to_string).collect();
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("s3://{BUCKET}/h/memory.json cannot be read"))),
        "{problems:?}"
    );
    let at = t("2026-11-20T10:05:00Z");
    h.record(
        at,
        &[obs(at, ComponentState::Operational, 12)],
        &BTreeMap::from([("api".to_owned(), Memory::default())]),
    )
    .unwrap();
    drop(h);
    assert_eq!(
        moto.get("h/memory.json").unwrap(),
        truncated,
        "the unreadable object was left byte for byte"
    );
    assert_eq!(
        moto.keys("h/raw/").len(),
        2,
        "the run's observations were still kept"
    );

    // `repair` moves it aside (copy + delete on S3); the next run starts a fresh memory.
    let mut h = History::open(Box::new(store(&moto, "h")), retention()).unwrap();
    let moved: Vec<String> = h.repair().unwrap().into_iter().map(|r| r.aside).collect();
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert!(moved[0].starts_with("memory.json.unreadable-"));
    drop(h);
    assert_eq!(moto.get(&format!("h/{}", moved[0])).unwrap(), truncated);
    assert!(moto.get("h/memory.json").is_none());
    record(
        store(&moto, "h"),
        t("2026-11-20T10:10:00Z"),
        ComponentState::Operational,
        10,
    );
    assert!(moto.get("h/memory.json").is_some());
}

#[test]
fn a_second_run_waits_for_the_first_to_release_the_lock() {
    let moto = Moto::start();
    let first = History::open(Box::new(store(&moto, "h")), retention()).unwrap();
    assert!(
        moto.get("h/lock").is_some(),
        "the lock is an object in the store"
    );

    let endpoint = moto.endpoint();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let url = format!("s3://{BUCKET}/h");
        let s = S3Store::new(&config(&endpoint, &url, "public"), &url).unwrap();
        let second = History::open(Box::new(s), retention());
        tx.send(Instant::now()).unwrap();
        second.map(drop)
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(2500)).is_err(),
        "the second run got the lock while the first held it"
    );
    let released = Instant::now();
    drop(first);
    let got = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(
        got >= released,
        "the second run got the lock before the release"
    );
    waiter.join().unwrap().unwrap();
    assert!(moto.get("h/lock").is_none());

    // With a short wait, a held lock is an error naming it.
    let _held = History::open(Box::new(store(&moto, "h")), retention()).unwrap();
    let mut impatient = store(&moto, "h");
    impatient.lock_wait = Duration::from_millis(600);
    let err = History::open(Box::new(impatient), retention())
        .err()
        .unwrap();
    assert!(
        matches!(&err, HistoryError::Locked { file } if file == &format!("s3://{BUCKET}/h/lock")),
        "{err}"
    );
}

#[test]
fn a_stale_lock_from_a_dead_run_is_taken_over_and_a_fresh_one_is_not() {
    let moto = Moto::start();
    // A run that died without deleting its lock.
    moto.put("h/lock", br#"{"pid":1}"#);

    let mut fresh = store(&moto, "h");
    fresh.lock_wait = Duration::from_millis(800);
    fresh.stale_after = Duration::from_secs(600);
    assert!(
        matches!(
            History::open(Box::new(fresh), retention()),
            Err(HistoryError::Locked { .. })
        ),
        "a recent lock is respected"
    );

    let mut patient = store(&moto, "h");
    patient.lock_wait = Duration::from_secs(20);
    patient.stale_after = Duration::from_secs(4);
    let start = Instant::now();
    let h = History::open(Box::new(patient), retention()).unwrap();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(1000),
        "taken over only once stale (waited {waited:?})"
    );
    let body = moto.get("h/lock").unwrap();
    assert!(
        String::from_utf8_lossy(&body).contains(&std::process::id().to_string()),
        "the lock now names this run"
    );
    drop(h);
    assert!(moto.get("h/lock").is_none());

    // Two waiters find the same stale lock: the takeover is conditional, so exactly one wins.
    moto.put("h/lock", br#"{"pid":1}"#);
    std::thread::sleep(Duration::from_secs(4));
    let contenders: Vec<_> = (0..2)
        .map(|_| {
            let endpoint = moto.endpoint();
            std::thread::spawn(move || {
                let url = format!("s3://{BUCKET}/h");
                let mut s = S3Store::new(&config(&endpoint, &url, "public"), &url).unwrap();
                // The loser gives up long before the winner's fresh lock could look stale.
                s.stale_after = Duration::from_secs(3);
                s.lock_wait = Duration::from_secs(1);
                History::open(Box::new(s), retention())
            })
        })
        .collect();
    let results: Vec<_> = contenders.into_iter().map(|c| c.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "one winner, one Locked: {:?}",
        results
            .iter()
            .map(|r| r.as_ref().err().map(ToString::to_string))
            .collect::<Vec<_>>()
    );
}

/// Issue 16: a run that holds the lock for longer than `stale_after` (a slow git publish, a
/// hanging notification receiver) keeps it fresh, so no other run takes over a live lock.
#[test]
fn r16_a_live_lock_held_past_stale_after_is_never_taken_over() {
    let moto = Moto::start();
    let mut slow = store(&moto, "h");
    slow.stale_after = Duration::from_secs(2);
    let held = History::open(Box::new(slow), retention()).unwrap();
    // Held well past `stale_after`, as through a slow publish.
    std::thread::sleep(Duration::from_secs(5));
    let mut next = store(&moto, "h");
    next.stale_after = Duration::from_secs(2);
    next.lock_wait = Duration::from_secs(2);
    let taken = History::open(Box::new(next), retention());
    assert!(
        matches!(taken, Err(HistoryError::Locked { .. })),
        "a live lock was taken over"
    );
    drop(held);
    assert!(moto.get("h/lock").is_none(), "released when dropped");
}

// ---------------------------------------------------------------------------------------------
// Publishing

fn sha(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

fn site_config(endpoint: &str, closed: u16) -> String {
    format!(
        "[site]\ntitle = \"S3 test\"\nbase_url = \"https://status.test\"\n\n[run]\ntimeout = \"1s\"\n\n{}\n[[component]]\nid = \"db\"\nlabel = \"Database\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{closed}\"\n",
        s3_config(
            endpoint,
            &format!("s3://{BUCKET}/history"),
            &format!("s3://{BUCKET}/site")
        )
    )
}

/// Every file of the last build (`.upstate/site`), by path.
fn built(site: &TestSite) -> BTreeMap<String, Vec<u8>> {
    upstate::publish::folder::files(&site.path().join(".upstate/site")).unwrap()
}

/// Every published object under `site/` except the manifest, by site path.
fn published(moto: &Moto) -> BTreeMap<String, Vec<u8>> {
    moto.keys("site/")
        .into_iter()
        .map(|k| k.strip_prefix("site/").unwrap().to_owned())
        .filter(|p| p != MANIFEST)
        .map(|p| {
            let bytes = moto.get(&format!("site/{p}")).unwrap();
            (p, bytes)
        })
        .collect()
}

fn manifest(moto: &Moto) -> BTreeMap<String, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(&moto.get(&format!("site/{MANIFEST}")).unwrap()).unwrap();
    serde_json::from_value(doc["files"].clone()).unwrap()
}

/// `upstate run --json`: exit code, summary, all output (checked for the secret).
fn run(site: &TestSite) -> (Option<i32>, serde_json::Value, String) {
    let out = site.cmd(&["run", "--json"]);
    let all = text(&out);
    assert!(!all.contains(SECRET), "the secret key was printed:\n{all}");
    let summary = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), summary, all)
}

fn changed(old: &BTreeMap<String, Vec<u8>>, new: &BTreeMap<String, Vec<u8>>) -> usize {
    new.iter()
        .filter(|(p, bytes)| old.get(*p) != Some(*bytes))
        .count()
}

#[test]
fn run_publishes_to_s3_with_headers_incrementally_and_fails_cleanly_without_it() {
    let mut moto = Moto::start();
    let site = TestSite::new(&site_config(&moto.endpoint(), closed_port()));

    // First run: everything is new.
    let (code, summary, all) = run(&site);
    assert_eq!(code, Some(0), "{all}");
    let first = built(&site);
    let files = summary["files"].as_u64().unwrap() as usize;
    assert_eq!(files, first.len());
    assert_eq!(summary["written"], files, "{summary}");
    assert_eq!(summary["deleted"], 0);
    assert_eq!(summary["published_to"], format!("s3://{BUCKET}/site"));
    assert_eq!(
        published(&moto),
        first,
        "the bucket holds exactly the built site"
    );
    assert_eq!(
        manifest(&moto),
        first.iter().map(|(p, b)| (p.clone(), sha(b))).collect(),
        "the manifest proves every file"
    );
    assert_eq!(moto.keys("history/raw/").len(), 1, "history went to S3 too");

    // Content type and cache policy on every object, as a CDN would see them.
    for path in first.keys() {
        let head = moto.head(&format!("site/{path}"));
        assert_eq!(head.status, 200, "{path}");
        let (content_type, cache) = upstate::publish::cache_policy(path);
        assert_eq!(head.header("content-type"), Some(content_type), "{path}");
        assert_eq!(head.header("cache-control"), Some(cache), "{path}");
    }
    let status = moto.head("site/status.json");
    assert_eq!(status.header("cache-control"), Some("no-store"));
    assert_eq!(status.header("content-type"), Some("application/json"));
    let index = moto.head("site/index.html");
    assert_eq!(
        index.header("cache-control"),
        Some("public, max-age=30, must-revalidate")
    );
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );

    // Second run, nothing changed but the time: only what differs goes up again.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, summary, all) = run(&site);
    assert_eq!(code, Some(0), "{all}");
    let second = built(&site);
    let expected = changed(&first, &second);
    assert!(
        expected > 0 && expected < second.len(),
        "{expected} of {}",
        second.len()
    );
    assert_eq!(summary["written"], expected, "{summary}");
    assert_eq!(summary["deleted"], 0);
    assert_eq!(published(&moto), second);

    // An incident adds pages; removing it again deletes them from the bucket.
    let new = site.cmd(&[
        "new",
        "incident",
        "Database failover",
        "--components",
        "db",
        "--severity",
        "major",
    ]);
    assert!(new.status.success(), "{}", text(&new));
    let (code, summary, all) = run(&site);
    assert_eq!(code, Some(0), "{all}");
    let third = built(&site);
    assert_eq!(summary["written"], changed(&second, &third), "{summary}");
    let added: Vec<&String> = third.keys().filter(|p| !second.contains_key(*p)).collect();
    assert!(!added.is_empty(), "the incident has pages of its own");
    for entry in std::fs::read_dir(site.path().join("incidents")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    let (code, summary, all) = run(&site);
    assert_eq!(code, Some(0), "{all}");
    let fourth = built(&site);
    let gone = third.keys().filter(|p| !fourth.contains_key(*p)).count();
    assert!(gone >= added.len(), "{gone} < {}", added.len());
    assert_eq!(summary["deleted"], gone, "{summary}");
    assert_eq!(summary["written"], changed(&third, &fourth), "{summary}");
    assert_eq!(
        published(&moto),
        fourth,
        "deleted pages are gone from the bucket"
    );
    let (_, _, all) = run(&site);
    assert!(!all.contains(SECRET));

    // The server goes away: the run fails with exit 1, names the store, prints no secret.
    moto.kill();
    let start = Instant::now();
    let (code, _, all) = run(&site);
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains(&format!("s3://{BUCKET}/history")), "{all}");
    assert!(start.elapsed() < Duration::from_secs(60), "bounded retries");
    // `publish` of the last build names the target.
    let out = site.cmd(&["publish"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(&format!("publishing to s3://{BUCKET}/site failed")),
        "{all}"
    );
    assert!(!all.contains(SECRET), "{all}");
}

#[test]
fn a_publish_failing_half_way_keeps_the_old_page_and_the_next_run_completes_it() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.addr);
    let site = TestSite::new(&site_config(&proxy.endpoint(), closed_port()));

    let (code, _, all) = run(&site);
    assert_eq!(code, Some(0), "{all}");
    let first = built(&site);
    // Upload order on the wire: assets, other pages, status.json, api/, index.html, manifest.
    let puts: Vec<String> = proxy
        .take_log()
        .into_iter()
        .filter_map(|l| {
            l.strip_prefix(&format!("PUT /{BUCKET}/site/"))
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(puts.len(), first.len() + 1, "{puts:?}");
    let rank = |p: &str| match p {
        _ if p.starts_with("assets/") => 0,
        "status.json" => 2,
        _ if p.starts_with("api/") => 3,
        "index.html" => 4,
        _ if p == MANIFEST => 5,
        _ => 1,
    };
    let ranks: Vec<u8> = puts.iter().map(|p| rank(p)).collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "uploads out of order: {puts:?}"
    );
    assert!(ranks.contains(&0) && ranks.contains(&3), "{puts:?}");
    let old_index = moto.get("site/index.html").unwrap();
    let old_manifest = manifest(&moto);

    // status.json is refused (not retried: 403); assets and pages before it went up.
    proxy.fail(Fault {
        method: "PUT",
        path_suffix: "/site/status.json".into(),
        status: 403,
        times: usize::MAX,
    });
    std::thread::sleep(Duration::from_millis(1100));
    let (code, _, all) = run(&site);
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.contains(&format!("publishing to s3://{BUCKET}/site failed")),
        "{all}"
    );
    let second = built(&site);
    assert_ne!(
        second["index.html"], old_index,
        "the new page differs, so the check below means something"
    );
    assert_eq!(
        moto.get("site/index.html").unwrap(),
        old_index,
        "readers still get the whole old page"
    );
    assert_eq!(
        manifest(&moto),
        old_manifest,
        "the manifest still describes what it can prove"
    );
    let log = proxy.take_log();
    assert!(
        !log.iter().any(|l| l.ends_with("/site/index.html")),
        "the front page is never sent before status.json: {log:?}"
    );

    // The failure is gone: the next run uploads everything the old manifest cannot vouch for.
    proxy.heal();
    std::thread::sleep(Duration::from_millis(1100));
    let (code, summary, all) = run(&site);
    assert_eq!(code, Some(0), "{all}");
    let third = built(&site);
    let unproven = third
        .iter()
        .filter(|(p, b)| old_manifest.get(*p) != Some(&sha(b)))
        .count();
    assert_eq!(summary["written"], unproven, "{summary}");
    assert_eq!(published(&moto), third);
    assert_eq!(
        manifest(&moto),
        third.iter().map(|(p, b)| (p.clone(), sha(b))).collect()
    );
}

fn write_site(dir: &Path, files: &[(&str, Vec<u8>)]) {
    let _ = std::fs::remove_dir_all(dir);
    for (path, bytes) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

#[test]
fn large_files_go_up_in_parts_and_throttling_is_retried() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.addr);
    let config = config(&proxy.endpoint(), "history", &format!("s3://{BUCKET}/big/"));
    let target = S3Target::new(&config).unwrap();
    assert_eq!(target.name(), format!("s3://{BUCKET}/big"));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    // 20 MiB of varied bytes: three parts of at most 8 MiB.
    let big: Vec<u8> = (0..20 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write_site(
        &site,
        &[
            ("assets/data.bin", big.clone()),
            ("index.html", b"<!doctype html><title>x</title>".to_vec()),
            ("status.json", b"{}".to_vec()),
            ("old.html", b"old".to_vec()),
        ],
    );
    // Two throttled answers on status.json: retried with backoff, the publish still succeeds.
    proxy.fail(Fault {
        method: "PUT",
        path_suffix: "/big/status.json".into(),
        status: 503,
        times: 2,
    });
    let report = runtime.block_on(target.publish(&site)).unwrap();
    assert_eq!(
        (report.uploaded, report.deleted, report.unchanged),
        (4, 0, 0)
    );
    let log = proxy.take_log();
    assert_eq!(
        log.iter()
            .filter(|l| *l == &format!("PUT /{BUCKET}/big/status.json"))
            .count(),
        3,
        "two throttled attempts and one that went through: {log:?}"
    );
    assert_eq!(moto.get("big/assets/data.bin").unwrap(), big);
    let head = moto.head("big/assets/data.bin");
    let etag = head
        .header("etag")
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    assert!(
        etag.ends_with("-3"),
        "a 3-part multipart upload, ETag {etag}"
    );
    assert_eq!(
        head.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(head.header("cache-control"), Some("public, max-age=300"));

    // Nothing changed: nothing is sent but the manifest.
    let report = runtime.block_on(target.publish(&site)).unwrap();
    assert_eq!(
        (report.uploaded, report.deleted, report.unchanged),
        (0, 0, 4)
    );
    let puts: Vec<String> = proxy
        .take_log()
        .into_iter()
        .filter(|l| l.starts_with("PUT ") || l.starts_with("POST "))
        .collect();
    assert_eq!(puts, [format!("PUT /{BUCKET}/big/{MANIFEST}")]);

    // A file removed from the site is deleted; an object changed behind our back (same hash in
    // the manifest, other size in the bucket) is uploaded again.
    moto.put(
        "big/index.html",
        b"tampered, and longer than before..........",
    );
    write_site(
        &site,
        &[
            ("assets/data.bin", big),
            ("index.html", b"<!doctype html><title>x</title>".to_vec()),
            ("status.json", b"{}".to_vec()),
        ],
    );
    let report = runtime.block_on(target.publish(&site)).unwrap();
    assert_eq!(
        (report.uploaded, report.deleted, report.unchanged),
        (1, 1, 2)
    );
    assert!(moto.get("big/old.html").is_none());
    assert_eq!(
        moto.get("big/index.html").unwrap(),
        b"<!doctype html><title>x</title>"
    );
    assert!(
        !manifest_at(&moto, "big").contains_key("old.html"),
        "the manifest forgets deleted files"
    );

    // A target that refuses every write fails with the target's name and no secret.
    proxy.fail(Fault {
        method: "PUT",
        path_suffix: "status.json".into(),
        status: 403,
        times: usize::MAX,
    });
    write_site(&site, &[("status.json", b"{\"changed\":1}".to_vec())]);
    let err = runtime
        .block_on(target.publish(&site))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(&format!("publishing to s3://{BUCKET}/big failed:")),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
}

fn manifest_at(moto: &Moto, prefix: &str) -> BTreeMap<String, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(&moto.get(&format!("{prefix}/{MANIFEST}")).unwrap()).unwrap();
    serde_json::from_value(doc["files"].clone()).unwrap()
}

#[test]
fn s3_urls_with_credentials_are_refused_without_printing_them() {
    let site = TestSite::new(&format!(
        "[publish]\ntarget = \"s3://AKIAEXAMPLE:{SECRET}@bucket/site\"\n"
    ));
    let out = site.cmd(&["run"]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    // Shown as redacted URLs are: scheme and host (the bucket) only.
    assert!(all.contains("publishing to s3://bucket failed"), "{all}");
    assert!(!all.contains(SECRET), "{all}");
    assert!(!all.contains("AKIAEXAMPLE"), "{all}");
}

/// Three regions probing from their own runners, all writing to the shared S3 store; one render
/// job merges them. One region partitioned: not down. Two failing: down. One silent: stale.
#[test]
fn three_regions_on_s3_merge_by_majority_and_a_silent_region_is_stale() {
    let moto = Moto::start();
    let endpoint = moto.endpoint();
    let http = common::http_server();
    let dead = closed_port();
    let store = format!("s3://{BUCKET}/shared");
    let runner = |healthy: bool| {
        let url = if healthy {
            format!("http://{http}/ok")
        } else {
            format!("http://127.0.0.1:{dead}/ok")
        };
        TestSite::new(&format!(
            "{}\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"{url}\"\n",
            s3_config(&endpoint, &store, "public")
        ))
    };
    let probe = |site: &TestSite, region: &str| {
        let out = site.cmd(&["probe", "--region", region, "--out", &store]);
        assert!(out.status.success(), "{}", text(&out));
    };
    let render = runner(true);
    let merged_with = |code: i32| {
        let out = render.cmd(&["run", "--merge"]);
        assert_eq!(out.status.code(), Some(code), "{}", text(&out));
        assert!(!text(&out).contains(SECRET));
        let c = render.status_json()["components"][0].clone();
        (
            c["state"].as_str().unwrap().to_owned(),
            c["detail"].as_str().unwrap().to_owned(),
        )
    };
    let merged = || merged_with(0);
    let (eu, us, ap) = (runner(true), runner(true), runner(false));
    probe(&eu, "eu");
    probe(&us, "us");
    probe(&ap, "ap");
    assert_eq!(moto.keys("shared/regions/").len(), 3);
    let (state, detail) = merged();
    assert_eq!(
        state, "degraded",
        "one partitioned region of three is not an outage: {detail}"
    );
    probe(&runner(false), "us");
    let (state, detail) = merged();
    assert_eq!(state, "down", "{detail}");
    assert!(detail.starts_with("Down from 2 of 3 regions."), "{detail}");
    // ap goes silent: its report is an hour old.
    probe(&us, "us");
    let key = "shared/regions/ap/shard-1-of-1.json";
    let mut report: serde_json::Value = serde_json::from_slice(&moto.get(key).unwrap()).unwrap();
    let hour_ago = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    report["at"] = hour_ago.clone().into();
    report["observations"][0]["at"] = hour_ago.into();
    moto.put(key, &serde_json::to_vec(&report).unwrap());
    // A silent region needs attention: exit 3 (the run names it).
    let (state, detail) = merged_with(3);
    assert_eq!(state, "operational", "{detail}");
    assert!(
        detail.contains("ap: stale, last report 60 min ago"),
        "{detail}"
    );
}

/// The storage probe's bucket form: put + get + delete of a small object, and an honest failure.
#[test]
fn storage_probe_checks_a_bucket() {
    let moto = Moto::start();
    let site = TestSite::new(&format!(
        "{}\n[[component]]\nid = \"media\"\nlabel = \"Media\"\nkind = \"storage\"\nbucket = \"s3://{BUCKET}/health\"\n\n[[component]]\nid = \"missing\"\nlabel = \"Missing\"\nkind = \"storage\"\nbucket = \"s3://no-such-bucket-upstate/health\"\n",
        s3_config(&moto.endpoint(), "local-history", "public")
    ));
    let out = site.cmd(&["probe", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a missing bucket is down: {}",
        text(&out)
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(rows[0]["state"], "operational", "{rows:#}");
    assert!(
        rows[0]["detail"]
            .as_str()
            .unwrap()
            .starts_with("Put, get and delete in ")
    );
    assert_eq!(rows[1]["state"], "major_outage", "{rows:#}");
    assert!(
        rows[1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("Bucket check failed"),
        "{rows:#}"
    );
    assert!(
        moto.keys("health/").is_empty(),
        "the probe cleans up after itself"
    );
    assert!(!text(&out).contains(SECRET));
}
