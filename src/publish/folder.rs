//! `target = "<folder>"`: the site is assembled beside the target and swapped in at once, so a
//! web server (or a sync job) reading the folder never sees half a site.
//!
//! Assembling is cheap: each file is a hard link to the built one (no data written), and the
//! site the swap replaced is kept in the build folder's cache (`.upstate-cache/published-before`)
//! to be brought up to date next time, so a run that changed 2,000 of 18,000 files relinks
//! those 2,000 instead of making 18,000 links and 2,000 folders and deleting as many. On this
//! machine's file system creating and deleting inodes was most of a run's publish time.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};

use super::{PublishError, PublishReport, Target};
use futures_util::future::BoxFuture;

pub use crate::site::files_list;

/// The previously published site, kept in the build folder's cache for the next publish.
const PUBLISHED_BEFORE: &str = "published-before";

/// A local folder target.
#[derive(Debug, Clone)]
pub struct FolderTarget {
    dir: PathBuf,
}

impl FolderTarget {
    /// Publishes into `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn run(&self, site: &Path) -> Result<PublishReport, PublishError> {
        let fail = |reason: String| PublishError::Failed {
            target: self.dir.display().to_string(),
            reason,
        };
        // Someone else's folder is refused before anything is compared or written.
        super::guard::check_ours(&self.dir, "target")
            .map_err(|e| fail(format!("{e}; {}", e.help())))?;
        let new = site_paths(site).map_err(|e| fail(format!("reading the built site: {e}")))?;
        let old: HashSet<String> = site_paths(&self.dir)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut report = PublishReport::default();
        for path in &new {
            if old.contains(path) && same_bytes(&site.join(path), &self.dir.join(path)) {
                report.unchanged += 1;
            } else {
                report.uploaded += 1;
            }
        }
        let wanted: HashSet<&str> = new.iter().map(String::as_str).collect();
        report.deleted = old.iter().filter(|k| !wanted.contains(k.as_str())).count();
        if report.uploaded == 0 && report.deleted == 0 {
            return Ok(report);
        }
        let parent = self
            .dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        let spare = crate::site::cache_file(site, PUBLISHED_BEFORE);
        let staged = match spare
            .as_deref()
            .and_then(|spare| reuse_spare(spare, site, &new, parent))
        {
            Some(staged) => staged,
            None => fresh_staging(site, &new, parent).map_err(|e| fail(e.to_string()))?,
        };
        if let Err(e) = super::guard::mark(&staged) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(fail(e.to_string()));
        }
        let replaced = swap_in(&staged, &self.dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staged);
            fail(e.to_string())
        })?;
        if let Some(replaced) = replaced {
            keep_as_spare(&replaced, spare.as_deref());
        }
        Ok(report)
    }
}

/// The site published before the last one, claimed and brought up to date with `site` to be
/// swapped in: `None` when there is none, it is on another file system than the target (a swap
/// is a rename), or anything about it fails (then it is removed and a fresh folder is made).
fn reuse_spare(spare: &Path, site: &Path, paths: &[String], parent: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::symlink_metadata(spare).ok()?;
    let same_device = std::fs::metadata(parent).is_ok_and(|p| p.dev() == meta.dev());
    if !meta.is_dir() || !same_device || super::guard::check_ours(spare, "target").is_err() {
        let _ = remove_any(spare);
        return None;
    }
    // Claimed by a rename first: two publishes at once never assemble in the same folder.
    let claimed = spare.with_file_name(format!(
        "{PUBLISHED_BEFORE}.{}.{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::rename(spare, &claimed).ok()?;
    match refresh(site, &claimed, paths) {
        Ok(()) => Some(claimed),
        Err(e) => {
            tracing::debug!(error = %e, "The previously published site could not be reused; assembling the site afresh.");
            let _ = std::fs::remove_dir_all(&claimed);
            None
        }
    }
}

/// Makes `tree` hold exactly the files `paths` of `site`: files the site no longer has are
/// removed first (so a file never stands where a folder must go), and a file that is not
/// already the built file's inode is linked again. A replaced file only `tree` held goes to the
/// build's recycle bin, for the next build to write a changed page into.
fn refresh(site: &Path, tree: &Path, paths: &[String]) -> io::Result<()> {
    let mut bin = crate::site::recycle::RecycleBin::of(site);
    let mut binned = 0;
    let wanted: HashSet<&str> = paths.iter().map(String::as_str).collect();
    for stale in site_paths(tree)?
        .iter()
        .filter(|p| !wanted.contains(p.as_str()))
    {
        let path = tree.join(stale);
        bin.put(&path, binned)?;
        binned += 1;
        // Folders left empty go too (a removed component's badge folder).
        for folder in path.ancestors().skip(1).take_while(|a| *a != tree) {
            if std::fs::remove_dir(folder).is_err() {
                break;
            }
        }
    }
    for path in paths {
        let (from, dest) = (site.join(path), tree.join(path));
        if same_inode(&from, &dest) {
            continue;
        }
        match std::fs::symlink_metadata(&dest) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&dest)?,
            Ok(_) => {
                bin.put(&dest, binned)?;
                binned += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        link_or_copy(&from, &dest)?;
    }
    Ok(())
}

/// A new folder beside the target holding the whole site.
fn fresh_staging(site: &Path, paths: &[String], parent: &Path) -> io::Result<PathBuf> {
    let staging = tempfile::Builder::new()
        .prefix(".upstate-publish-")
        // It becomes the served folder: the mode `create_dir` gives (0777 less the umask),
        // never a temporary folder's 0700, which a web server as another user cannot enter.
        .permissions(crate::site::readable_dir())
        .tempdir_in(parent)?;
    for path in paths {
        link_or_copy(&site.join(path), &staging.path().join(path))?;
    }
    Ok(staging.keep())
}

/// Puts `dest` in place as `from`'s bytes: a hard link costs no data write, and the build
/// folder only ever replaces a file by a rename, so the link keeps today's bytes. A copy where
/// links cannot be made (another file system).
fn link_or_copy(from: &Path, dest: &Path) -> io::Result<()> {
    if let Some(p) = dest.parent() {
        std::fs::create_dir_all(p)?;
    }
    if std::fs::hard_link(from, dest).is_err() {
        std::fs::copy(from, dest)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dest.display())))?;
    }
    Ok(())
}

/// Keeps the site a swap replaced as the next publish's starting point, or removes it when it
/// cannot be kept (no build cache, another file system, a spare already there).
fn keep_as_spare(replaced: &Path, spare: Option<&Path>) {
    let kept = spare.is_some_and(|spare| {
        spare
            .parent()
            .is_some_and(|p| std::fs::create_dir_all(p).is_ok())
            && std::fs::rename(replaced, spare).is_ok()
    });
    if !kept {
        let _ = std::fs::remove_dir_all(replaced);
    }
}

/// Removes a file, a link or a folder.
fn remove_any(path: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) => Err(e),
    }
}

impl Target for FolderTarget {
    fn name(&self) -> String {
        self.dir.display().to_string()
    }

    fn publish<'a>(&'a self, site: &'a Path) -> BoxFuture<'a, Result<PublishReport, PublishError>> {
        Box::pin(async move {
            let this = self.clone();
            let site = site.to_path_buf();
            tokio::task::spawn_blocking(move || this.run(&site))
                .await
                .map_err(|e| PublishError::Failed {
                    target: self.name(),
                    reason: e.to_string(),
                })?
        })
    }
}

/// Every file of the site under `dir`, by relative `/` path, without reading any: the build
/// folder's marker and cache are plumbing, not part of the site.
fn site_paths(dir: &Path) -> std::io::Result<Vec<String>> {
    Ok(files_list(dir)?
        .into_iter()
        .filter(|rel| !crate::site::is_plumbing(rel))
        .collect())
}

/// Whether the files `a` and `b` hold the same bytes. The last publish hard-linked each built
/// file, and a build replaces a changed file by a rename (a new inode), so one `lstat` each
/// usually answers: the same inode is the same bytes. Only copies (a target on another file
/// system) are read, one pair at a time, never the whole site into memory at once (that was
/// hundreds of megabytes for 2,000 components).
fn same_bytes(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let (Ok(ma), Ok(mb)) = (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) else {
        return false;
    };
    if !ma.is_file() || !mb.is_file() {
        return false;
    }
    if ma.dev() == mb.dev() && ma.ino() == mb.ino() {
        return true;
    }
    ma.len() == mb.len() && matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

/// Whether `a` and `b` are the same regular file (one inode): the bytes are the same without
/// reading them.
fn same_inode(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let (Ok(ma), Ok(mb)) = (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) else {
        return false;
    };
    if !ma.is_file() || !mb.is_file() {
        return false;
    }
    ma.dev() == mb.dev() && ma.ino() == mb.ino()
}

/// Every file under `dir`, by relative `/` path, with its bytes; the build folder's marker
/// ([`super::guard::MARKER`]) and cache are plumbing, not part of the site.
pub fn files(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    files_list(dir)?
        .into_iter()
        .filter(|rel| !crate::site::is_plumbing(rel))
        .map(|rel| std::fs::read(dir.join(&rel)).map(|bytes| (rel, bytes)))
        .collect()
}

/// Replaces `target` with the folder `staged` and returns where the site it replaced now is
/// (`None` when there was none). On Linux the two are exchanged with one
/// `renameat2(RENAME_EXCHANGE)`, so `target` is never missing; elsewhere (or on filesystems
/// without it) the old folder is renamed away first and the gap is two renames long.
pub fn swap_in(staged: &Path, target: &Path) -> io::Result<Option<PathBuf>> {
    if !target.exists() {
        return std::fs::rename(staged, target).map(|()| None);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        if renameat_with(CWD, staged, CWD, target, RenameFlags::EXCHANGE).is_ok() {
            // `staged` now holds the old site.
            return Ok(Some(staged.to_owned()));
        }
    }
    let old = target.with_file_name(format!(
        ".{}.old-{}",
        target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::rename(target, &old)?;
    if let Err(e) = std::fs::rename(staged, target) {
        // Put the old site back rather than leave nothing.
        let _ = std::fs::rename(&old, target);
        return Err(e);
    }
    Ok(Some(old))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_by_inode_or_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let (a, link, copy, other) = (
            dir.path().join("a"),
            dir.path().join("link"),
            dir.path().join("copy"),
            dir.path().join("other"),
        );
        std::fs::write(&a, b"status").unwrap();
        std::fs::hard_link(&a, &link).unwrap();
        std::fs::write(&copy, b"status").unwrap();
        std::fs::write(&other, b"statux").unwrap();
        assert!(same_bytes(&a, &link), "one inode");
        assert!(same_bytes(&a, &copy), "a copy with the same bytes");
        assert!(!same_bytes(&a, &other), "same length, other bytes");
        assert!(!same_bytes(&a, &dir.path().join("missing")));
    }
}
