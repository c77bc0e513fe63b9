//! Reading the site's inputs (`incidents/`, `content/`, `static/`, `themes/`) without following
//! a symbolic link out of them.
//!
//! These folders arrive by pull request, and git keeps symbolic links: `content/env.md ->
//! /proc/self/environ` would otherwise publish the process environment (DSN passwords
//! included) as `env.html`, and `static/passwd.txt -> /etc/passwd` would copy the runner's
//! files into the site.
//!
//! The rule: a file is read only when its real location (every link resolved) lies inside the
//! *same* input folder as the path it was found under, and it is a regular file. So a link
//! between two files of `static/` keeps working (the one use people have for them), while a
//! link to anything else is refused, including things inside the site folder that are not
//! inputs: the config (which may hold secrets), `.git/` (remote URLs with tokens), `.env`,
//! the history store, the build output, and a private incident linked from `static/` (which
//! would publish its withheld text raw). A reviewer sees a link as one innocuous line, so
//! "inside the site folder" is not a safe enough bound; "inside the same input folder" is:
//! anything a link there can reach, the pull request could have added as a plain file,
//! visible in the diff.
//!
//! Walking never descends into a linked folder, wherever it points: a folder link can form a
//! loop (`static/loop -> .`) or repeat a tree, and refusing it keeps the walk finite and the
//! rest of the folder published. Every refused entry is returned with its path, so `check`
//! fails on it and `build`/`run` report it and leave it out.
//!
//! The check and the read are two system calls; someone who can change the runner's files
//! between them is already past this boundary (the threat here is the content of a pull
//! request, not a local attacker racing the build).

use std::io;
use std::path::{Path, PathBuf};

/// The input folders of a site, relative to the config file's folder.
pub const INPUT_FOLDERS: [&str; 4] = ["incidents", "content", "static", "themes"];

/// An input file that was refused (left out of the build).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(
        "{}: symbolic link to `{}`, which is outside {}/; it was left out",
        path.display(), target.display(), folder
    )]
    LinkOutside {
        path: PathBuf,
        target: PathBuf,
        folder: String,
    },
    #[error("{}: symbolic link to a folder; folder links are not followed, it was left out", path.display())]
    LinkedFolder { path: PathBuf },
    #[error("{}: symbolic link that cannot be resolved (missing target or a loop); it was left out", path.display())]
    BrokenLink {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: not a regular file (a device, pipe or socket); it was left out", path.display())]
    NotAFile { path: PathBuf },
    #[error("{}: cannot be read", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl InputError {
    /// The path as found under the input folder.
    pub fn path(&self) -> &Path {
        match self {
            Self::LinkOutside { path, .. }
            | Self::LinkedFolder { path }
            | Self::BrokenLink { path, .. }
            | Self::NotAFile { path }
            | Self::Io { path, .. } => path,
        }
    }

    /// The message without the path (for reports that print the path apart), causes included.
    pub fn reason(&self) -> String {
        let full = self.to_string();
        let prefix = format!("{}: ", self.path().display());
        let mut text = full.strip_prefix(&prefix).unwrap_or(&full).to_owned();
        for cause in crate::text::causes(self) {
            text.push_str(": ");
            text.push_str(&cause.to_string());
        }
        text
    }

    /// How to fix it.
    pub fn help(&self) -> &'static str {
        match self {
            Self::LinkOutside { .. } | Self::LinkedFolder { .. } | Self::BrokenLink { .. } => {
                "replace the link with the file itself (links may only point to files in the same input folder)"
            }
            Self::NotAFile { .. } => "remove it; only regular files are inputs",
            Self::Io { .. } => "check the file's permissions",
        }
    }
}

/// A file found by [`InputFolder::walk`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// `/`-separated path relative to the walked folder.
    pub relative: String,
    /// The path as found (the real location was checked to be inside the folder).
    pub path: PathBuf,
}

/// What [`InputFolder::walk`] found: the files to read, and the entries refused.
#[derive(Debug, Default)]
pub struct Walk {
    pub files: Vec<InputFile>,
    pub refused: Vec<InputError>,
}

/// One input folder of a site (`<site>/static`, ...), and the bound its files must stay in.
#[derive(Debug, Clone)]
pub struct InputFolder {
    /// The folder as configured (what paths in messages start with).
    dir: PathBuf,
    /// Its real location: the site folder's real path joined with the folder's *name*, so a
    /// folder that is itself a link somewhere else does not move the bound with it.
    bound: Option<PathBuf>,
    /// The folder's real location is [`InputFolder::bound`] (it is not a link, nor inside a
    /// linked folder of the site): a plain file directly in it is inside without resolving.
    dir_is_bound: bool,
    name: String,
}

impl InputFolder {
    /// The input folder at `dir` (e.g. `<site>/static`).
    pub fn new(dir: &Path) -> Self {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parent = dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // No site folder, no inputs: `None` refuses nothing because nothing is found.
        let bound = std::fs::canonicalize(parent)
            .ok()
            .map(|site| site.join(&name));
        let dir_is_bound = bound.is_some() && std::fs::canonicalize(dir).ok() == bound;
        Self {
            dir: dir.to_path_buf(),
            bound,
            dir_is_bound,
            name,
        }
    }

    /// The folder's path.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether `real` (a canonical path) lies strictly inside the folder.
    fn holds(&self, real: &Path) -> bool {
        self.bound
            .as_deref()
            .is_some_and(|bound| real != bound && real.starts_with(bound))
    }

    /// Checks that `path` may be read: its real location is a regular file inside the folder.
    /// Returns the real location, which is what should be opened.
    pub fn check(&self, path: &Path) -> Result<PathBuf, InputError> {
        let is_link = std::fs::symlink_metadata(path)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false);
        let real = std::fs::canonicalize(path).map_err(|source| {
            if is_link {
                InputError::BrokenLink {
                    path: path.to_path_buf(),
                    source,
                }
            } else {
                InputError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        if !self.holds(&real) {
            // The link as written (what the pull request shows), or the real path when the
            // link is a folder higher up.
            let target = std::fs::read_link(path).unwrap_or(real);
            return Err(InputError::LinkOutside {
                path: path.to_path_buf(),
                target,
                folder: self.name.clone(),
            });
        }
        let meta = std::fs::metadata(&real).map_err(|source| InputError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if meta.is_dir() {
            return Err(InputError::LinkedFolder {
                path: path.to_path_buf(),
            });
        }
        if !meta.is_file() {
            return Err(InputError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        Ok(real)
    }

    /// The bytes of `path`, or `None` when there is no such file (and no link by that name).
    pub fn read(&self, path: &Path) -> Result<Option<Vec<u8>>, InputError> {
        let Ok(meta) = std::fs::symlink_metadata(path) else {
            return Ok(None);
        };
        // A regular file (not a link) directly in a folder that is where it says it is: its
        // real location is the bound joined with its name, known without resolving the path
        // one component at a time (for 10,000 incidents, about a third of their reading).
        let plain =
            meta.is_file() && self.dir_is_bound && path.parent() == Some(self.dir.as_path());
        if plain {
            // Opened without following a link: one swapped in since the look is refused.
            return read_no_follow(path)
                .map(Some)
                .map_err(|source| InputError::Io {
                    path: path.to_path_buf(),
                    source,
                });
        }
        let real = self.check(path)?;
        std::fs::read(&real)
            .map(Some)
            .map_err(|source| InputError::Io {
                path: path.to_path_buf(),
                source,
            })
    }

    /// The text of `path`, or `None` when there is no such file.
    pub fn read_to_string(&self, path: &Path) -> Result<Option<String>, InputError> {
        self.read(path)?
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|e| InputError::Io {
                    path: path.to_path_buf(),
                    source: io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()),
                })
            })
            .transpose()
    }

    /// Every file under `dir` (the folder itself or a folder inside it), sorted by path, and
    /// every entry refused. A missing `dir` is empty. Linked folders are reported, not walked;
    /// an unreadable sub-folder is reported and the rest is still walked.
    pub fn walk(&self, dir: &Path) -> Walk {
        self.walk_to_depth(dir, usize::MAX)
    }

    /// [`InputFolder::walk`], only the files directly in `dir` (`incidents/*.md`).
    pub fn walk_top(&self, dir: &Path) -> Walk {
        self.walk_to_depth(dir, 1)
    }

    fn walk_to_depth(&self, dir: &Path, max_depth: usize) -> Walk {
        let mut walk = Walk::default();
        match std::fs::symlink_metadata(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return walk,
            Err(source) => {
                walk.refused.push(InputError::Io {
                    path: dir.to_path_buf(),
                    source,
                });
                return walk;
            }
            Ok(meta) if meta.file_type().is_symlink() => {
                // `static -> /etc` would move the whole folder: refused like any folder link.
                walk.refused.push(match std::fs::canonicalize(dir) {
                    Ok(real) if !self.holds(&real) => InputError::LinkOutside {
                        path: dir.to_path_buf(),
                        target: std::fs::read_link(dir).unwrap_or(real),
                        folder: self.name.clone(),
                    },
                    Ok(_) => InputError::LinkedFolder {
                        path: dir.to_path_buf(),
                    },
                    Err(source) => InputError::BrokenLink {
                        path: dir.to_path_buf(),
                        source,
                    },
                });
                return walk;
            }
            Ok(meta) if !meta.is_dir() => return walk,
            Ok(_) => {}
        }
        let entries = walkdir::WalkDir::new(dir)
            .follow_links(false)
            .max_depth(max_depth)
            .sort_by_file_name();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    let path = e.path().unwrap_or(dir).to_path_buf();
                    walk.refused.push(InputError::Io {
                        path,
                        source: e.into(),
                    });
                    continue;
                }
            };
            if entry.file_type().is_dir() {
                continue;
            }
            // A plain file found by a walk that follows no link is where it seems to be (the
            // walked folder was checked above): only links need resolving. That keeps a
            // 10,000-incident folder at one `lstat` per file.
            let checked = if entry.file_type().is_file() {
                Ok(entry.path().to_path_buf())
            } else if entry.path_is_symlink() {
                self.check(entry.path())
            } else {
                Err(InputError::NotAFile {
                    path: entry.path().to_path_buf(),
                })
            };
            match checked {
                Ok(_) => {
                    let Ok(rel) = entry.path().strip_prefix(dir) else {
                        continue;
                    };
                    walk.files.push(InputFile {
                        relative: rel.to_string_lossy().replace('\\', "/"),
                        path: entry.path().to_path_buf(),
                    });
                }
                Err(e) => walk.refused.push(e),
            }
        }
        walk
    }
}

/// Every input entry of the site at `site_dir` that would be refused, theme `theme`'s folder
/// included: what `check` fails on and `build`/`run` report. Incident files are not included:
/// reading them reports their own errors (see [`crate::incident::load_dir`]).
pub fn refused(site_dir: &Path, theme: &str) -> Vec<InputError> {
    let content = InputFolder::new(&site_dir.join("content"));
    let mut out = content.walk_top(content.dir()).refused;
    let statics = InputFolder::new(&site_dir.join("static"));
    out.extend(statics.walk(statics.dir()).refused);
    let themes = InputFolder::new(&site_dir.join("themes"));
    let theme_dir = themes.dir().join(theme);
    if std::fs::symlink_metadata(themes.dir()).is_ok_and(|m| m.file_type().is_symlink()) {
        out.extend(themes.walk(themes.dir()).refused);
    } else {
        out.extend(themes.walk(&theme_dir).refused);
    }
    out
}

/// The bytes of `path`, which must not be a symbolic link.
fn read_no_follow(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_inside_the_folder_are_read_and_links_out_of_it_are_not() {
        let site = tempfile::tempdir().unwrap();
        let stat = site.path().join("static");
        std::fs::create_dir_all(stat.join("img")).unwrap();
        std::fs::write(stat.join("img/logo.svg"), "<svg/>").unwrap();
        std::fs::write(site.path().join("upstate.toml"), "secret").unwrap();
        symlink("img/logo.svg", stat.join("logo.svg")).unwrap();
        symlink("../upstate.toml", stat.join("config.txt")).unwrap();
        symlink("/etc/hostname", stat.join("host.txt")).unwrap();
        symlink(".", stat.join("loop")).unwrap();
        symlink("nowhere", stat.join("dangling")).unwrap();
        let folder = InputFolder::new(&stat);
        let walk = folder.walk(&stat);
        let files: Vec<&str> = walk.files.iter().map(|f| f.relative.as_str()).collect();
        assert_eq!(files, ["img/logo.svg", "logo.svg"]);
        let mut refused: Vec<String> = walk
            .refused
            .iter()
            .map(|e| e.path().file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        refused.sort();
        assert_eq!(refused, ["config.txt", "dangling", "host.txt", "loop"]);
        assert!(matches!(
            folder.read(&stat.join("config.txt")),
            Err(InputError::LinkOutside { .. })
        ));
        assert_eq!(folder.read(&stat.join("absent")).unwrap(), None);
        assert_eq!(
            folder.read(&stat.join("logo.svg")).unwrap().as_deref(),
            Some(&b"<svg/>"[..])
        );
    }

    #[test]
    fn a_linked_input_folder_is_refused_as_a_whole() {
        let site = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("a.txt"), "x").unwrap();
        symlink(elsewhere.path(), site.path().join("static")).unwrap();
        let folder = InputFolder::new(&site.path().join("static"));
        let walk = folder.walk(folder.dir());
        assert!(walk.files.is_empty());
        assert_eq!(walk.refused.len(), 1);
        assert!(matches!(
            folder.read(&site.path().join("static/a.txt")),
            Err(InputError::LinkOutside { .. })
        ));
    }
}
