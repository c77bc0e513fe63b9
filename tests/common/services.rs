//! Real PostgreSQL and Redis for tests. The machine's services are used when they run; otherwise
//! the helpers try to start them, and fail with a message naming the package to install.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

fn reachable(addr: &str) -> bool {
    addr.parse()
        .ok()
        .is_some_and(|a| TcpStream::connect_timeout(&a, Duration::from_millis(500)).is_ok())
}

fn wait_for(addr: &str) -> bool {
    for _ in 0..100 {
        if reachable(addr) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// `postgres://postgres@127.0.0.1:5432/test` (trust auth), started if needed.
pub fn postgres_url() -> String {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if !reachable("127.0.0.1:5432") {
            let _ = Command::new("sh")
                .arg("-c")
                .arg("pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
                .status();
            assert!(
                wait_for("127.0.0.1:5432"),
                "PostgreSQL is not running on 127.0.0.1:5432 and could not be started: apt-get install postgresql"
            );
        }
    });
    std::env::var("UPSTATE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `redis://127.0.0.1:6379`, started if needed.
pub fn redis_url() -> String {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        if !reachable("127.0.0.1:6379") {
            let _ = Command::new("redis-server")
                .args(["--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"])
                .status();
            assert!(wait_for("127.0.0.1:6379"), "Redis is not running on 127.0.0.1:6379 and could not be started: apt-get install redis-server");
        }
    });
    "redis://127.0.0.1:6379".to_owned()
}

/// A private PostgreSQL cluster with password (SCRAM) authentication, for wrong-password tests
/// (the machine's server trusts every local connection). Returns `(port, password)`; the
/// cluster lives until the test process exits.
pub fn password_postgres() -> (u16, String) {
    static CLUSTER: OnceLock<(u16, String)> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let bin = std::fs::read_dir("/usr/lib/postgresql")
                .ok()
                .and_then(|mut d| d.next())
                .and_then(Result::ok)
                .map(|e| e.path().join("bin"))
                .expect("PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql");
            stop_stale_clusters(&bin);
            let dir = tempfile::Builder::new().prefix("upstate-pg-").tempdir().unwrap().keep();
            let data = dir.join("data");
            let pwfile = dir.join("pw");
            let password = "s3cret-Test-Passw0rd".to_owned();
            std::fs::write(&pwfile, &password).unwrap();
            let port = super::closed_port();
            let as_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
            let run = |args: Vec<String>| {
                let mut cmd = if as_root {
                    let _ = Command::new("chown").args(["-R", "postgres", dir.to_str().unwrap()]).status();
                    let mut c = Command::new("runuser");
                    c.args(["-u", "postgres", "--"]);
                    c
                } else {
                    Command::new(&args[0])
                };
                if as_root {
                    cmd.args(&args);
                } else {
                    cmd.args(&args[1..]);
                }
                let out = cmd.output().unwrap();
                assert!(out.status.success(), "{:?} failed: {}", args, String::from_utf8_lossy(&out.stderr));
            };
            let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777));
            run(vec![
                bin.join("initdb").display().to_string(),
                "-D".into(),
                data.display().to_string(),
                "-U".into(),
                "app".into(),
                "--auth=scram-sha-256".into(),
                format!("--pwfile={}", pwfile.display()),
            ]);
            let sock: PathBuf = dir.clone();
            run(vec![
                bin.join("pg_ctl").display().to_string(),
                "-D".into(),
                data.display().to_string(),
                "-l".into(),
                dir.join("log").display().to_string(),
                "-o".into(),
                format!("-p {port} -k {} -c listen_addresses=127.0.0.1", sock.display()),
                "-w".into(),
                "start".into(),
            ]);
            assert!(wait_for(&format!("127.0.0.1:{port}")), "private PostgreSQL did not start");
            (port, password)
        })
        .clone()
}

/// Clusters from earlier test processes (a test binary has no teardown hook) are stopped and
/// removed, so at most one outlives a test run.
fn stop_stale_clusters(bin: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if !path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("upstate-pg-"))
        {
            continue;
        }
        // Only clusters whose postmaster is not this process's own (started moments ago) remain.
        let data = path.join("data");
        let stop = |mut c: Command| {
            let _ = c
                .args([
                    "-D",
                    data.to_str().unwrap_or_default(),
                    "-m",
                    "immediate",
                    "stop",
                ])
                .output();
        };
        let pg_ctl = bin.join("pg_ctl");
        if Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false)
        {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            stop(c);
        } else {
            stop(Command::new(&pg_ctl));
        }
        let _ = std::fs::remove_dir_all(&path);
    }
}
