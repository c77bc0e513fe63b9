//! The last check before the build empties a folder: the output folder and a folder target are
//! judged on their real paths (links resolved; see [`crate::config::places`] for the rules and
//! why), and must be upstate's own: empty, or holding the marker file an earlier build wrote.
//!
//! A folder that is not empty and has no marker belongs to someone else (a mistyped path,
//! `/var/www` with other sites in it, the repository itself): it is refused with its name and
//! the fix, and nothing in it is touched. The marker is never published to S3 or git; a folder
//! target gets it too, since the next publish must recognise that folder as well.

use std::io;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::config::places::{self, PlaceProblem};

pub use crate::site::MARKER;

const MARKER_TEXT: &str = "This folder is written by upstate (https://github.com/upstate-status/upstate).\n\
Every build replaces what is in it: keep nothing else here.\n";

/// Files every site upstate builds has: a folder holding all of them without the marker is a
/// build from before the marker existed, adopted rather than refused (so upgrading does not
/// stop every existing site).
const EARLIER_BUILD: [&str; 5] = [
    "index.html",
    "status.json",
    "_headers",
    "robots.txt",
    "sitemap.xml",
];

/// Why the build will not write a folder.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("{0}")]
    Place(PlaceProblem),
    #[error(
        "`[publish] {key}` ({}) is not empty and has no {MARKER} file, so upstate did not build it; nothing in it was changed",
        folder.display()
    )]
    Foreign { key: &'static str, folder: PathBuf },
    #[error("`[publish] {key}` ({}) cannot be read", folder.display())]
    Io {
        key: &'static str,
        folder: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl GuardError {
    /// How to fix it.
    pub fn help(&self) -> String {
        match self {
            Self::Place(p) => p.help.clone(),
            Self::Foreign { key, .. } => format!(
                "point `[publish] {key}` at a new or empty folder (upstate removes every file there it did not make), or, if this folder really is upstate's, add an empty {MARKER} file to it"
            ),
            Self::Io { .. } => "check the folder's permissions".to_owned(),
        }
    }
}

/// The rules of [`places`] for `key` (`output` or `target`), on the real paths.
pub fn check_place(config: &Config, key: &str) -> Result<(), GuardError> {
    match places::problems(config, places::real)
        .into_iter()
        .find(|p| p.key == key)
    {
        Some(problem) => Err(GuardError::Place(problem)),
        None => Ok(()),
    }
}

/// Whether upstate may empty `dir`: missing, empty, marked, or an earlier build.
pub fn check_ours(dir: &Path, key: &'static str) -> Result<(), GuardError> {
    let io = |source| GuardError::Io {
        key,
        folder: dir.to_path_buf(),
        source,
    };
    let mut entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(e)),
    };
    if entries.next().is_none() {
        return Ok(());
    }
    // The marker as a file of its own, not a link someone placed to make a folder look ours.
    let marked = std::fs::symlink_metadata(dir.join(MARKER)).is_ok_and(|m| m.is_file());
    let earlier_build = EARLIER_BUILD
        .iter()
        .all(|f| std::fs::symlink_metadata(dir.join(f)).is_ok_and(|m| m.is_file()));
    if marked || earlier_build {
        Ok(())
    } else {
        Err(GuardError::Foreign {
            key,
            folder: dir.to_path_buf(),
        })
    }
}

/// Writes the marker into `dir` (created if missing).
pub fn mark(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(MARKER);
    if std::fs::read(&path).is_ok_and(|b| b == MARKER_TEXT.as_bytes()) {
        return Ok(());
    }
    std::fs::write(path, MARKER_TEXT)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn only_empty_marked_or_earlier_build_folders_are_ours() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("out");
        assert!(check_ours(&d, "output").is_ok(), "missing");
        std::fs::create_dir(&d).unwrap();
        assert!(check_ours(&d, "output").is_ok(), "empty");
        std::fs::write(d.join("notes.txt"), "mine").unwrap();
        let e = check_ours(&d, "output").unwrap_err();
        assert!(e.to_string().contains("has no .upstate-build file"), "{e}");
        assert!(e.help().contains("new or empty folder"));
        mark(&d).unwrap();
        assert!(check_ours(&d, "output").is_ok(), "marked");
        std::fs::remove_file(d.join(MARKER)).unwrap();
        for f in EARLIER_BUILD {
            std::fs::write(d.join(f), "x").unwrap();
        }
        assert!(check_ours(&d, "output").is_ok(), "earlier build");
    }
}
