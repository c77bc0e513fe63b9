//! Writes the build folder as files are produced, and remembers what each file was made from
//! so that the next build renders only the pages whose inputs changed.
//!
//! Why: a scheduled run rebuilds a site in which almost nothing changed, and rendering 10,000
//! incident pages through Tera again to find the same bytes was most of its cost. Each page is a
//! pure function of (theme, site-wide values, its own context); the manifest
//! (`.upstate-cache/render-manifest.bin` in the build folder) records, per file, a digest of those
//! inputs and of the bytes written, with the file's size and modification time. A page whose
//! input digest is unchanged, and whose file still has the recorded size and time, is kept
//! without rendering. Anything unreadable (no manifest, a corrupt one, another format or another
//! `upstate` binary) means a full render; the output is the same either way, only slower.
//!
//! Streaming: files go to disk as they are rendered, so a build holds a page per thread at a
//! time, not the whole site, in memory.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RenderError;

pub use crate::digest::Digest;

/// The manifest's path inside the build folder (never published: see [`crate::site::is_plumbing`]).
const MANIFEST: &str = "render-manifest.bin";

/// Bumped whenever what a digest covers changes, so an old manifest is never trusted.
const FORMAT: u32 = 3;

/// Feeds values into the digest ([`crate::digest`]) without building their bytes in memory
/// first.
pub struct Hasher(blake3::Hasher);

impl Hasher {
    pub fn new() -> Self {
        Self(blake3::Hasher::new())
    }

    /// A delimited byte string: `("ab", "c")` and `("a", "bc")` hash differently.
    pub fn part(&mut self, bytes: &[u8]) {
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    /// A value's JSON serialization (self-delimiting, so parts cannot run into each other).
    pub fn json<T: Serialize + ?Sized>(
        &mut self,
        what: &str,
        value: &T,
    ) -> Result<(), RenderError> {
        serde_json::to_writer(&mut *self, value).map_err(|e| RenderError::Serialize {
            file: what.to_owned(),
            reason: e.to_string(),
        })
    }

    pub fn finish(self) -> Digest {
        self.0.finalize().into()
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the manifest remembers about one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// Digest of the page's inputs; `None` for files made without one.
    input: Option<Digest>,
    /// Digest of the bytes written.
    output: Digest,
    size: u64,
    /// Modification time in nanoseconds since 1970 (0 = unknown, never trusted).
    mtime_ns: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestFile {
    format: u32,
    /// The `upstate` binary that wrote it: the renderer's own code is an input of every page.
    program: String,
    files: HashMap<String, Entry>,
}

/// A file found unchanged by [`SiteWriter::fresh`], to [`SiteWriter::keep`].
#[derive(Debug)]
pub struct Fresh(Entry);

/// A file [`SiteWriter::write`] put on disk, to [`SiteWriter::record`].
#[derive(Debug)]
pub struct Written {
    entry: Entry,
    /// Its bytes changed (or it is new): it was written.
    wrote: bool,
}

/// A page made on one of several threads: kept as it was, or written. [`SiteWriter::add`]s it
/// in order on one.
#[derive(Debug)]
pub enum Page {
    Kept(String, Fresh),
    Written(String, Written),
}

/// How much a build rendered, kept and wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Pages rendered through the theme.
    pub rendered: usize,
    /// Pages whose inputs had not changed: kept as they were, not rendered.
    pub kept: usize,
    /// Files whose bytes changed (or were new) and were written.
    pub written: usize,
    /// Files the site no longer has, removed.
    pub removed: usize,
}

/// The build folder, being written. Call [`SiteWriter::finish`] at the end: it removes the files
/// this build did not make and saves the manifest.
pub struct SiteWriter {
    dir: PathBuf,
    old: HashMap<String, Entry>,
    /// Every file in the folder when the build began (cache folder left out), by relative `/`
    /// path: `(size, mtime)` for a regular file, `None` for anything else (a link).
    on_disk: HashMap<String, Option<(u64, u64)>>,
    new: HashMap<String, Entry>,
    /// Every path produced, in order (the sitemap lists pages in this order).
    order: Vec<String>,
    pub stats: WriteStats,
}

fn mtime_ns(meta: &std::fs::Metadata) -> u64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(0))
}

fn io_error(path: &Path, e: &std::io::Error) -> RenderError {
    RenderError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

impl SiteWriter {
    /// Opens the build folder `dir` (created if missing) and reads its manifest; a missing,
    /// unreadable or foreign manifest only means every page is rendered.
    pub fn open(dir: &Path) -> Result<Self, RenderError> {
        std::fs::create_dir_all(dir).map_err(|e| io_error(dir, &e))?;
        let path = dir.join(crate::site::CACHE_DIR).join(MANIFEST);
        let old = std::fs::read(&path)
            .ok()
            .and_then(|bytes| postcard::from_bytes::<ManifestFile>(&bytes).ok())
            .filter(|m| m.format == FORMAT && m.program == crate::site::program_id())
            .map(|m| m.files)
            .unwrap_or_default();
        let on_disk = files_on_disk(dir).map_err(|e| io_error(dir, &e))?;
        Ok(Self {
            dir: dir.to_owned(),
            old,
            on_disk,
            new: HashMap::new(),
            order: Vec::new(),
            stats: WriteStats::default(),
        })
    }

    /// Whether this build already produced `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.new.contains_key(path)
    }

    /// Every path this build produced, in the order produced.
    pub fn paths(&self) -> &[String] {
        &self.order
    }

    /// The recorded entry of `path`, if the file on disk is still the one it describes.
    fn intact(&self, path: &str) -> Option<&Entry> {
        let entry = self.old.get(path)?;
        let (size, mtime_ns) = (*self.on_disk.get(path)?)?;
        let same = size == entry.size && entry.mtime_ns != 0 && mtime_ns == entry.mtime_ns;
        same.then_some(entry)
    }

    /// The page at `path` made from `input`: kept when the folder has it from exactly that
    /// input, untouched since; else made by `render` and written. Records nothing (see
    /// [`SiteWriter::add`]), so pages can be made on several threads.
    pub fn make(
        &self,
        path: String,
        input: Digest,
        render: impl FnOnce() -> Result<Vec<u8>, RenderError>,
    ) -> Result<Page, RenderError> {
        if let Some(fresh) = self.fresh(&path, &input) {
            return Ok(Page::Kept(path, fresh));
        }
        let bytes = render()?;
        let written = self.write(&path, Some(input), &bytes)?;
        Ok(Page::Written(path, written))
    }

    /// Keeps `path` as it is when it was made from exactly `input` and is untouched since;
    /// returns whether it did (then the caller does not render it).
    #[cfg(test)]
    pub fn keep_if_fresh(&mut self, path: &str, input: &Digest) -> bool {
        match self.fresh(path, input) {
            Some(fresh) => {
                self.keep(path, fresh);
                true
            }
            None => false,
        }
    }

    /// Whether `path` was made from exactly `input` and is untouched since, without recording
    /// anything: pages rendered on several threads ask this (and [`SiteWriter::write`] the
    /// ones they render), then [`SiteWriter::keep`] or [`SiteWriter::record`] in order on one.
    pub fn fresh(&self, path: &str, input: &Digest) -> Option<Fresh> {
        self.intact(path)
            .filter(|e| e.input.as_ref() == Some(input))
            .cloned()
            .map(Fresh)
    }

    /// Keeps `path` as it is (see [`SiteWriter::fresh`]).
    pub fn keep(&mut self, path: &str, Fresh(entry): Fresh) {
        self.new.insert(path.to_owned(), entry);
        self.order.push(path.to_owned());
        self.stats.kept += 1;
    }

    /// Records that `path` is `bytes` (made from `input`, when it came from a template) and
    /// writes it unless the folder already has those bytes. A changed file is written to a
    /// temporary file renamed into place, so a new inode: a published hard link to the old one
    /// is never modified.
    pub fn put(
        &mut self,
        path: &str,
        input: Option<Digest>,
        bytes: &[u8],
    ) -> Result<(), RenderError> {
        let written = self.write(path, input, bytes)?;
        self.record(path, written);
        Ok(())
    }

    /// The disk half of [`SiteWriter::put`], which changes nothing in the writer: pages
    /// rendered on several threads are written there too (making and renaming a file was half
    /// of a run's component pages), then [`SiteWriter::record`]ed in order on one.
    pub fn write(
        &self,
        path: &str,
        input: Option<Digest>,
        bytes: &[u8],
    ) -> Result<Written, RenderError> {
        // The marker and the cache are the build's own; no output may overwrite them.
        if crate::site::is_plumbing(path) {
            return Err(RenderError::Io {
                path: path.to_owned(),
                reason: "is the build folder's own plumbing, never an output".to_owned(),
            });
        }
        let mut wrote = false;
        let output = crate::digest::of(bytes);
        let target = self.dir.join(path);
        let entry = match self.intact(path) {
            // The manifest vouches for what is on disk: no need to read it, nor to look again.
            Some(entry) if entry.output == output => Entry {
                input,
                ..entry.clone()
            },
            intact => {
                // Only a plain file can already be the page (never a link that reads the same).
                let plain_file = matches!(self.on_disk.get(path), Some(Some(_)));
                let same = intact.is_none()
                    && plain_file
                    && std::fs::read(&target).is_ok_and(|old| old == bytes);
                let meta = if same {
                    std::fs::symlink_metadata(&target).map_err(|e| io_error(&target, &e))?
                } else {
                    wrote = true;
                    let existed = self.on_disk.contains_key(path);
                    write_file(&self.dir, &target, bytes, existed)?
                };
                Entry {
                    input,
                    output,
                    size: meta.len(),
                    mtime_ns: mtime_ns(&meta),
                }
            }
        };
        Ok(Written { entry, wrote })
    }

    /// Records a file [`SiteWriter::write`] wrote (or found already there).
    pub fn record(&mut self, path: &str, Written { entry, wrote }: Written) {
        if entry.input.is_some() {
            self.stats.rendered += 1;
        }
        if wrote {
            self.stats.written += 1;
        }
        self.new.insert(path.to_owned(), entry);
        self.order.push(path.to_owned());
    }

    /// Records `page` as kept ([`SiteWriter::keep`]) or written ([`SiteWriter::record`]).
    pub fn add(&mut self, page: Page) {
        match page {
            Page::Kept(path, fresh) => self.keep(&path, fresh),
            Page::Written(path, written) => self.record(&path, written),
        }
    }

    /// Removes the files the site no longer has and saves the manifest. Returns every path of
    /// the site, in the order produced, and what was done.
    pub fn finish(mut self) -> Result<(Vec<String>, WriteStats), RenderError> {
        let dir = self.dir.clone();
        let wanted: HashSet<&str> = self.order.iter().map(String::as_str).collect();
        // What was there when the build began and is not part of this site (every file the
        // build made is wanted; one someone adds during the build goes with the next).
        let mut stale: Vec<&String> = self
            .on_disk
            .keys()
            .filter(|p| !wanted.contains(p.as_str()) && !crate::site::is_plumbing(p))
            .collect();
        stale.sort();
        for stale in stale {
            let path = dir.join(stale);
            std::fs::remove_file(&path).map_err(|e| io_error(&path, &e))?;
            self.stats.removed += 1;
        }
        let manifest = ManifestFile {
            format: FORMAT,
            program: crate::site::program_id(),
            files: std::mem::take(&mut self.new),
        };
        let bytes = postcard::to_stdvec(&manifest).map_err(|e| RenderError::Serialize {
            file: MANIFEST.to_owned(),
            reason: e.to_string(),
        })?;
        // A cache file like the others (private, replaced whole), not a page.
        let path = dir.join(crate::site::CACHE_DIR).join(MANIFEST);
        crate::site::write_cache_file(&path, &bytes).map_err(|e| io_error(&path, &e))?;
        Ok((self.order, self.stats))
    }
}

/// Every file under `dir` (not following links, the cache folder left out) by relative `/`
/// path, with `(size, mtime)` for a regular file. Listed once when a build begins: looking each
/// page up by its full path as it was rendered or kept, then walking the folder again to find
/// what to remove, were a sixth of a rebuild with nothing changed.
fn files_on_disk(dir: &Path) -> std::io::Result<HashMap<String, Option<(u64, u64)>>> {
    fn walk(
        folder: &Path,
        prefix: &str,
        out: &mut HashMap<String, Option<(u64, u64)>>,
    ) -> std::io::Result<()> {
        for entry in std::fs::read_dir(folder)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{prefix}{name}");
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if !(prefix.is_empty() && name == crate::site::CACHE_DIR) {
                    walk(&entry.path(), &format!("{relative}/"), out)?;
                }
            } else if kind.is_file() {
                // Relative to the open folder (fstatat), not a walk of the whole path again.
                let meta = entry.metadata()?;
                out.insert(relative, Some((meta.len(), mtime_ns(&meta))));
            } else {
                out.insert(relative, None);
            }
        }
        Ok(())
    }
    let mut out = HashMap::new();
    walk(dir, "", &mut out)?;
    Ok(out)
}

/// Writes `bytes` to `path` and returns the written file's metadata: directly when the file is
/// new (a crash leaves a partial file that the next build sees differ and rewrites), else
/// through a renamed temporary file. `existed`: the path was in the folder when the build began.
fn write_file(
    dir: &Path,
    path: &Path,
    bytes: &[u8],
    existed: bool,
) -> Result<std::fs::Metadata, RenderError> {
    let parent = path.parent().unwrap_or(dir);
    if !existed {
        // One open that refuses whatever is there (a cold build makes 10,000 pages: every
        // look-up by path before and after the write showed in its system time).
        let create = || {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
        };
        let created = match create() {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(parent).map_err(|e| io_error(parent, &e))?;
                create()
            }
            created => created,
        };
        match created {
            Ok(mut file) => {
                file.write_all(bytes).map_err(|e| io_error(path, &e))?;
                return file.metadata().map_err(|e| io_error(path, &e));
            }
            // Made since the build began (or a link): replaced the safe way below.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error(path, &e)),
        }
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".upstate-")
        // A page is for readers: the mode `fs::write` gives a new file (0666 less the umask),
        // never the temporary file's private 0600 (the folder target publishes hard links, and
        // a web server running as another user could not read a rewritten page).
        .permissions(crate::site::readable_file())
        .tempfile_in(parent)
        .map_err(|e| io_error(parent, &e))?;
    tmp.write_all(bytes).map_err(|e| io_error(path, &e))?;
    tmp.persist(path).map_err(|e| io_error(path, &e.error))?;
    std::fs::symlink_metadata(path).map_err(|e| io_error(path, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_kept_only_while_its_inputs_and_its_file_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let input = crate::digest::of(b"inputs");
        let mut w = SiteWriter::open(dir.path()).unwrap();
        w.put("a.html", Some(input), b"one").unwrap();
        w.finish().unwrap();

        let mut w = SiteWriter::open(dir.path()).unwrap();
        assert!(w.keep_if_fresh("a.html", &input));
        assert!(!w.keep_if_fresh("b.html", &input));
        w.finish().unwrap();

        // Edited behind upstate's back: rendered again.
        std::fs::write(dir.path().join("a.html"), b"three").unwrap();
        let mut w = SiteWriter::open(dir.path()).unwrap();
        assert!(!w.keep_if_fresh("a.html", &input));
        w.put("a.html", Some(input), b"one").unwrap();
        let (paths, stats) = w.finish().unwrap();
        assert_eq!(paths, ["a.html"]);
        assert_eq!(stats.written, 1);
        assert_eq!(std::fs::read(dir.path().join("a.html")).unwrap(), b"one");

        // Replaced by a link to a file with the same bytes: never kept, written again as a file.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("same"), b"one").unwrap();
        std::fs::remove_file(dir.path().join("a.html")).unwrap();
        std::os::unix::fs::symlink(elsewhere.path().join("same"), dir.path().join("a.html"))
            .unwrap();
        let mut w = SiteWriter::open(dir.path()).unwrap();
        assert!(!w.keep_if_fresh("a.html", &input));
        w.put("a.html", Some(input), b"one").unwrap();
        w.finish().unwrap();
        let meta = std::fs::symlink_metadata(dir.path().join("a.html")).unwrap();
        assert!(meta.is_file(), "a plain file again, not the link");

        // A corrupt manifest: nothing is trusted.
        std::fs::write(dir.path().join(crate::site::CACHE_DIR).join(MANIFEST), b"{").unwrap();
        let mut w = SiteWriter::open(dir.path()).unwrap();
        assert!(!w.keep_if_fresh("a.html", &input));
    }

    #[test]
    fn stale_files_go_and_plumbing_stays() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(crate::site::MARKER), b"").unwrap();
        std::fs::write(dir.path().join("old.html"), b"old").unwrap();
        std::fs::create_dir_all(dir.path().join("components/deep")).unwrap();
        std::fs::write(dir.path().join("components/deep/gone.html"), b"gone").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"keep me").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link.html"))
            .unwrap();
        let kept_cache = dir.path().join(crate::site::CACHE_DIR).join("other-cache");
        std::fs::create_dir_all(kept_cache.parent().unwrap()).unwrap();
        std::fs::write(&kept_cache, b"cache").unwrap();
        let mut w = SiteWriter::open(dir.path()).unwrap();
        w.put("new.html", None, b"new").unwrap();
        let (_, stats) = w.finish().unwrap();
        assert_eq!(stats.removed, 3, "old.html, the nested page and the link");
        assert!(dir.path().join(crate::site::MARKER).exists());
        assert!(!dir.path().join("old.html").exists());
        assert!(!dir.path().join("components/deep/gone.html").exists());
        assert!(std::fs::symlink_metadata(dir.path().join("link.html")).is_err());
        assert_eq!(
            std::fs::read(outside.path().join("secret")).unwrap(),
            b"keep me",
            "the link goes, never what it points at"
        );
        assert!(kept_cache.exists(), "the cache folder is the build's own");
        assert!(
            dir.path()
                .join(crate::site::CACHE_DIR)
                .join(MANIFEST)
                .exists()
        );
    }
}
