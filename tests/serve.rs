//! `upstate serve`: serves the built site on loopback and rebuilds when incidents change.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{TestSite, closed_port};

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes())
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

struct Kill(std::process::Child);
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn serves_the_site_and_rebuilds_when_an_incident_is_added() {
    let site = TestSite::new(&format!(
        "[[component]]\nid = \"db\"\nlabel = \"DB\"\nkind = \"tcp\"\naddress = \"127.0.0.1:{}\"\n",
        closed_port()
    ));
    let port = closed_port();
    let _server = Kill(
        common::upstate()
            .args(["serve", "--port", &port.to_string(), "--config"])
            .arg(site.config())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let index = loop {
        if let Some(r) = get(port, "/") {
            break r;
        }
        assert!(Instant::now() < deadline, "serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(index.starts_with("HTTP/1.1 200 OK"), "{index}");
    assert!(
        index.contains("Not observed yet."),
        "built from (empty) history without probing"
    );
    assert!(
        get(port, "/../upstate.toml")
            .unwrap()
            .starts_with("HTTP/1.1 404"),
        "no way out of the site folder"
    );
    site.incident(
        "2026-11-20-outage.md",
        "---\ntitle: Database outage\nseverity: major\nstatus: resolved\ncomponents: [db]\ndiscovered_at: 2026-11-20T10:00:00Z\nresolved_at: 2026-11-20T11:00:00Z\n---\n",
    );
    loop {
        let page = get(port, "/incidents/2026-11-20-outage.html").unwrap_or_default();
        if page.starts_with("HTTP/1.1 200") {
            assert!(page.contains("Database outage"));
            break;
        }
        assert!(Instant::now() < deadline, "the new incident was not built");
        std::thread::sleep(Duration::from_millis(200));
    }
}
