//! Publishing the built site: one [`Target`] trait, one file per target.
//!
//! Every target shares [`cache_policy`]: `status.json` is never cached (pollers must see the
//! latest), HTML briefly, fingerprinted assets for good. The same table becomes the `_headers`
//! file that Netlify- and Cloudflare-Pages-style hosts read.

pub mod folder;
pub mod git;
pub mod guard;
pub mod s3;

use std::path::Path;

use crate::config::Config;
use crate::probe::BoxFuture;

/// What a publish did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PublishReport {
    /// Files written because they are new or changed.
    pub uploaded: usize,
    /// Files removed because the new site no longer has them.
    pub deleted: usize,
    /// Files left as they were.
    pub unchanged: usize,
}

/// Publishing failures; each names the target (never its credentials) and the reason.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("publishing to {target} failed: {reason}")]
    Failed { target: String, reason: String },
    #[error("`[publish] target = {target}` is not supported yet: {reason}")]
    Unsupported { target: String, reason: String },
}

/// A place the site goes.
pub trait Target: Send + Sync {
    /// A display name without credentials.
    fn name(&self) -> String;
    /// Publishes the folder `site`; the published site stays consistent if this fails.
    fn publish<'a>(&'a self, site: &'a Path) -> BoxFuture<'a, Result<PublishReport, PublishError>>;
}

/// The target configured in `[publish] target`.
pub fn target(config: &Config) -> Result<Box<dyn Target>, PublishError> {
    let raw = config.publish.target.expose();
    if raw.starts_with("git+") {
        return Ok(Box::new(git::GitTarget::new(raw, &config.base_dir())?));
    }
    if raw.starts_with("s3://") {
        return Ok(Box::new(s3::S3Target::new(config)?));
    }
    // Checked again on the real path, links resolved: the folder is swapped out whole.
    guard::check_place(config, "target").map_err(|e| PublishError::Failed {
        target: config.resolve(raw).display().to_string(),
        reason: format!("{e}; {}", e.help()),
    })?;
    Ok(Box::new(folder::FolderTarget::new(config.resolve(raw))))
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
}
