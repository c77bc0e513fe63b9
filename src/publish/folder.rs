//! `target = "<folder>"`: the site is assembled beside the target and swapped in at once, so a
//! web server (or a sync job) reading the folder never sees half a site.

use std::collections::BTreeMap;
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
        let new = files(site).map_err(|e| fail(format!("reading the built site: {e}")))?;
        let old = files(&self.dir).unwrap_or_default();
        let mut report = PublishReport::default();
        for (path, bytes) in &new {
            if old.get(path) == Some(bytes) {
                report.unchanged += 1;
            } else {
                report.uploaded += 1;
            }
        }
        report.deleted = old.keys().filter(|k| !new.contains_key(*k)).count();
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
        for (path, bytes) in &new {
            let dest = staging.path().join(path);
            if let Some(p) = dest.parent() {
                std::fs::create_dir_all(p).map_err(|e| fail(e.to_string()))?;
            }
            // A hard link to the built file costs no data write and no new inode; the build
            // folder only ever replaces files by rename, so the link keeps today's bytes.
            if std::fs::hard_link(site.join(path), &dest).is_err() {
                std::fs::write(&dest, bytes)
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
