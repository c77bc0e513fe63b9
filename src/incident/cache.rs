//! Parsed incident files, remembered in the build folder's cache (`.upstate-cache/`) between
//! builds.
//!
//! Why: a scheduled build of a site with 10,000 incident files changed none of them, yet
//! reading each file, its YAML front matter and turning its Markdown into sanitised HTML was
//! most of a rebuild. A parse is a pure function of the file's path, its text and the component
//! ids it is checked against ([`source_digest`]), so it is remembered under the file's path with
//! that digest, and with the file's stamp (size, modification and change times, inode):
//!
//! - a file whose stamp is unchanged is not even read (when the caller needs no text);
//! - a file whose stamp changed but whose text did not (a `touch`, a fresh checkout) is read,
//!   found unchanged and not parsed.
//!
//! A stamp is only trusted when it was recorded well after the file's last change: a file
//! rewritten within the file system's clock tick keeps its times, and such a file must be read
//! (git's "racily clean" rule). Only successes are cached: a file with errors is parsed, and
//! reported, every time; so is a private incident, whose text stays out of the cache. A cache
//! from another format or another `upstate` binary is ignored, as is one that cannot be read.
//!
//! The file is `postcard`, not JSON: 10,000 parsed incidents with their HTML are tens of
//! megabytes, and decoding them as JSON cost more than the rest of a rebuild.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::Incident;

/// Bumped whenever what is cached, or how it is keyed, changes.
const FORMAT: u32 = 3;

/// How long after a file's last change its stamp is trusted: well over any file system's
/// timestamp granularity.
const SETTLED: Duration = Duration::from_secs(2);

/// What identifies a file's current content without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    inode: u64,
}

impl Stamp {
    /// The stamp of the plain file at `path` (never through a link), if it has settled. Take
    /// it before reading the file: a change after that leaves the stamp stale, so it is caught
    /// by the next build.
    pub fn of(path: &Path) -> Option<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::symlink_metadata(path).ok()?;
        if !meta.file_type().is_file() {
            return None;
        }
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        let stamp = Self {
            len: meta.len(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
        let settled = i128::try_from(SETTLED.as_nanos()).unwrap_or(i128::MAX);
        let newest = stamp.mtime_ns.max(stamp.ctime_ns);
        (now - newest >= settled).then_some(stamp)
    }
}

/// One remembered file.
#[derive(Serialize, Deserialize)]
struct Entry {
    /// The file when it was last read; `None` when it had not settled (read it again).
    stamp: Option<Stamp>,
    incident: Incident,
}

/// [`Entry`], borrowed, for saving (the same encoding).
#[derive(Serialize, Clone, Copy)]
struct EntryRef<'a> {
    stamp: Option<Stamp>,
    incident: &'a Incident,
}

/// How many files the cache is split into, by a digest of each incident file's path: editing
/// one incident rewrites one shard (a few hundred entries), not the whole cache.
const SHARDS: usize = 32;

/// One shard of the cache, `<cache>/NN.bin`.
#[derive(Serialize, Deserialize)]
struct CacheFile<E> {
    format: u32,
    program: String,
    /// [`ids_digest`] of the component ids the entries were checked against.
    ids: Vec<u8>,
    /// By file path as walked.
    files: HashMap<String, E>,
}

/// The shard of the file at `key` (its path as walked).
fn shard_of(key: &str) -> usize {
    usize::from(crate::digest::of_parts([key.as_bytes()])[0]) % SHARDS
}

/// Parsed incident files by path, stamp and (path, text, known component ids).
pub struct ParseCache {
    /// The cache's folder; `None`: no cache.
    dir: Option<PathBuf>,
    /// Loaded and not used yet.
    known: HashMap<String, Entry>,
    /// Per shard, the component ids its entries were checked against (`None`: none loaded).
    shard_ids: Vec<Option<Vec<u8>>>,
    /// The files this build parsed or reused, with their stamps: what the saved cache keeps.
    used: HashMap<String, Option<Stamp>>,
    /// The component ids this build checked against (what the saved cache is keyed by).
    ids: Option<Vec<u8>>,
    /// Per shard: an entry was added, re-stamped or dropped since it was loaded.
    changed: Vec<bool>,
}

impl ParseCache {
    /// The cache in the folder `dir` (`None`: no cache, everything is read and parsed).
    pub fn open(dir: Option<PathBuf>) -> Self {
        let mut known = HashMap::new();
        let mut shard_ids = vec![None; SHARDS];
        if dir.is_none() {
            return Self::with_loaded(dir, known, shard_ids);
        }
        // Decoding 10,000 parsed incidents was a third of a build that changed nothing: the
        // shards are read and decoded on every core.
        let numbers: Vec<usize> = (0..SHARDS).collect();
        let shards = crate::parallel::map(&numbers, crate::parallel::threads(), |n| {
            dir.as_deref()
                .and_then(|d| std::fs::read(d.join(format!("{n:02}.bin"))).ok())
                .and_then(|bytes| postcard::from_bytes::<CacheFile<Entry>>(&bytes).ok())
                .filter(|f| f.format == FORMAT && f.program == crate::site::program_id())
        });
        for ((n, ids), shard) in shard_ids.iter_mut().enumerate().zip(shards) {
            if let Some(shard) = shard {
                // An entry filed under another shard was not written by this code: ignored.
                known.extend(shard.files.into_iter().filter(|(k, _)| shard_of(k) == n));
                *ids = Some(shard.ids);
            }
        }
        Self::with_loaded(dir, known, shard_ids)
    }

    /// A cache in `dir` holding what was loaded (`known`, `shard_ids`), nothing used yet.
    fn with_loaded(
        dir: Option<PathBuf>,
        known: HashMap<String, Entry>,
        shard_ids: Vec<Option<Vec<u8>>>,
    ) -> Self {
        Self {
            dir,
            known,
            shard_ids,
            used: HashMap::new(),
            ids: None,
            changed: vec![false; SHARDS],
        }
    }

    /// The incident at `path` as an earlier build parsed it, when the file provably has not
    /// changed since (same stamp, checked against the same component ids): no need to read it.
    pub(super) fn unchanged(
        &mut self,
        path: &Path,
        stamp: Option<Stamp>,
        ids_digest: &[u8],
    ) -> Option<Incident> {
        self.ids.get_or_insert_with(|| ids_digest.to_vec());
        let key = path.to_string_lossy();
        if self.shard_ids[shard_of(&key)].as_deref() != Some(ids_digest) {
            return None;
        }
        let entry = self.known.get(key.as_ref())?;
        if stamp.is_none() || entry.stamp != stamp {
            return None;
        }
        let entry = self.known.remove(key.as_ref())?;
        self.used.insert(key.into_owned(), entry.stamp);
        Some(entry.incident)
    }

    /// Whether an earlier parse of the very same input (the file at `path` with the text and
    /// component ids that `source` digests) is remembered: then [`ParseCache::reuse`] gives it.
    /// Asked on several threads at once (it changes nothing), before the file is parsed.
    pub(super) fn holds(&self, path: &Path, source: &crate::digest::Digest) -> bool {
        self.known
            .get(path.to_string_lossy().as_ref())
            .is_some_and(|entry| entry.incident.source == *source)
    }

    /// The result of an earlier parse of the very same input (`source`: [`source_digest`] of
    /// the path, the text and the component ids), or `None`: the file is to be parsed
    /// ([`super::parse_from`]) and the result given to [`ParseCache::parsed`]. `stamp` is the
    /// file's, taken before its text was read.
    ///
    /// Split so that the reads and parses in between run on every core while the cache is
    /// looked up and updated on one thread, in file order.
    pub(super) fn reuse(
        &mut self,
        path: &Path,
        stamp: Option<Stamp>,
        source: &crate::digest::Digest,
        ids_digest: &[u8],
    ) -> Option<Incident> {
        self.ids.get_or_insert_with(|| ids_digest.to_vec());
        let key = path.to_string_lossy().into_owned();
        let shard = shard_of(&key);
        if let Some(entry) = self.known.remove(&key) {
            if entry.incident.source == *source {
                self.changed[shard] |= entry.stamp != stamp;
                self.used.insert(key, stamp);
                return Some(entry.incident);
            }
            // The file changed: its old entry goes, whatever the new text parses to (an error,
            // or a now private incident whose old public text must not stay in the cache).
            self.changed[shard] = true;
        }
        None
    }

    /// Records the parse of the file at `path` (stamp `stamp`) that [`ParseCache::reuse`] asked
    /// for: a success is saved with the cache, an error is not (it is parsed and reported again).
    pub(super) fn parsed(&mut self, path: &Path, stamp: Option<Stamp>, parsed: &Incident) {
        // A private incident's title and body never leave the repository: not even into a
        // cache file, which a site served straight from its build folder would publish.
        if !parsed.private {
            let key = path.to_string_lossy().into_owned();
            self.changed[shard_of(&key)] = true;
            self.used.insert(key, stamp);
        }
    }

    /// [`ParseCache::reuse`], else [`super::parse_from`] and [`ParseCache::parsed`]: what
    /// `load_dir_cached` does for each file, one file at a time.
    #[cfg(test)]
    fn parse(
        &mut self,
        path: &Path,
        stamp: Option<Stamp>,
        text: &str,
        known: &[&str],
        ids_digest: &[u8],
    ) -> Result<Incident, Vec<super::IncidentError>> {
        let source = source_digest(path, text, ids_digest);
        if let Some(reused) = self.reuse(path, stamp, &source, ids_digest) {
            return Ok(reused);
        }
        let parsed = super::parse_from(path, text, known, source)?;
        self.parsed(path, stamp, &parsed);
        Ok(parsed)
    }

    /// Saves the entries of `incidents` this cache parsed or reused (call before their slugs
    /// are made unique: the cache holds what a parse returns), rewriting only the shards that
    /// differ from what was loaded. A cache that cannot be written costs the next build time,
    /// never correctness: the failure is logged.
    pub(super) fn save(mut self, incidents: &[Incident]) {
        let Some(dir) = self.dir.take() else { return };
        // A loaded entry this build did not use is a file that is gone or changed.
        for key in self.known.keys() {
            self.changed[shard_of(key)] = true;
        }
        // No file looked at (the folder is empty now): the shards that held entries are emptied.
        let ids = self.ids.take().unwrap_or_default();
        let stale: Vec<bool> = (0..SHARDS)
            .map(|n| self.changed[n] || self.shard_ids[n].as_deref() != Some(ids.as_slice()))
            .collect();
        // The usual scheduled build: nothing changed, nothing to gather or write.
        if !stale.contains(&true) {
            return;
        }
        let mut shards: Vec<HashMap<String, EntryRef<'_>>> = vec![HashMap::new(); SHARDS];
        for i in incidents {
            let key = i.path.to_string_lossy();
            let shard = shard_of(&key);
            if !stale[shard] {
                continue;
            }
            if let Some(&stamp) = self.used.get(key.as_ref()) {
                shards[shard].insert(key.into_owned(), EntryRef { stamp, incident: i });
            }
        }
        for (n, files) in shards.into_iter().enumerate() {
            if !stale[n] {
                continue;
            }
            if files.is_empty() && self.shard_ids[n].is_none() {
                continue; // nothing to remember, nothing to forget
            }
            let path = dir.join(format!("{n:02}.bin"));
            let file = CacheFile {
                format: FORMAT,
                program: crate::site::program_id(),
                ids: ids.clone(),
                files,
            };
            let written = postcard::to_stdvec(&file)
                .map_err(std::io::Error::other)
                .and_then(|bytes| crate::site::write_cache_file(&path, &bytes));
            if let Err(e) = written {
                tracing::warn!(file = %path.display(), error = %e, "Cache not saved; the next build parses again.");
            }
        }
    }
}

/// A digest of the component ids incidents are checked against.
pub fn ids_digest(known: &[&str]) -> Vec<u8> {
    crate::digest::of_parts(known.iter().map(|id| id.as_bytes())).to_vec()
}

/// What a parse is a function of: the file's path, its text, and the component ids.
pub fn source_digest(path: &Path, text: &str, ids_digest: &[u8]) -> crate::digest::Digest {
    crate::digest::of_parts([
        path.to_string_lossy().as_bytes(),
        text.as_bytes(),
        ids_digest,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "---\ntitle: Down\nkind: incident\nseverity: major\nstatus: resolved\ncomponents: [api]\nimpact: major_outage\ndiscovered_at: 2026-11-02T14:05:00Z\nresolved_at: 2026-11-02T15:00:00Z\n---\nBody *here*\n";

    /// Makes `path`'s times old enough for its stamp to be trusted.
    fn settle(path: &Path) {
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        // The change time moved with set_modified; it is trusted once it is old enough too.
        std::thread::sleep(SETTLED + Duration::from_millis(50));
    }

    #[test]
    fn a_parse_is_reused_only_for_the_same_text_and_ids_and_errors_are_never_cached() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("incidents");
        let path = dir.path().join("2026-11-02-down.md");
        std::fs::write(&path, TEXT).unwrap();
        let ids = ids_digest(&["api"]);
        let mut c = ParseCache::open(Some(cache.clone()));
        let first = c
            .parse(&path, Stamp::of(&path), TEXT, &["api"], &ids)
            .unwrap();
        let mut parsed = vec![first.clone()];
        assert_eq!(first.body_html, "<p>Body <em>here</em></p>\n");
        let other = dir.path().join("broken.md");
        assert!(
            c.parse(&other, None, "---\ntitle: [\n---\n", &["api"], &ids)
                .is_err()
        );
        let secret = dir.path().join("secret.md");
        let private = TEXT.replace("title: Down", "title: Down\nprivate: true");
        let hidden = c.parse(&secret, None, &private, &["api"], &ids).unwrap();
        assert!(hidden.private && hidden.body_html.is_empty());
        parsed.push(hidden);
        c.save(&parsed);

        let mut c = ParseCache::open(Some(cache.clone()));
        assert_eq!(c.known.len(), 1, "only the public success is cached");
        assert_eq!(
            std::fs::read_dir(&cache).unwrap().count(),
            1,
            "one shard written"
        );
        assert_eq!(
            c.parse(&path, Stamp::of(&path), TEXT, &["api"], &ids)
                .unwrap(),
            first
        );
        // Another set of ids: checked again (here: `api` is no longer a component).
        let web = ids_digest(&["web"]);
        assert!(
            c.parse(&path, Stamp::of(&path), TEXT, &["web"], &web)
                .is_err()
        );
    }

    #[test]
    fn an_unchanged_file_is_not_read_and_a_changed_one_always_is() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("incidents");
        let path = dir.path().join("2026-11-02-down.md");
        std::fs::write(&path, TEXT).unwrap();
        let ids = ids_digest(&["api"]);

        // Just written: not settled, so its stamp is not trusted yet.
        let mut c = ParseCache::open(Some(cache.clone()));
        let parsed = c
            .parse(&path, Stamp::of(&path), TEXT, &["api"], &ids)
            .unwrap();
        assert!(c.unchanged(&path, Stamp::of(&path), &ids).is_none());
        c.save(std::slice::from_ref(&parsed));
        settle(&path);
        let mut c = ParseCache::open(Some(cache.clone()));
        assert!(
            c.unchanged(&path, Stamp::of(&path), &ids).is_none(),
            "stamp recorded unsettled"
        );
        c.parse(&path, Stamp::of(&path), TEXT, &["api"], &ids)
            .unwrap();
        c.save(std::slice::from_ref(&parsed));

        let mut c = ParseCache::open(Some(cache.clone()));
        let hit = c
            .unchanged(&path, Stamp::of(&path), &ids)
            .expect("settled and unchanged");
        assert_eq!(hit.title, "Down");
        assert!(
            c.unchanged(&path, Stamp::of(&path), &ids_digest(&["web"]))
                .is_none(),
            "other component ids"
        );
        c.save(&[hit]);

        // Same length, new text: the stamp (times, change time) no longer matches.
        std::fs::write(&path, TEXT.replace("Down", "Dawn")).unwrap();
        let mut c = ParseCache::open(Some(cache.clone()));
        assert!(c.unchanged(&path, Stamp::of(&path), &ids).is_none());
    }
}
