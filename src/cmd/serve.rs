//! `upstate serve`: preview the built site on loopback and rebuild it when the config,
//! incidents, content or theme change. For writing postmortems and themes; production is a CDN.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::Exit;

/// Newest modification time under the watched paths. Links are not followed (a link loop in
/// `static/` would otherwise be walked forever); a link's own time counts, so adding or
/// changing one still triggers a rebuild.
fn newest_change(paths: &[PathBuf]) -> Option<SystemTime> {
    paths
        .iter()
        .flat_map(|p| walkdir::WalkDir::new(p).follow_links(false))
        .flatten()
        .filter_map(|entry| entry.metadata().ok()?.modified().ok())
        .max()
}

pub async fn run(config_path: &Path, port: u16) -> Exit {
    let Some(config) = super::load_config(config_path) else {
        return Exit::Invalid;
    };
    let base = config.base_dir();
    let watched = vec![
        config_path.to_path_buf(),
        base.join("incidents"),
        base.join("content"),
        base.join("themes"),
    ];
    let site = upstate::pipeline::output_dir(&config);
    let build = |path: PathBuf| tokio::task::spawn_blocking(move || super::build::run(&path));
    let _ = build(config_path.to_path_buf()).await;
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{port}: {e}");
            return Exit::Fatal;
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    out!(
        "Serving {} at http://{addr}/ (Ctrl-C to stop); rebuilding on changes.",
        site.display()
    );
    let config_path = config_path.to_path_buf();
    tokio::spawn(async move {
        let mut seen = newest_change(&watched);
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = newest_change(&watched);
            if now != seen {
                seen = now;
                out!("Change seen; rebuilding.");
                let _ = build(config_path.clone()).await;
            }
        }
    });
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let site = site.clone();
        tokio::spawn(async move { serve_one(stream, &site).await });
    }
}

async fn serve_one(mut stream: tokio::net::TcpStream, site: &Path) {
    let mut buf = vec![0u8; 8192];
    let Ok(n) = stream.read(&mut buf).await else {
        return;
    };
    let head = String::from_utf8_lossy(buf.get(..n).unwrap_or_default()).into_owned();
    let path = head
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .split(['?', '#'])
        .next()
        .unwrap_or("/")
        .to_owned();
    // Only plain relative paths inside the site: no `..`, no absolute escapes.
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() || rel.ends_with('/') {
        format!("{rel}index.html")
    } else {
        rel.to_owned()
    };
    let safe = !rel
        .split('/')
        .any(|part| part == ".." || part.contains('\\'));
    let file = site.join(&rel);
    let (status, body, kind) = match (safe, tokio::fs::read(&file).await) {
        (true, Ok(bytes)) => ("200 OK", bytes, upstate::publish::cache_policy(&rel).0),
        _ => (
            "404 Not Found",
            b"not found".to_vec(),
            "text/plain; charset=utf-8",
        ),
    };
    let header = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(header.as_bytes()).await;
    let _ = stream.write_all(&body).await;
}
