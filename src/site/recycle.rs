//! Files the folder target no longer needs, kept in the build folder's cache for the next build
//! to write its changed pages into.
//!
//! Why: a build replaces a changed page by renaming a new file over it (a published hard link to
//! the old one must never change), and the folder target then drops the copy it held two runs
//! ago. That is one inode made and one freed per changed page per run: 2,000 of each for a
//! 2,000-component site, since every component page says when it was last checked. On a file
//! system without a journal, ext4 skips inodes freed in the last minutes when it makes a new
//! one, and making files became most of a run's time. Recycled, the same inodes go round:
//! the folder target moves a file only it held (one link) into the bin, and the build claims
//! one, writes the new page into it and renames it into place. Every replacement is still a
//! rename; nothing anyone can read is ever written in place.

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// The bin's folder inside the build folder's cache.
const BIN: &str = "recycled";

/// At most this many files wait in the bin (each holds an old page's bytes until reused).
const MOST: usize = 20_000;

/// The bin of the build folder `site`.
pub struct RecycleBin {
    dir: PathBuf,
    /// Names in the bin not yet tried, read once when first needed.
    names: Option<Vec<OsString>>,
}

impl RecycleBin {
    pub fn of(site: &Path) -> Self {
        Self {
            dir: site.join(super::CACHE_DIR).join(BIN),
            names: None,
        }
    }

    /// A file from the bin, opened for writing (call [`File::set_len`] after writing: it is
    /// not emptied first, so its blocks are written over rather than freed and found again), with its path (rename it into place
    /// once written). `None` when the bin is empty. A file that is not a regular file with a
    /// single link is removed, never written.
    ///
    /// Taken where it lies, not claimed by a rename first: the bin is the build folder's, and
    /// two builds into one folder at once are already refused by history's lock (`run`) or
    /// race on every page anyway (`build`).
    pub fn take(&mut self) -> Option<(File, PathBuf)> {
        let dir = &self.dir;
        let names = self.names.get_or_insert_with(|| {
            std::fs::read_dir(dir)
                .map(|entries| entries.filter_map(|e| Some(e.ok()?.file_name())).collect())
                .unwrap_or_default()
        });
        while let Some(name) = names.pop() {
            let path = dir.join(&name);
            match open_exclusive(&path) {
                Ok(file) => return Some((file, path)),
                Err(_) => {
                    let _ = std::fs::remove_file(&path);
                }
            }
        }
        None
    }

    /// Moves `file` into the bin if only it holds those bytes (one link), else removes it.
    pub fn put(&mut self, file: &Path, serial: usize) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::symlink_metadata(file)?;
        if meta.is_file() && meta.nlink() == 1 && serial < MOST {
            std::fs::create_dir_all(&self.dir)?;
            let name = format!("{}-{serial}", std::process::id());
            if std::fs::rename(file, self.dir.join(name)).is_ok() {
                return Ok(());
            }
        }
        std::fs::remove_file(file)
    }
}

/// Opens `path` for writing without following a link, checks it is a regular file nobody else
/// links to.
fn open_exclusive(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.nlink() != 1 {
        return Err(io::Error::other("not a file only the bin held"));
    }
    // Its mode stays: it was a site file, made with the mode a new file gets (0666 less umask).
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_goes_round_and_a_shared_one_is_never_reused() {
        let site = tempfile::tempdir().unwrap();
        let mut bin = RecycleBin::of(site.path());
        assert!(bin.take().is_none(), "empty bin");

        let (old, shared, link) = (
            site.path().join("old.html"),
            site.path().join("shared.html"),
            site.path().join("link.html"),
        );
        std::fs::write(&old, b"old page").unwrap();
        std::fs::write(&shared, b"published").unwrap();
        std::fs::hard_link(&shared, &link).unwrap();
        bin.put(&old, 0).unwrap();
        bin.put(&shared, 1).unwrap();
        assert!(!old.exists() && !shared.exists());
        assert_eq!(
            std::fs::read(&link).unwrap(),
            b"published",
            "removed, not moved"
        );

        let mut bin = RecycleBin::of(site.path());
        let (mut file, path) = bin.take().unwrap();
        std::io::Write::write_all(&mut file, b"new").unwrap();
        file.set_len(3).unwrap();
        drop(file);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"new",
            "cut to what was written"
        );
        assert!(bin.take().is_none(), "one file only");
    }

    #[test]
    fn a_file_linked_after_it_was_binned_is_not_written() {
        let site = tempfile::tempdir().unwrap();
        let mut bin = RecycleBin::of(site.path());
        let page = site.path().join("page.html");
        std::fs::write(&page, b"page").unwrap();
        bin.put(&page, 0).unwrap();
        let binned = std::fs::read_dir(site.path().join(crate::site::CACHE_DIR).join(BIN))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let elsewhere = site.path().join("elsewhere.html");
        std::fs::hard_link(&binned, &elsewhere).unwrap();
        let mut bin = RecycleBin::of(site.path());
        assert!(bin.take().is_none());
        assert_eq!(std::fs::read(&elsewhere).unwrap(), b"page");
    }
}
