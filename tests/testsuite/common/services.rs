//! Real PostgreSQL and Redis for tests. The machine's services are used when they run; otherwise
//! the helpers try to start them, and fail with a message naming the package to install.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
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
            let password = "s3cret-Test-Passw0rd".to_owned();
            let (port, _) = private_cluster(&["--auth=scram-sha-256"], Some(&password), None);
            (port, password)
        })
        .clone()
}

/// A private PostgreSQL cluster with `ssl = on` and a certificate for 127.0.0.1 issued by a test
/// CA. Returns `(port, path of the CA's PEM)`; connect as `app` without a password.
pub fn tls_postgres() -> (u16, PathBuf) {
    static CLUSTER: OnceLock<(u16, PathBuf)> = OnceLock::new();
    CLUSTER
        .get_or_init(|| {
            let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            ca_params
                .distinguished_name
                .push(rcgen::DnType::CommonName, "upstate test CA");
            let ca_key = rcgen::KeyPair::generate().unwrap();
            let ca = ca_params.self_signed(&ca_key).unwrap();
            let mut leaf_params =
                rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
            leaf_params
                .subject_alt_names
                .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
            let leaf_key = rcgen::KeyPair::generate().unwrap();
            let issuer = rcgen::Issuer::new(ca_params, ca_key);
            let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
            let (port, dir) = private_cluster(
                &["--auth=trust"],
                None,
                Some((leaf.pem(), leaf_key.serialize_pem())),
            );
            let ca_path = dir.join("ca.pem");
            std::fs::write(&ca_path, ca.pem()).unwrap();
            (port, ca_path)
        })
        .clone()
}

/// initdb + pg_ctl start of a cluster owned by `postgres` (when run as root), on a free port.
fn private_cluster(
    initdb_args: &[&str],
    password: Option<&str>,
    tls: Option<(String, String)>,
) -> (u16, PathBuf) {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .ok()
        .and_then(|mut d| d.next())
        .and_then(Result::ok)
        .map(|e| e.path().join("bin"))
        .expect("PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql");
    stop_stale_clusters(&bin);
    let dir = tempfile::Builder::new()
        .prefix("upstate-pg-")
        .tempdir()
        .unwrap()
        .keep();
    std::fs::write(dir.join("owner"), std::process::id().to_string()).unwrap();
    let data = dir.join("data");
    let port = super::closed_port();
    let as_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    let run = |args: Vec<String>| {
        let mut cmd = if as_root {
            let _ = Command::new("chown")
                .args(["-R", "postgres", dir.to_str().unwrap()])
                .status();
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]);
            c.args(&args);
            c
        } else {
            let mut c = Command::new(&args[0]);
            c.args(&args[1..]);
            c
        };
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{:?} failed: {}",
            args,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let _ = std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o777));
    let mut init = vec![
        bin.join("initdb").display().to_string(),
        "-D".into(),
        data.display().to_string(),
        "-U".into(),
        "app".into(),
    ];
    init.extend(initdb_args.iter().map(|a| (*a).to_owned()));
    if let Some(pw) = password {
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, pw).unwrap();
        init.push(format!("--pwfile={}", pwfile.display()));
    }
    run(init);
    let mut options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1",
        dir.display()
    );
    if let Some((cert, key)) = tls {
        let (cert_path, key_path) = (dir.join("server.crt"), dir.join("server.key"));
        std::fs::write(&cert_path, cert).unwrap();
        std::fs::write(&key_path, key).unwrap();
        std::fs::set_permissions(
            &key_path,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .unwrap();
        options.push_str(&format!(
            " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
            cert_path.display(),
            key_path.display()
        ));
    }
    run(vec![
        bin.join("pg_ctl").display().to_string(),
        "-D".into(),
        data.display().to_string(),
        "-l".into(),
        dir.join("log").display().to_string(),
        "-o".into(),
        options,
        "-w".into(),
        "start".into(),
    ]);
    assert!(
        wait_for(&format!("127.0.0.1:{port}")),
        "private PostgreSQL did not start"
    );
    (port, dir)
}

/// Clusters of test processes that have ended (a test binary has no teardown hook) are stopped
/// and removed, so at most one outlives a test run; a running suite's are never touched.
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
        // Clusters of a test process still running (this one, or another suite run beside it)
        // stay; those of processes that have ended go.
        let owner = std::fs::read_to_string(path.join("owner")).unwrap_or_default();
        let owner = owner.trim();
        if !owner.is_empty() && Path::new("/proc").join(owner).exists() {
            continue;
        }
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
