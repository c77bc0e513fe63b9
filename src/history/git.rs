//! `store = "git+<repo-url>#<branch>"`: history kept on a branch of a git repository, so it
//! survives ephemeral CI runners with nothing but the repository's own push access (the same
//! URL rules and credentials as the git publish target, see [`crate::git`]).
//!
//! A run works on a local copy:
//! 1. [`Store::lock`] takes a lock file under the site's `.upstate/` (two runs on one machine
//!    do not interleave), then [`Store::sync`] fetches the branch tip (depth 1) and checks its
//!    files out into a temporary folder. A remote that cannot be reached or read is an error: a
//!    run never starts from empty history because the network failed. Only a branch that does
//!    not exist yet starts empty, and a warning says so.
//! 2. Reads and writes go to that folder through a [`LocalStore`].
//! 3. [`Store::commit`] turns the folder into one root commit and pushes it with
//!    `--force-with-lease=refs/heads/<branch>:<tip that was fetched>`: the branch always holds
//!    exactly one commit (history lives in the files, not in the log, so the repository never
//!    grows with it), and it only replaces what this run read. Across machines the lease is the
//!    lock: when another run moved the branch, the push is refused, the fresh tip is fetched
//!    again and [`Committed::Refreshed`] tells the caller to re-apply its writes on top (see
//!    [`super::History::finish`]); nobody's observations are forced away.

use std::path::PathBuf;
use std::sync::Mutex;

use super::{Committed, HistoryError, LocalStore, Store, StoreLock};
use crate::config::Config;
use crate::git::{GitError, Pushed, Remote, Workspace};

/// Branch used when the store names none.
pub const DEFAULT_BRANCH: &str = "upstate-history";

/// A history branch, checked out in a temporary folder.
pub struct GitStore {
    workspace: Workspace,
    /// The checked-out files: `<workspace>/files`.
    files_dir: PathBuf,
    files: LocalStore,
    /// Where the machine-local lock lives (the site's `.upstate/history-git`).
    lock_dir: PathBuf,
    /// The tip the files came from: `None` before [`Store::sync`], `Some(None)` when the branch
    /// did not exist. The push is leased on it.
    fetched: Mutex<Option<Option<String>>>,
}

impl std::fmt::Debug for GitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitStore")
            .field("remote", self.workspace.remote())
            .finish_non_exhaustive()
    }
}

fn remote_error(e: GitError) -> HistoryError {
    HistoryError::Remote {
        store: e.target,
        reason: e.reason,
    }
}

impl GitStore {
    /// Parses `git+<url>#<branch>` (relative paths against the config's folder) and prepares an
    /// empty local repository; nothing is fetched until [`Store::sync`].
    pub fn new(config: &Config, raw: &str) -> Result<Self, HistoryError> {
        let (remote, options) =
            Remote::parse(raw, &config.base_dir(), DEFAULT_BRANCH).map_err(remote_error)?;
        if !options.is_empty() {
            return Err(remote_error(remote.fail(format!(
                "a history store takes no `?{options}`: its branch always holds one commit\n= help: write `git+<repo-url>#<branch>`"
            ))));
        }
        let workspace = Workspace::new(&remote, "upstate-history-").map_err(remote_error)?;
        let files_dir = workspace.dir().join("files");
        Ok(Self {
            files: LocalStore::new(&files_dir),
            files_dir,
            workspace,
            lock_dir: config.resolve(".upstate/history-git"),
            fetched: Mutex::new(None),
        })
    }

    fn git(&self, args: &[&str]) -> Result<String, HistoryError> {
        self.workspace.git(args).map_err(remote_error)
    }

    fn git_in_files(&self, args: &[&str]) -> Result<String, HistoryError> {
        self.workspace
            .git_with_work_tree(args, Some(&self.files_dir))
            .map_err(remote_error)
    }

    fn io(&self, what: &str, e: std::io::Error) -> HistoryError {
        HistoryError::Remote {
            store: self.workspace.remote().name().to_owned(),
            reason: format!("{what}: {e}"),
        }
    }

    /// The fetched tip, or an error when the store is used before [`Store::sync`] (reading an
    /// empty folder would look like empty history).
    fn seen(&self) -> Result<Option<String>, HistoryError> {
        let fetched = self
            .fetched
            .lock()
            .map_err(|_| self.io("state", std::io::Error::other("poisoned")))?;
        fetched.clone().ok_or_else(|| HistoryError::Remote {
            store: self.workspace.remote().name().to_owned(),
            reason: "used before the branch was fetched".to_owned(),
        })
    }

    fn ready(&self) -> Result<(), HistoryError> {
        self.seen().map(drop)
    }

    fn set_seen(&self, tip: Option<String>) {
        if let Ok(mut fetched) = self.fetched.lock() {
            *fetched = Some(tip);
        }
    }
}

struct NoLock;
impl StoreLock for NoLock {}

impl Store for GitStore {
    fn describe(&self, key: &str) -> String {
        let name = self.workspace.remote().name();
        if key.is_empty() {
            name.to_owned()
        } else {
            format!("{name}:{key}")
        }
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, HistoryError> {
        self.ready()?;
        self.files.get(key)
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), HistoryError> {
        self.ready()?;
        self.files.put(key, bytes)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, HistoryError> {
        self.ready()?;
        self.files.list(prefix)
    }

    fn delete(&self, key: &str) -> Result<(), HistoryError> {
        self.ready()?;
        self.files.delete(key)
    }

    fn rename(&self, from: &str, to: &str) -> Result<(), HistoryError> {
        self.ready()?;
        self.files.rename(from, to)
    }

    /// The machine-local lock only: across machines the push's lease does the job.
    fn lock(&self) -> Result<Box<dyn StoreLock>, HistoryError> {
        match LocalStore::new(&self.lock_dir).lock() {
            Ok(lock) => Ok(lock),
            // A read-only site folder: the lease still protects the branch.
            Err(HistoryError::Io { file, reason }) => {
                tracing::warn!(%file, %reason, "Could not take the local history lock; relying on the push lease.");
                Ok(Box::new(NoLock))
            }
            Err(e) => Err(e),
        }
    }

    fn sync(&self) -> Result<(), HistoryError> {
        let tip = self.workspace.fetch_tip(1).map_err(remote_error)?;
        match std::fs::remove_dir_all(&self.files_dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.io("clearing the working folder", e)),
        }
        std::fs::create_dir_all(&self.files_dir)
            .map_err(|e| self.io("creating the working folder", e))?;
        let index = self.workspace.dir().join(".git/index");
        match std::fs::remove_file(&index) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(self.io("clearing the index", e)),
        }
        match &tip {
            Some(tip) => {
                self.git(&["read-tree", tip])?;
                // `-u`: the index learns the files' stat data, so `add` does not re-read them all.
                self.git_in_files(&["checkout-index", "-a", "-f", "-u"])?;
                tracing::info!(store = %self.workspace.remote().name(), tip = %tip, "Fetched history.");
            }
            None => tracing::warn!(
                "History branch `{}` does not exist yet in {}: starting with empty history; this run creates it.",
                self.workspace.remote().branch(),
                self.workspace.remote().name()
            ),
        }
        self.set_seen(tip);
        Ok(())
    }

    fn commit(&self) -> Result<Committed, HistoryError> {
        let seen = self.seen()?;
        // `-f`: a `.gitignore` among the files or the user's global excludes must not drop one.
        // The temporary file of a write that failed half-way is not history.
        self.git_in_files(&["add", "-A", "-f", "--", ".", ":(exclude,glob)**/.tmp*"])?;
        let tree = self.git(&["write-tree"])?;
        if let Some(tip) = &seen
            && self.workspace.tree_of(tip).map_err(remote_error)? == tree
            && self.workspace.parent_count(tip).map_err(remote_error)? == 0
        {
            return Ok(Committed::Done);
        }
        let message = format!(
            "Upstate history, {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        );
        let commit = self
            .workspace
            .commit(&tree, None, &message)
            .map_err(remote_error)?;
        match self
            .workspace
            .push(&commit, Some(seen.as_deref()))
            .map_err(remote_error)?
        {
            Pushed::Done => {
                tracing::info!(store = %self.workspace.remote().name(), commit = %commit, "Pushed history.");
                self.set_seen(Some(commit));
                Ok(Committed::Done)
            }
            Pushed::RemoteMoved(why) => {
                tracing::info!(
                    store = %self.workspace.remote().name(),
                    reason = %why,
                    "Another run moved the history branch; fetching it to apply this run on top."
                );
                self.sync()?;
                Ok(Committed::Refreshed)
            }
        }
    }
}
