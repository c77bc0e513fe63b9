//! Parsed incident files and rendered Markdown, remembered in the build folder's cache
//! (`.upstate-cache/`) between builds.
//!
//! Why: a scheduled run of a site with 10,000 incident files changed none of them, yet reading
//! their YAML front matter and turning their Markdown into sanitised HTML was a third of a
//! rebuild. Both are pure functions of the file's text (and, for the front matter, the
//! component ids it is checked against), so they are cached by a digest of exactly that. Only
//! successes are cached: a file with errors is parsed, and reported, every time; so is a private
//! incident, whose text stays out of the cache. A cache from another format or another `upstate`
//! binary is ignored; so is one that cannot be read.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{Incident, IncidentError};

/// Bumped whenever what is cached, or how it is keyed, changes.
const FORMAT: u32 = 1;

/// What a cache file holds: entries by hex digest of their inputs.
#[derive(Serialize, Deserialize)]
struct CacheFile<T> {
    format: u32,
    program: String,
    entries: HashMap<String, T>,
}

fn load<T: serde::de::DeserializeOwned>(path: Option<&Path>) -> HashMap<String, T> {
    path.and_then(|p| std::fs::read(p).ok())
        .and_then(|bytes| serde_json::from_slice::<CacheFile<T>>(&bytes).ok())
        .filter(|f| f.format == FORMAT && f.program == crate::site::program_id())
        .map(|f| f.entries)
        .unwrap_or_default()
}

/// Saves `entries` to `path`. A cache that cannot be written costs the next build time, never
/// correctness, so the failure is logged and the build goes on.
fn save<T: Serialize>(path: Option<&Path>, entries: HashMap<String, T>) {
    let Some(path) = path else { return };
    let file = CacheFile {
        format: FORMAT,
        program: crate::site::program_id(),
        entries,
    };
    let written = serde_json::to_vec(&file)
        .map_err(std::io::Error::other)
        .and_then(|bytes| crate::site::write_cache_file(path, &bytes));
    if let Err(e) = written {
        tracing::warn!(file = %path.display(), error = %e, "Cache not saved; the next build parses again.");
    }
}

/// Parsed incident files by (path, text, known component ids).
pub struct ParseCache {
    path: Option<PathBuf>,
    known: HashMap<String, Incident>,
    /// Entries used or added by this build: what the saved cache keeps.
    next: HashMap<String, Incident>,
    /// Something was added or dropped since it was loaded.
    changed: bool,
}

impl ParseCache {
    /// The cache at `path` (`None`: no cache, everything is parsed).
    pub fn open(path: Option<PathBuf>) -> Self {
        let known = load(path.as_deref());
        Self {
            path,
            known,
            next: HashMap::new(),
            changed: false,
        }
    }

    /// [`super::parse`], or the result of an earlier parse of the very same input.
    pub(super) fn parse(
        &mut self,
        path: &Path,
        text: &str,
        known: &[&str],
        ids_digest: &[u8],
    ) -> Result<Incident, Vec<IncidentError>> {
        let mut hasher = Sha256::new();
        for part in [
            path.to_string_lossy().as_bytes(),
            text.as_bytes(),
            ids_digest,
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        let key = hex::encode(hasher.finalize());
        if let Some(hit) = self.known.remove(&key) {
            self.next.insert(key, hit.clone());
            return Ok(hit);
        }
        let parsed = super::parse(path, text, known)?;
        // A private incident's title and body never leave the repository: not even into a
        // cache file, which a site served straight from its build folder would publish.
        if !parsed.private {
            self.next.insert(key, parsed.clone());
            self.changed = true;
        }
        Ok(parsed)
    }

    /// Saves what this build used, when it differs from what was loaded.
    pub fn save(self) {
        if self.changed || !self.known.is_empty() {
            save(self.path.as_deref(), self.next);
        }
    }
}

/// A digest of the component ids incidents are checked against.
pub(super) fn ids_digest(known: &[&str]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    for id in known {
        hasher.update((id.len() as u64).to_le_bytes());
        hasher.update(id.as_bytes());
    }
    hasher.finalize().to_vec()
}

/// Sanitised HTML of Markdown, by digest of the Markdown ([`super::markdown::to_safe_html`]).
#[derive(Default)]
pub struct MarkdownCache {
    path: Option<PathBuf>,
    known: HashMap<String, String>,
    /// Used or added by this build; behind a lock so the model can borrow the cache shared.
    next: Mutex<(HashMap<String, String>, bool)>,
}

impl MarkdownCache {
    /// The cache at `path` (`None`: no cache, every text is rendered).
    pub fn open(path: Option<PathBuf>) -> Self {
        let known = load(path.as_deref());
        Self {
            path,
            known,
            next: Mutex::new((HashMap::new(), false)),
        }
    }

    /// Sanitised HTML of `markdown`.
    pub fn html(&self, markdown: &str) -> String {
        let key = hex::encode(Sha256::digest(markdown.as_bytes()));
        let Ok(mut next) = self.next.lock() else {
            // A panic elsewhere poisoned the lock: render without the cache.
            return super::markdown::to_safe_html(markdown);
        };
        if let Some(hit) = next.0.get(&key) {
            return hit.clone();
        }
        let html = match self.known.get(&key) {
            Some(hit) => hit.clone(),
            None => {
                next.1 = true;
                super::markdown::to_safe_html(markdown)
            }
        };
        next.0.insert(key, html.clone());
        html
    }

    /// Saves what this build used, when it differs from what was loaded.
    pub fn save(self) {
        let Ok((next, added)) = self.next.into_inner() else {
            return;
        };
        let used: HashSet<&String> = next.keys().collect();
        let dropped = self.known.keys().any(|k| !used.contains(k));
        if added || dropped {
            save(self.path.as_deref(), next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parse_is_reused_only_for_the_same_text_and_ids_and_errors_are_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("incidents.json");
        let text = "---\ntitle: Down\nkind: incident\nseverity: major\nstatus: resolved\ncomponents: [api]\nimpact: major_outage\ndiscovered_at: 2026-11-02T14:05:00Z\nresolved_at: 2026-11-02T15:00:00Z\n---\nBody\n";
        let path = Path::new("incidents/2026-11-02-down.md");
        let ids = ids_digest(&["api"]);
        let mut c = ParseCache::open(Some(cache.clone()));
        let first = c.parse(path, text, &["api"], &ids).unwrap();
        assert!(
            c.parse(path, "---\ntitle: [\n---\n", &["api"], &ids)
                .is_err()
        );
        let private = text.replace("title: Down", "title: Down\nprivate: true");
        assert!(c.parse(path, &private, &["api"], &ids).unwrap().private);
        c.save();

        let mut c = ParseCache::open(Some(cache.clone()));
        assert_eq!(c.known.len(), 1, "only the public success is cached");
        assert_eq!(c.parse(path, text, &["api"], &ids).unwrap(), first);
        // Another set of ids: checked again (here: `api` is no longer a component).
        let other = ids_digest(&["web"]);
        assert!(c.parse(path, text, &["web"], &other).is_err());
    }

    #[test]
    fn markdown_is_rendered_once_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("markdown.json");
        let c = MarkdownCache::open(Some(path.clone()));
        assert_eq!(c.html("*hi*"), "<p><em>hi</em></p>\n");
        c.save();
        let c = MarkdownCache::open(Some(path));
        assert_eq!(c.known.len(), 1);
        assert_eq!(c.html("*hi*"), "<p><em>hi</em></p>\n");
    }
}
