//! Shared test helpers: real local servers, real PostgreSQL and Redis, the binary, sites in
//! temporary folders. Nothing here mocks a protocol: servers speak real HTTP/TCP on loopback.

pub mod history_fixtures;
pub mod kinds;
pub mod receiver;
pub mod services;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

/// The `upstate` binary under test.
pub fn upstate() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_upstate"));
    cmd.env_remove("UPSTATE_LOG")
        .env_remove("RUST_LOG")
        .env_remove("UPSTATE_CONFIG")
        .env_remove("UPSTATE_NOW");
    cmd
}

/// stdout + stderr of a finished command, as text.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A site in a temporary folder.
pub struct TestSite {
    pub dir: tempfile::TempDir,
}

impl TestSite {
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("upstate.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("incidents")).unwrap();
        Self { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config(&self) -> PathBuf {
        self.dir.path().join("upstate.toml")
    }

    pub fn incident(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join("incidents").join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs `upstate <args> --config <this site>`.
    pub fn cmd(&self, args: &[&str]) -> Output {
        upstate()
            .args(args)
            .arg("--config")
            .arg(self.config())
            .output()
            .unwrap()
    }

    pub fn public(&self, path: &str) -> PathBuf {
        self.dir.path().join("public").join(path)
    }

    pub fn read_public(&self, path: &str) -> String {
        std::fs::read_to_string(self.public(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    pub fn status_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.read_public("status.json")).unwrap()
    }

    /// Every file under public/ with its content (lossy text).
    pub fn all_public_files(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.path().join("public")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    let rel = p
                        .strip_prefix(self.dir.path().join("public"))
                        .unwrap()
                        .display()
                        .to_string();
                    out.push((
                        rel,
                        String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned(),
                    ));
                }
            }
        }
        out
    }
}

/// Validates `status.json` against Upstate's schema (docs/status.schema.json), and, with the
/// additive keys taken out (those our schema has and the contract has not), against the seed
/// contract exactly (the copy in tests/fixtures, kept equal to ../shared/reference by
/// `contracts_match_shared`): additions never break the contract.
pub fn assert_status_schema(doc: &serde_json::Value) {
    let ours = include_str!("../../../docs/status.schema.json");
    let contract = include_str!("../../fixtures/contracts/status.schema.json");
    assert_valid(ours, doc);
    // Keys of the document (`[]`) or of each item of one of its lists (`["components"]`).
    let properties_at = |schema: &str, list: Option<&str>| -> Vec<String> {
        let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
        let object = match list {
            None => &schema["properties"],
            Some(list) => &schema["properties"][list]["items"]["properties"],
        };
        object
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    };
    let properties = |schema: &str| properties_at(schema, None);
    let in_contract = properties(contract);
    let mut contract_view = doc.clone();
    if let Some(object) = contract_view.as_object_mut() {
        for key in properties(ours) {
            if !in_contract.contains(&key) {
                object.remove(&key);
            }
        }
        // The same inside each component and incident (`observed`; public incidents' `id`,
        // `title`, `url`, `components`).
        for list in ["components", "incidents"] {
            let in_contract = properties_at(contract, Some(list));
            let added: Vec<String> = properties_at(ours, Some(list))
                .into_iter()
                .filter(|k| !in_contract.contains(k))
                .collect();
            if let Some(serde_json::Value::Array(items)) = object.get_mut(list) {
                for item in items
                    .iter_mut()
                    .filter_map(serde_json::Value::as_object_mut)
                {
                    for key in &added {
                        item.remove(key);
                    }
                }
            }
        }
    }
    assert_valid(contract, &contract_view);
}

fn assert_valid(schema: &str, doc: &serde_json::Value) {
    let schema: serde_json::Value = serde_json::from_str(schema).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "status.json violates {}:\n{}\n{doc:#}",
        schema["$id"],
        errors.join("\n")
    );
}

/// A loopback HTTP/1.1 server answering by path:
/// `/ok` 200 "ok", `/fail` 500, `/json` {"status":"ok","db":{"up":true}}, `/wrong` 200 "nope",
/// `/loop` a redirect to itself, `/big` an endless body, `/slow` answers after 10 s.
pub fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve_http(stream));
        }
    });
    addr
}

fn serve_http(mut stream: TcpStream) {
    let mut buf = [0u8; 4096];
    let mut req = Vec::new();
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&req);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let reply = |status: &str, body: &str| {
        format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    };
    let response = match path.as_str() {
        "/ok" => reply("200 OK", "ok"),
        "/fail" => reply("500 Internal Server Error", "boom"),
        "/json" => reply("200 OK", r#"{"status":"ok","db":{"up":true}}"#),
        "/wrong" => reply("200 OK", "nope"),
        "/loop" => "HTTP/1.1 302 Found\r\nlocation: /loop\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
        "/big" => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
            let chunk = vec![b'x'; 64 * 1024];
            for _ in 0..(16 * 1024) {
                if stream.write_all(&chunk).is_err() {
                    return;
                }
            }
            return;
        }
        "/slow" => {
            thread::sleep(Duration::from_secs(10));
            reply("200 OK", "ok")
        }
        _ => reply("404 Not Found", "no"),
    };
    let _ = stream.write_all(response.as_bytes());
}

/// A server that accepts connections and never says anything.
pub fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream); // keep it open, say nothing
        }
    });
    addr
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Runs `git args` in `dir` as `name <email>` (a fixed identity and default branch, no prompt)
/// and returns its trimmed stdout; fails the test, with git's output, when git fails.
pub fn git_as(name: &str, email: &str, dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .arg("-c")
        .arg(format!("user.name={name}"))
        .arg("-c")
        .arg(format!("user.email={email}"))
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?} in {}: {}",
        dir.display(),
        text(&out)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
