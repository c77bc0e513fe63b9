//! `upstate serve`: serves the built site on loopback with the right content types, refuses paths
//! out of the site, and rebuilds when incidents or static files change.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{TestSite, closed_port};

/// A response as the server sent it.
struct Response {
    status: u16,
    /// The head, lower-cased.
    head: String,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key == name).then(|| value.trim())
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `GET <path>` written byte for byte (no client normalises `..` or percent-escapes away).
fn get(addr: SocketAddr, path: &str) -> Response {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nhost: preview\r\nconnection: close\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    Response {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

/// Polls `path` until `done` holds; the wait is bounded, its length is never asserted.
fn wait_for(addr: SocketAddr, path: &str, what: &str, done: impl Fn(&Response) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if done(&get(addr, path)) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `upstate serve --port 0` on a site, killed when dropped.
struct Server {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts serve and reads the address it prints.
    fn start(site: &TestSite) -> Self {
        let mut child = common::upstate()
            .args(["serve", "--port", "0", "--config"])
            .arg(site.config())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, received) = mpsc::channel();
        // Keeps draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let mut server = Self {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        loop {
            let line = received
                .recv_timeout(Duration::from_secs(60))
                .expect("serve printed its address");
            if let Some(rest) = line.split_once(" at http://").map(|(_, r)| r) {
                let addr = rest.split('/').next().unwrap();
                server.addr = addr.parse().unwrap();
                break;
            }
        }
        std::thread::spawn(move || while received.recv().is_ok() {});
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The 8-byte PNG signature and an IHDR chunk: enough to be a PNG by its name and its bytes.
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn site() -> TestSite {
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"db\"\nlabel = \"DB\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{}\"\n",
        closed_port()
    ));
    std::fs::create_dir_all(site.path().join("static")).unwrap();
    std::fs::write(site.path().join("static/team logo.png"), PNG).unwrap();
    site
}

fn incident(title: &str) -> String {
    format!(
        "---\ntitle: {title}\nseverity: major\nstatus: resolved\ncomponents: [db]\ndiscovered_at: 2026-11-20T10:00:00Z\nresolved_at: 2026-11-20T11:00:00Z\n---\n"
    )
}

#[test]
fn serves_on_loopback_with_content_types_and_decoded_paths() {
    let site = site();
    let server = Server::start(&site);
    assert_eq!(
        server.addr.ip(),
        std::net::Ipv4Addr::LOCALHOST,
        "loopback unless --bind says otherwise"
    );

    let index = get(server.addr, "/");
    assert_eq!(index.status, 200, "{}", index.head);
    assert_eq!(index.header("content-type"), Some("text/html"));
    assert!(
        index.text().contains("<span class=\"st\">No data</span>"),
        "built from (empty) history without probing"
    );
    assert_eq!(index.header("cache-control"), Some("no-store"));

    let logo = get(server.addr, "/team%20logo.png");
    assert_eq!(
        logo.status, 200,
        "a percent-encoded path is decoded: {}",
        logo.head
    );
    assert_eq!(logo.header("content-type"), Some("image/png"));
    assert_eq!(logo.body, PNG);

    let json = get(server.addr, "/status.json");
    assert_eq!(json.header("content-type"), Some("application/json"));
}

#[test]
fn no_path_leads_out_of_the_site() {
    let site = site();
    let server = Server::start(&site);
    // The output folder is .upstate/site, so the config is two levels up.
    for path in [
        "/../upstate.toml",
        "/../../upstate.toml",
        "/%2e%2e/%2e%2e/upstate.toml",
        "/..%2f..%2fupstate.toml",
        "/.%2e/.%2e/upstate.toml",
        "/..\\..\\upstate.toml",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
    ] {
        let r = get(server.addr, path);
        assert!(
            matches!(r.status, 400 | 404),
            "{path} answered {}",
            r.status
        );
        assert!(
            !r.text().contains("[[component]]"),
            "{path} read the config"
        );
        assert!(!r.text().contains("root:"), "{path} read /etc/passwd");
    }
}

#[test]
fn the_build_folders_marker_and_cache_are_never_served() {
    let site = site();
    site.incident(
        "2026-11-20-private.md",
        &format!(
            "{}private: true\n---\nBody.\n",
            incident("Secret vendor name").trim_end_matches("---\n")
        ),
    );
    site.incident("2026-11-21-public.md", &incident("Public outage"));
    // A first build marks the folder as upstate's; the server's build keeps its cache there.
    common::upstate()
        .args(["build", "--config"])
        .arg(site.config())
        .output()
        .unwrap();
    let server = Server::start(&site);
    let cache = site.path().join(".upstate/site/.upstate-cache");
    assert!(cache.join("render-manifest.bin").is_file());
    // Whichever shard holds the public incident.
    let shard = std::fs::read_dir(cache.join("incidents"))
        .unwrap()
        .next()
        .expect("a shard of parsed incidents")
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    for path in [
        "/.upstate-build".to_owned(),
        "/.upstate-cache/render-manifest.bin".to_owned(),
        format!("/.upstate-cache/incidents/{shard}"),
        format!("/%2eupstate-cache/incidents/{shard}"),
        format!("/./.upstate-cache/incidents/{shard}"),
        format!("/.upstate-cache%2fincidents%2f{shard}"),
    ] {
        let r = get(server.addr, &path);
        assert!(
            matches!(r.status, 400 | 404),
            "{path} answered {}",
            r.status
        );
    }
}

#[test]
fn rebuilds_when_an_incident_is_edited_or_a_static_file_added() {
    let site = site();
    site.incident("2026-11-20-outage.md", &incident("Database outage"));
    let server = Server::start(&site);
    let page = "/incidents/2026-11-20-outage.html";
    let first = get(server.addr, page);
    assert_eq!(first.status, 200, "{}", first.head);
    assert!(first.text().contains("Database outage"));

    site.incident(
        "2026-11-20-outage.md",
        &incident("Database failover stalled"),
    );
    wait_for(
        server.addr,
        page,
        "the edited incident was not rebuilt",
        |r| r.text().contains("Database failover stalled"),
    );

    site.incident("2026-11-21-second.md", &incident("Queue backlog"));
    wait_for(
        server.addr,
        "/incidents/2026-11-21-second.html",
        "a new incident was not built",
        |r| r.status == 200 && r.text().contains("Queue backlog"),
    );

    std::fs::write(site.path().join("static/added later.txt"), "hello").unwrap();
    wait_for(
        server.addr,
        "/added%20later.txt",
        "a file added to static/ was not copied",
        |r| r.status == 200 && r.body == b"hello",
    );

    // A checkout can replace a whole folder: the new one is watched as the old one was.
    std::fs::remove_dir_all(site.path().join("incidents")).unwrap();
    wait_for(server.addr, page, "a removed incident stayed", |r| {
        r.status == 404
    });
    std::fs::create_dir(site.path().join("incidents")).unwrap();
    site.incident("2026-11-22-third.md", &incident("Folder replaced"));
    wait_for(
        server.addr,
        "/incidents/2026-11-22-third.html",
        "an incident in the new folder was not built",
        |r| r.status == 200,
    );
    site.incident("2026-11-22-third.md", &incident("Edited in the new folder"));
    wait_for(
        server.addr,
        "/incidents/2026-11-22-third.html",
        "an edit in the new folder was not seen",
        |r| r.text().contains("Edited in the new folder"),
    );
}
