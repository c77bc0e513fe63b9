//! `target = "<folder>"`: the site is assembled beside the target and swapped in at once, so a
//! web server (or a sync job) reading the folder never sees half a site.
//!
//! Assembling is cheap: each file is a hard link to the built one (no data written), and the
//! site the swap replaced is kept in the build folder's cache (`.upstate-cache/published-before`)
//! to be brought up to date next time, so a run relinks only the files that changed in the last
//! two builds (about 2,000 of 18,000 for a 2,000-component site, whose pages each say when they
//! were last checked) instead of making 18,000 links and 2,000 folders and deleting as many.
//! On this machine's file system, making and deleting inodes was most of a run's publish time.
//! `run` does the first half of that (up to the last build) in [`Target::prepare`], while the
//! probes wait, so the publish itself relinks only what this build changed.
//!
//! The kept site is trusted for nothing: every file in it that is not the built file's inode is
//! replaced, anything else in it is removed, and it is used only inside a real (not linked)
//! cache folder of a marked build folder, on the target's file system.

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
        let (new, built) =
            built_files(site).map_err(|e| fail(format!("reading the built site: {e}")))?;
        let parent = self.parent();
        std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
        let spare = crate::site::cache_file(site, PUBLISHED_BEFORE);
        // The report walks the served folder, the refresh the kept site: different folders,
        // so both at once on two threads (each took about a quarter of a second for the
        // 18,000 files of 2,000 components). A refresh that turns out not to be needed only
        // brought the kept site up to date; it is handed back for next time.
        let refresh = || {
            spare
                .as_deref()
                .and_then(|spare| claim_spare(spare, parent))
                .and_then(|claimed| refresh_claimed(claimed, site, (&new, &built)))
        };
        let (report, reused) = std::thread::scope(|threads| {
            match std::thread::Builder::new().spawn_scoped(threads, refresh) {
                Ok(refreshing) => {
                    let report = self.compare(site, &new, &built);
                    (report, refreshing.join().ok().flatten())
                }
                // No thread to be had: one after the other.
                Err(_) => (self.compare(site, &new, &built), refresh()),
            }
        });
        if report.uploaded == 0 && report.deleted == 0 {
            if let (Some(refreshed), Some(spare)) = (reused, spare.as_deref()) {
                hand_back(&refreshed, spare);
            }
            return Ok(report);
        }
        let replaced = match reused.map(|staged| self.swap(&staged)) {
            Some(Ok(replaced)) => replaced,
            // No kept site, or it could not be swapped in (a bind mount of the same file system
            // refuses the rename): the whole site assembled beside the target.
            _ => {
                let staged = fresh_staging(site, &new, parent).map_err(|e| fail(e.to_string()))?;
                self.swap(&staged).map_err(|e| fail(e.to_string()))?
            }
        };
        if let Some(replaced) = replaced {
            keep_as_spare(&replaced, spare.as_deref());
        }
        Ok(report)
    }

    /// What publishing the built files `new` (their identities `built`) changes in the target.
    fn compare(&self, site: &Path, new: &[String], built: &[Option<FileId>]) -> PublishReport {
        let old: HashSet<String> = site_paths(&self.dir)
            .unwrap_or_default()
            .into_iter()
            .collect();
        let mut report = PublishReport::default();
        for (path, id) in new.iter().zip(built) {
            if old.contains(path) && same_bytes(*id, &site.join(path), &self.dir.join(path)) {
                report.unchanged += 1;
            } else {
                report.uploaded += 1;
            }
        }
        let wanted: HashSet<&str> = new.iter().map(String::as_str).collect();
        report.deleted = old.iter().filter(|k| !wanted.contains(k.as_str())).count();
        report
    }

    /// The folder the target sits in, where the site is assembled.
    fn parent(&self) -> &Path {
        self.dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
    }

    /// Marks `staged` and swaps it in (see [`swap_in`]); removes it if that fails.
    fn swap(&self, staged: &Path) -> io::Result<Option<PathBuf>> {
        let swapped = super::guard::mark(staged).and_then(|()| swap_in(staged, &self.dir));
        if swapped.is_err() {
            let _ = std::fs::remove_dir_all(staged);
        }
        swapped
    }

    /// See [`Target::prepare`]: the kept site is brought up to date with the build folder as
    /// the last build left it, so that the publish after this build relinks only what this
    /// build changed, and the files only the kept site still had (the site of two builds ago)
    /// are deleted now. On this machine's file system, deleting 2,000 inodes was most of a
    /// 2,000-component run's publish.
    fn prepare_spare(&self, site: &Path) {
        // Only upstate's own build folder is linked from (the publish checks it again).
        if super::guard::check_ours(site, "output").is_err() {
            return;
        }
        let Some(spare) = crate::site::cache_file(site, PUBLISHED_BEFORE) else {
            return;
        };
        let Some(claimed) = claim_spare(&spare, self.parent()) else {
            return;
        };
        let Ok((paths, ids)) = built_files(site) else {
            let _ = std::fs::remove_dir_all(&claimed);
            return;
        };
        if let Some(refreshed) = refresh_claimed(claimed, site, (&paths, &ids)) {
            hand_back(&refreshed, &spare);
        }
    }
}

/// Gives the calling thread the lowest scheduling priority (nice 19), so that it runs only on
/// what the rest of the process leaves of the processor. Linux keeps a nice value per thread;
/// elsewhere this does nothing.
fn lowest_priority_for_this_thread() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: plain system calls on this thread's own id; no pointers.
    unsafe {
        let tid = libc::gettid();
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
    }
}

/// Puts a claimed and `refreshed` kept site back as `spare` for the next publish to claim:
/// marked again (the refresh removed everything the site does not have, the marker too). If
/// that name is taken meanwhile (another publish kept its own), this one goes.
fn hand_back(refreshed: &Path, spare: &Path) {
    if super::guard::mark(refreshed).is_err() || std::fs::rename(refreshed, spare).is_err() {
        let _ = std::fs::remove_dir_all(refreshed);
    }
}

/// The site published before the last one, claimed (renamed to a name of this process's own)
/// to be brought up to date: `None` when there is none or it is on another file system than
/// the target (a swap is a rename).
fn claim_spare(spare: &Path, parent: &Path) -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt as _;
    let cache = spare.parent()?;
    // The cache folder must be the build folder's own, not a link (a build folder committed
    // with `.upstate-cache -> /somewhere` would have the old site moved there).
    if !is_real_dir(cache) {
        return None;
    }
    forget_abandoned_claims(cache);
    let meta = std::fs::symlink_metadata(spare).ok()?;
    let same_device = std::fs::metadata(parent).is_ok_and(|p| p.dev() == meta.dev());
    let marked =
        std::fs::symlink_metadata(spare.join(super::guard::MARKER)).is_ok_and(|m| m.is_file());
    if !meta.is_dir() || !same_device || !marked {
        // Inside the build's own cache, the name is ours: whatever stands there goes (a link
        // is removed, never followed).
        let _ = remove_any(spare);
        return None;
    }
    // Claimed by a rename first: two publishes at once never assemble in the same folder.
    let claimed = cache.join(format!(
        "{PUBLISHED_BEFORE}.{}.{}",
        std::process::id(),
        unix_nanos()
    ));
    std::fs::rename(spare, &claimed).ok()?;
    Some(claimed)
}

/// The `claimed` kept site brought up to date with `site`, to be swapped in; `None` (and
/// removed) if anything about that fails: then a fresh folder is made.
fn refresh_claimed(
    claimed: PathBuf,
    site: &Path,
    built: (&[String], &[Option<FileId>]),
) -> Option<PathBuf> {
    match refresh(site, &claimed, built) {
        Ok(()) => Some(claimed),
        Err(e) => {
            tracing::debug!(error = %e, "The previously published site could not be reused; assembling the site afresh.");
            let _ = std::fs::remove_dir_all(&claimed);
            None
        }
    }
}

/// Removes claimed copies of the kept site that a publish killed half-way left behind (an hour
/// old: a publish that takes longer than that is not waited for). A claim's age is the time in
/// its name, when it was claimed: the folder's own modification time is that of the kept
/// site, which a claim does not change (a kept site untouched for an hour would look abandoned
/// the moment another publish claimed it, and be removed under it).
fn forget_abandoned_claims(cache: &Path) {
    let prefix = format!("{PUBLISHED_BEFORE}.");
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    let now = unix_nanos();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(claim) = name.strip_prefix(&prefix) else {
            continue;
        };
        // `<pid>.<nanoseconds>`; anything else under the prefix is not a claim of ours and
        // goes too (the cache is the build's own).
        let claimed_at = claim
            .split_once('.')
            .and_then(|(_, nanos)| nanos.parse::<u128>().ok());
        let abandoned = claimed_at.is_none_or(|at| now.saturating_sub(at) > 3_600 * 1_000_000_000);
        if abandoned {
            let _ = remove_any(&entry.path());
        }
    }
}

/// Now, in nanoseconds since 1970: the time a claim's name carries.
fn unix_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Makes `tree` hold exactly the files `paths` of `site` and nothing else: everything the site
/// does not have (whatever it is, wherever it is in `tree`, the marker included) is removed
/// first, so a file never stands where a folder must go, and a file that is not already the
/// built file's inode is linked again.
fn refresh(
    site: &Path,
    tree: &Path,
    (paths, ids): (&[String], &[Option<FileId>]),
) -> io::Result<()> {
    let wanted: HashSet<&str> = paths.iter().map(String::as_str).collect();
    // Every entry, not [`files_list`], which leaves a cache folder out: nothing in the kept
    // site is skipped.
    for stale in crate::site::every_file(tree)?
        .iter()
        .filter(|p| !wanted.contains(p.as_str()))
    {
        let path = tree.join(stale);
        std::fs::remove_file(&path)?;
        // Folders left empty go too (a removed component's badge folder), never `tree`.
        for folder in path.ancestors().skip(1).take_while(|a| *a != tree) {
            if std::fs::remove_dir(folder).is_err() {
                break;
            }
        }
    }
    for (path, id) in paths.iter().zip(ids) {
        let (from, dest) = (site.join(path), tree.join(path));
        if id.is_some() && *id == file_id(&dest) {
            continue;
        }
        match remove_any(&dest) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => link_or_copy(&from, &dest)?,
        }
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
/// cannot be kept (no build cache, a linked one, another file system, a spare already there).
fn keep_as_spare(replaced: &Path, spare: Option<&Path>) {
    let kept = spare.is_some_and(|spare| {
        spare
            .parent()
            .is_some_and(|cache| std::fs::create_dir_all(cache).is_ok() && is_real_dir(cache))
            && std::fs::rename(replaced, spare).is_ok()
    });
    if !kept {
        let _ = std::fs::remove_dir_all(replaced);
    }
}

/// Whether `path` is a folder itself, not a link to one.
fn is_real_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
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

    fn prepare<'a>(&'a self, site: &'a Path) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let this = self.clone();
            let site = site.to_path_buf();
            let (done, finished) = tokio::sync::oneshot::channel();
            // A thread of its own at the lowest priority (never one of the runtime's, which
            // would keep it): the checks measuring latencies meanwhile get the processor first.
            let spawned = std::thread::Builder::new()
                .name("upstate-prepare".to_owned())
                .spawn(move || {
                    lowest_priority_for_this_thread();
                    this.prepare_spare(&site);
                    let _ = done.send(());
                });
            if spawned.is_ok() {
                let _ = finished.await;
            }
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

/// Every file of the built site under `site` with its identity, each looked at once (for the
/// report and for the refresh).
fn built_files(site: &Path) -> std::io::Result<(Vec<String>, Vec<Option<FileId>>)> {
    let paths = site_paths(site)?;
    let ids = paths.iter().map(|p| file_id(&site.join(p))).collect();
    Ok((paths, ids))
}

/// A regular file's identity: the same inode is the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    len: u64,
}

/// The identity of the regular file at `path` (`None` for anything else or nothing).
fn file_id(path: &Path) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::symlink_metadata(path).ok()?;
    meta.is_file().then(|| FileId {
        dev: meta.dev(),
        ino: meta.ino(),
        len: meta.len(),
    })
}

/// Whether the built file `a` (its identity `built`) and the file `b` hold the same bytes. The
/// last publish hard-linked each built file, and a build replaces a changed file by a rename
/// (a new inode), so one `lstat` usually answers: the same inode is the same bytes, another
/// inode on the same file system was made from other bytes. Only copies on another file system
/// are read, one pair at a time, never the whole site into memory at once (that was hundreds
/// of megabytes for 2,000 components).
fn same_bytes(built: Option<FileId>, a: &Path, b: &Path) -> bool {
    let (Some(ia), Some(ib)) = (built, file_id(b)) else {
        return false;
    };
    if ia == ib {
        return true;
    }
    ia.dev != ib.dev
        && ia.len == ib.len
        && matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
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
    fn a_claim_is_abandoned_by_the_time_in_its_name_not_its_folders_age() {
        let cache = tempfile::tempdir().unwrap();
        let now = unix_nanos();
        let fresh = cache.path().join(format!("{PUBLISHED_BEFORE}.1.{now}"));
        let old = cache.path().join(format!("{PUBLISHED_BEFORE}.1.1000"));
        let odd = cache.path().join(format!("{PUBLISHED_BEFORE}.not-a-claim"));
        for dir in [&fresh, &old, &odd] {
            std::fs::create_dir(dir).unwrap();
        }
        forget_abandoned_claims(cache.path());
        assert!(fresh.is_dir(), "claimed just now: in use");
        assert!(!old.exists(), "claimed in 1970, whatever its folder's time");
        assert!(!odd.exists());
    }

    /// Replaces `path` by a new inode holding `text`, as a build does.
    fn rewrite(path: &Path, text: &str) {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(tmp, path).unwrap();
    }

    #[test]
    fn a_prepared_kept_site_mirrors_the_last_build_and_is_the_one_swapped_in() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let (build, public) = (dir.path().join("build"), dir.path().join("public"));
        super::super::guard::mark(&build).unwrap();
        std::fs::write(build.join("a.html"), "1").unwrap();
        std::fs::write(build.join("b.html"), "1").unwrap();
        let target = FolderTarget::new(public.clone());
        target.run(&build).unwrap();
        rewrite(&build.join("a.html"), "2");
        target.run(&build).unwrap();
        let spare = build.join(".upstate-cache").join(PUBLISHED_BEFORE);
        assert_eq!(std::fs::read_to_string(spare.join("a.html")).unwrap(), "1");

        // A file only the kept site has (planted, or a page the site no longer has) goes too.
        std::fs::write(spare.join("planted.html"), "x").unwrap();
        target.prepare_spare(&build);
        for name in ["a.html", "b.html"] {
            assert_eq!(
                file_id(&spare.join(name)),
                file_id(&build.join(name)),
                "{name}: the last build's file itself"
            );
        }
        assert!(!spare.join("planted.html").exists());
        assert!(
            std::fs::symlink_metadata(spare.join(super::super::guard::MARKER))
                .is_ok_and(|m| m.is_file()),
            "marked again, or the publish would not claim it"
        );
        let prepared = std::fs::metadata(&spare).unwrap().ino();

        rewrite(&build.join("b.html"), "3");
        let report = target.run(&build).unwrap();
        assert_eq!((report.uploaded, report.unchanged), (1, 1), "{report:?}");
        assert_eq!(
            std::fs::metadata(&public).unwrap().ino(),
            prepared,
            "the prepared folder was swapped in, not a fresh one"
        );
        assert_eq!(std::fs::read_to_string(public.join("a.html")).unwrap(), "2");
        assert_eq!(std::fs::read_to_string(public.join("b.html")).unwrap(), "3");
    }

    #[test]
    fn same_bytes_by_inode() {
        let dir = tempfile::tempdir().unwrap();
        let (a, link, copy) = (
            dir.path().join("a"),
            dir.path().join("link"),
            dir.path().join("copy"),
        );
        std::fs::write(&a, b"status").unwrap();
        std::fs::hard_link(&a, &link).unwrap();
        std::fs::write(&copy, b"status").unwrap();
        let id = file_id(&a);
        assert!(same_bytes(id, &a, &link), "one inode");
        // On one file system another inode was made from other bytes (a build never rewrites
        // a file with the bytes it has): republished, never read.
        assert!(!same_bytes(id, &a, &copy));
        assert!(!same_bytes(id, &a, &dir.path().join("missing")));
        assert!(!same_bytes(None, &dir.path().join("missing"), &a));
    }
}
