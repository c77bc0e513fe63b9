//! `upstate serve`: preview the built site and rebuild it when the config, incidents, content,
//! static files or theme change. For writing postmortems and themes; production is a CDN.
//!
//! Serving is tower-http's `ServeDir` behind axum (percent-decoded paths, `..` refused, content
//! types from the file extension, ranges and conditional requests), and watching is the `notify`
//! crate (inotify, FSEvents, ReadDirectoryChangesW), as mdBook does: a preview server is exactly
//! the kind of HTTP and file-watching code we should not maintain by hand.
//!
//! It stays in the main binary rather than behind a cargo feature: axum (without its default
//! features) and tower-http sit on the hyper, tower and http crates reqwest already brings, so the
//! cost is a handful of small crates, and a feature that CI never builds without would rot.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::http::{HeaderValue, header};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Exit;

/// The folders under the site folder whose changes change the site.
const INPUT_DIRS: [&str; 4] = ["incidents", "content", "static", "themes"];

/// An editor's save is several events (write, rename, chmod); one rebuild follows once the
/// folders have been quiet this long.
const QUIET: Duration = Duration::from_millis(200);

pub async fn run(config_path: &Path, bind: IpAddr, port: u16) -> Exit {
    let Some(config) = super::load_config(config_path) else {
        return Exit::Invalid;
    };
    let site = upstate::pipeline::output_dir(&config);
    let _ = rebuild(config_path).await;
    let listener = match tokio::net::TcpListener::bind((bind, port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "error: cannot listen on {}: {e}",
                SocketAddr::new(bind, port)
            );
            return Exit::Fatal;
        }
    };
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::new(bind, port));
    let watch = match Watch::start(config_path, &config.base_dir()) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("error: cannot watch the site folder: {e}");
            return Exit::Fatal;
        }
    };
    if !bind.is_loopback() {
        eprintln!(
            "warning: serving on {bind}, not loopback: anyone who can reach this address can read the preview."
        );
    }
    out!(
        "Serving {} at http://{addr}/ (Ctrl-C to stop); rebuilding on changes.",
        site.display()
    );
    tokio::spawn(watch.rebuild_on_changes(config_path.to_path_buf()));
    let app = axum::Router::new()
        .fallback_service(ServeDir::new(&site))
        .layer(axum::middleware::from_fn(hide_plumbing))
        // A preview must show the latest build, never a cached one.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    let stopped = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    match stopped {
        Ok(()) => Exit::Success,
        Err(e) => {
            eprintln!("error: serving {addr} failed: {e}");
            Exit::Fatal
        }
    }
}

/// The build folder's plumbing (its marker, its cache, which holds parsed incident files, private
/// ones excluded) is not part of the site: the preview never serves it, however it is spelled.
async fn hide_plumbing(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = percent_encoding::percent_decode_str(request.uri().path()).decode_utf8_lossy();
    // Lower-cased: a case-insensitive file system (macOS) serves `.UPSTATE-CACHE` too.
    let path = path.to_ascii_lowercase();
    if path.split(['/', '\\']).any(upstate::site::is_plumbing) {
        return axum::response::IntoResponse::into_response(axum::http::StatusCode::NOT_FOUND);
    }
    next.run(request).await
}

/// Builds the site off the async threads (rendering is CPU work); errors are printed by `build`.
async fn rebuild(config_path: &Path) -> Exit {
    let path = config_path.to_path_buf();
    tokio::task::spawn_blocking(move || super::build::run(&path))
        .await
        .unwrap_or(Exit::Fatal)
}

/// The file watcher and the events it sends.
struct Watch {
    /// Kept alive: dropping it stops the events.
    watcher: notify::RecommendedWatcher,
    events: mpsc::UnboundedReceiver<notify::Result<notify::Event>>,
    /// The config file, absolute.
    config: PathBuf,
    /// The site folder, absolute.
    base: PathBuf,
    /// Input folders watched so far (one that does not exist yet is watched once created).
    watched: Vec<PathBuf>,
}

impl Watch {
    /// Watches the site folder itself (not recursively: the config file, which editors replace
    /// by renaming, and input folders appearing) and each input folder that exists, recursively.
    /// The output and history folders are never watched, so a build does not trigger a build.
    fn start(config_path: &Path, base: &Path) -> notify::Result<Self> {
        let base = std::fs::canonicalize(base)?;
        let config = match config_path.file_name() {
            Some(name) => base.join(name),
            None => config_path.to_path_buf(),
        };
        let (sender, events) = mpsc::unbounded_channel();
        let mut watcher = notify::recommended_watcher(move |event| {
            // The receiver is gone only when serve is stopping.
            let _ = sender.send(event);
        })?;
        watcher.watch(&base, RecursiveMode::NonRecursive)?;
        let mut watch = Self {
            watcher,
            events,
            config,
            base,
            watched: Vec::new(),
        };
        watch.watch_new_input_dirs();
        Ok(watch)
    }

    /// Starts watching input folders that exist and are not watched yet.
    fn watch_new_input_dirs(&mut self) {
        for name in INPUT_DIRS {
            let dir = self.base.join(name);
            if self.watched.contains(&dir) || !dir.is_dir() {
                continue;
            }
            match self.watcher.watch(&dir, RecursiveMode::Recursive) {
                Ok(()) => self.watched.push(dir),
                Err(e) => eprintln!("warning: cannot watch {}: {e}", dir.display()),
            }
        }
    }

    /// Whether `event` changes an input of the build. Reads (the build's own) are not changes.
    fn changes_the_site(&self, event: &notify::Event) -> bool {
        let changes = matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any
        );
        changes
            && event.paths.iter().any(|path| {
                *path == self.config
                    || INPUT_DIRS
                        .iter()
                        .any(|name| path.starts_with(self.base.join(name)))
            })
    }

    /// Forgets the watch of an input folder that was removed (a `git checkout` can replace a
    /// whole folder), so that the folder is watched again once it is back.
    fn forget_removed(&mut self, event: &notify::Event) {
        if event.kind.is_remove() {
            self.watched.retain(|dir| !event.paths.contains(dir));
        }
    }

    /// Rebuilds after each burst of changes, until the watcher stops.
    async fn rebuild_on_changes(mut self, config_path: PathBuf) {
        while let Some(event) = self.events.recv().await {
            match event {
                Ok(event) if self.changes_the_site(&event) => self.forget_removed(&event),
                Ok(_) => continue,
                Err(e) => {
                    eprintln!("warning: watching the site folder: {e}");
                    continue;
                }
            }
            loop {
                match tokio::time::timeout(QUIET, self.events.recv()).await {
                    Ok(Some(Ok(event))) => self.forget_removed(&event),
                    Ok(Some(Err(_))) => {}
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
            self.watch_new_input_dirs();
            out!("Change seen; rebuilding.");
            let _ = rebuild(&config_path).await;
        }
    }
}
