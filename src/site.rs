//! The output folder's shape, shared by `render` (which writes it) and `publish` (which ships
//! it): the files in a folder, the marker of a folder upstate built, and the cache policy that
//! S3 uploads use per object and the `_headers` file states for Netlify- and Cloudflare-Pages-
//! style hosts. A leaf module, so render never depends on publish.

use std::path::Path;

/// The file that marks a folder as written by upstate.
pub const MARKER: &str = ".upstate-build";

/// The build folder's private cache (the render manifest, parsed inputs): it makes the next
/// build faster and is never part of the published site.
pub const CACHE_DIR: &str = ".upstate-cache";

/// Whether a path of the build folder is upstate's plumbing (the marker, the cache), which no
/// publisher ships and no build removes as stale.
pub fn is_plumbing(rel: &str) -> bool {
    rel == MARKER
        || rel
            .strip_prefix(CACHE_DIR)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Identifies the running `upstate` binary to the caches it writes: a digest of its version, the
/// executable's size and modification time (read once, at first use) and a random key kept
/// outside the site folder ([`cache_key`]).
///
/// Why keyed: the caches hold sanitised HTML and rendered pages that later builds publish as
/// they are. A cache committed by a pull request (under the build folder, or anywhere a build
/// might copy it) must never be trusted, and version, size and time alone can be read off a
/// public release or image. Without the key, nobody can write a cache this machine accepts.
pub fn program_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        use sha2::Digest as _;
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| std::fs::metadata(p).ok())
            .map(|m| {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{}:{mtime}", m.len())
            })
            .unwrap_or_else(|| "unknown".to_owned());
        let mut id = sha2::Sha256::new();
        id.update(format!("{} {exe}\n", env!("CARGO_PKG_VERSION")));
        id.update(cache_key());
        hex::encode(id.finalize())
    })
    .clone()
}

/// 32 random bytes kept in the user's cache folder (`$XDG_CACHE_HOME/upstate/cache-key`, else
/// `~/.cache/upstate/cache-key`), outside any repository a pull request can write to. Where
/// there is none, a fresh key for this process: the caches are then never reused, which costs
/// time, never correctness.
fn cache_key() -> Vec<u8> {
    let folder = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|home| std::path::PathBuf::from(home).join(".cache"))
                .filter(|p| p.is_absolute())
        })
        .map(|p| p.join("upstate"));
    let fresh = || {
        let mut key = vec![0u8; 32];
        // No randomness from the OS (never seen on Linux): the process id and the time, a key
        // of another length, which no later process reads back, so no cache is ever reused.
        if getrandom::fill(&mut key).is_err() {
            key = std::process::id().to_le_bytes().to_vec();
            key.extend(format!("{:?}", std::time::SystemTime::now()).into_bytes());
        }
        key
    };
    let Some(folder) = folder else {
        return fresh();
    };
    let path = folder.join("cache-key");
    if let Ok(key) = std::fs::read(&path)
        && key.len() == 32
    {
        return key;
    }
    let key = fresh();
    let kept = std::fs::create_dir_all(&folder).and_then(|()| write_cache_file(&path, &key));
    if let Err(e) = kept {
        tracing::debug!(file = %path.display(), error = %e, "Cache key not kept; caches will not be reused.");
    }
    key
}

/// A cache file (or folder) of the build folder `dir`, named `name` inside [`CACHE_DIR`], when `dir` is
/// upstate's own (it has the [`MARKER`]): the cache is never written into a folder that a
/// build would refuse.
pub fn cache_file(dir: &Path, name: &str) -> Option<std::path::PathBuf> {
    dir.join(MARKER)
        .is_file()
        .then(|| dir.join(CACHE_DIR).join(name))
}

/// The mode of a site file: what `std::fs::write` gives a new file (0666, less the umask).
pub fn readable_file() -> std::fs::Permissions {
    mode(0o666)
}

/// The mode of a site folder: what `std::fs::create_dir` gives (0777, less the umask).
pub fn readable_dir() -> std::fs::Permissions {
    mode(0o777)
}

/// Unix permission bits (upstate runs on Linux and macOS runners; folder publishing relies on
/// POSIX renames and hard links anyway).
fn mode(bits: u32) -> std::fs::Permissions {
    std::os::unix::fs::PermissionsExt::from_mode(bits)
}

/// Cache files earlier versions kept in the build folder's cache, now unused.
const OLD_CACHE_FILES: [&str; 4] = [
    "markdown.json",
    "incidents.json",
    "incidents.bin",
    "render-manifest.json",
];

/// Removes the cache files of earlier versions from the build folder `dir` (tens of megabytes
/// on a large site that no build reads any more). Best effort: one left behind is only space.
pub fn forget_old_caches(dir: &Path) {
    for name in OLD_CACHE_FILES {
        let _ = std::fs::remove_file(dir.join(CACHE_DIR).join(name));
    }
}

/// Writes a cache file through a renamed temporary file, so a reader never sees half of one.
pub fn write_cache_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".upstate-")
        .tempfile_in(parent)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The relative `/` paths of every file under `dir`, without reading them. Links are listed
/// as files, never followed: a link (or a loop) in the output folder is not upstate's, and
/// removing a stale one must remove the link, not walk into what it points at.
///
/// The build folder's cache is not walked (its files are plumbing, never the site's, and it
/// holds the previously published site: thousands of files no caller wants listed).
pub fn files_list(dir: &Path) -> std::io::Result<Vec<String>> {
    walk_files(dir, true)
}

/// [`files_list`] with nothing left out, a cache folder included: for a folder every entry of
/// which must be accounted for (the previously published site, before it is served again).
pub fn every_file(dir: &Path) -> std::io::Result<Vec<String>> {
    walk_files(dir, false)
}

fn walk_files(dir: &Path, skip_cache: bool) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| !(skip_cache && e.depth() == 1 && e.file_name() == CACHE_DIR));
    for entry in walk {
        let entry = entry?;
        if entry.file_type().is_dir() {
            continue;
        }
        if let Ok(rel) = entry.path().strip_prefix(dir) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(out)
}

/// `(content type, cache-control)` for a site path.
pub fn cache_policy(path: &str) -> (&'static str, &'static str) {
    let ext = path.rsplit('.').next().unwrap_or_default();
    let content_type = match ext {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "rss" => "application/rss+xml; charset=utf-8",
        "atom" => "application/atom+xml; charset=utf-8",
        "ics" => "text/calendar; charset=utf-8",
        "xml" => "application/xml; charset=utf-8",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    let cache = if path == "status.json" || path.starts_with("api/") {
        "no-store"
    } else if path.starts_with("assets/") && is_fingerprinted(path) {
        "public, max-age=31536000, immutable"
    } else if ext == "html" {
        "public, max-age=30, must-revalidate"
    } else {
        "public, max-age=300"
    };
    (content_type, cache)
}

/// `name.0123456789ab.ext`: a content hash in the name, so the file can be cached forever.
fn is_fingerprinted(path: &str) -> bool {
    let parts: Vec<&str> = path
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .split('.')
        .collect();
    parts.len() >= 3
        && parts
            .get(parts.len() - 2)
            .is_some_and(|h| h.len() >= 8 && h.chars().all(|c| c.is_ascii_hexdigit()))
}

/// The `_headers` file (Netlify / Cloudflare Pages syntax) from [`cache_policy`].
pub fn headers_file() -> String {
    let rules = [
        ("/status.json", "status.json"),
        ("/api/*", "api/x.json"),
        ("/*.html", "index.html"),
        ("/", "index.html"),
        ("/assets/js/*", "assets/js/app.js"),
    ];
    let mut out = String::new();
    for (pattern, sample) in rules {
        let (_, cache) = cache_policy(sample);
        out.push_str(&format!(
            "{pattern}\n  Cache-Control: {cache}\n  X-Content-Type-Options: nosniff\n"
        ));
        if sample.ends_with(".json") {
            out.push_str("  Access-Control-Allow-Origin: *\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_json_is_never_cached_and_fingerprinted_assets_are() {
        assert_eq!(
            cache_policy("status.json"),
            ("application/json", "no-store")
        );
        assert_eq!(
            cache_policy("assets/app.0123abcd.css").1,
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            cache_policy("index.html").1,
            "public, max-age=30, must-revalidate"
        );
        assert!(headers_file().contains("/status.json\n  Cache-Control: no-store"));
    }

    #[test]
    fn plumbing_is_the_marker_and_the_cache_folder() {
        assert!(is_plumbing(".upstate-build"));
        assert!(is_plumbing(".upstate-cache/render-manifest.bin"));
        assert!(!is_plumbing(".upstate-cachefile"));
        assert!(!is_plumbing("index.html"));
    }
}
