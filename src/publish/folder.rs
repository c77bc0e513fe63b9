//! `target = "<folder>"`: the site is assembled beside the target and swapped in at once, so a
//! web server (or a sync job) reading the folder never sees half a site.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::{PublishError, PublishReport, Target};
use futures_util::future::BoxFuture;

pub use crate::site::files_list;

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
        let staging = tempfile::Builder::new()
            .prefix(".upstate-publish-")
            // It becomes the served folder: the mode `create_dir` gives (0777 less the umask),
            // never a temporary folder's 0700, which a web server as another user cannot enter.
            .permissions(crate::site::readable_dir())
            .tempdir_in(parent)
            .map_err(|e| fail(e.to_string()))?;
        for path in &new {
            let dest = staging.path().join(path);
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p).map_err(|e| fail(e.to_string()))?;
            }
            // A hard link to the built file costs no data write and no new inode; the build
            // folder only ever replaces files by rename, so the link keeps today's bytes.
            if std::fs::hard_link(site.join(path), &dest).is_err() {
                std::fs::copy(site.join(path), &dest)
                    .map_err(|e| fail(format!("{}: {e}", dest.display())))?;
            }
        }
        super::guard::mark(staging.path()).map_err(|e| fail(e.to_string()))?;
        let staged = staging.keep();
        swap_in(&staged, &self.dir).map_err(|e| fail(e.to_string()))?;
        Ok(report)
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

/// Every file under `dir`, by relative `/` path, with its bytes; the build folder's marker
/// ([`super::guard::MARKER`]) and cache are plumbing, not part of the site.
pub fn files(dir: &Path) -> std::io::Result<BTreeMap<String, Vec<u8>>> {
    files_list(dir)?
        .into_iter()
        .filter(|rel| !crate::site::is_plumbing(rel))
        .map(|rel| std::fs::read(dir.join(&rel)).map(|bytes| (rel, bytes)))
        .collect()
}

/// Replaces `target` with the folder `staged`. On Linux the two are exchanged with one
/// `renameat2(RENAME_EXCHANGE)`, so `target` is never missing; elsewhere (or on filesystems
/// without it) the old folder is renamed away first and the gap is two renames long.
pub fn swap_in(staged: &Path, target: &Path) -> std::io::Result<()> {
    if !target.exists() {
        return std::fs::rename(staged, target);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        if renameat_with(CWD, staged, CWD, target, RenameFlags::EXCHANGE).is_ok() {
            // `staged` now holds the old site.
            return std::fs::remove_dir_all(staged);
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
    std::fs::remove_dir_all(&old)
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
