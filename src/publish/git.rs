//! `target = "git+<repo-url>#<branch>"`: the site becomes the content of a git branch, the way
//! GitHub and GitLab Pages serve it.
//!
//! URL rules, credentials and the git invocation are shared with the git history store
//! ([`crate::git`]): the system `git`, so the SSH agent, credential helpers, `GIT_ASKPASS` and CI
//! tokens work as users set them up; a token in the URL never reaches a command line or a message.
//!
//! One publish, in a throw-away repository in a temporary folder:
//!
//! 1. `git init`; the remote URL is written into `.git/config` directly.
//! 2. The built site becomes a tree (`git add` with the site as the work tree: nothing is copied).
//! 3. Loop, at most [`ATTEMPTS`] times: read the branch tip (`ls-remote`, then a depth-1 fetch);
//!    the tree to publish is the site plus the Pages files the branch has and the site does not
//!    make ([`KEPT_FROM_BRANCH`]: a `CNAME` set in the repository settings, `.nojekyll`; an empty
//!    `.nojekyll` is added when neither has one, so GitHub Pages serves `_headers` and friends
//!    untouched). Same tree as the tip: nothing to publish. Otherwise commit and push:
//!    - `?mode=single-commit` (the default): a new root commit every time, so a branch rewritten
//!      every five minutes keeps one commit instead of gaining 288 a day; the repository never
//!      grows with the page's history (a generated page's history has no value: the history
//!      store keeps the facts). It is pushed with
//!      `--force-with-lease=refs/heads/<branch>:<tip we fetched>`: the branch is only replaced
//!      if it still holds the commit we looked at. A commit pushed by someone else in between
//!      fails the lease (`[rejected] (stale info)`), and we fetch and look again. A foreign tip
//!      that we did see is replaced (that is what the mode means) and logged as a warning; the
//!      Pages files it carried stay (step 3).
//!    - `?mode=incremental`: the commit's parent is the tip we fetched; a plain push, which the
//!      remote refuses if the branch moved meanwhile (`[rejected] (fetch first)`): we fetch again
//!      and rebuild the commit on the new tip, so nobody's commit is ever dropped. For who wants
//!      every published page in the branch's log, at the cost of a commit per changed publish.

use std::path::Path;
use std::time::Duration;

use super::{PublishError, PublishReport, Target};
use crate::git::{COMMITTER_EMAIL, GitError, Pushed, Remote, Workspace};
use futures_util::future::BoxFuture;

/// Branch used when the target names none: what GitHub Pages' classic setup serves.
pub const DEFAULT_BRANCH: &str = "gh-pages";

/// Pushes tried before giving up when the remote keeps moving under us. Each retry fetches the
/// fresh tip first, so only a branch that several writers update every second exhausts this.
pub const ATTEMPTS: u32 = 5;

/// Tells GitHub Pages not to run Jekyll, which would drop `_headers` and other `_` files.
const NOJEKYLL: &str = ".nojekyll";

/// Files Pages reads that the site does not own: set on the branch by the host's settings page
/// (the custom domain writes `CNAME`) or by hand. Kept from the branch when the site does not
/// make them, never deleted.
pub const KEPT_FROM_BRANCH: [&str; 2] = ["CNAME", NOJEKYLL];

/// How a publish relates to the branch's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new commit on top of the branch tip.
    Incremental,
    /// The branch always holds exactly one commit: the current site.
    SingleCommit,
}

/// The built site as a tree in the publishing repository.
struct SiteTree {
    /// The tree's id.
    tree: String,
    /// Its file paths.
    files: Vec<String>,
}

/// A git branch target.
#[derive(Clone)]
pub struct GitTarget {
    remote: Remote,
    mode: Mode,
    /// Redacted display name.
    name: String,
}

impl std::fmt::Debug for GitTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitTarget")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

fn failed(e: GitError) -> PublishError {
    PublishError::Failed {
        target: e.target,
        reason: e.reason,
    }
}

impl GitTarget {
    /// Parses `git+<url>#<branch>?mode=incremental` (branch and mode optional). A relative
    /// local path is taken relative to `base` (the config's folder), like every other path.
    pub fn new(raw: &str, base: &Path) -> Result<Self, PublishError> {
        let (remote, options) = Remote::parse(raw, base, DEFAULT_BRANCH).map_err(failed)?;
        let mut mode = Mode::SingleCommit;
        for option in options.split('&').filter(|o| !o.is_empty()) {
            mode = match option {
                "mode=incremental" => Mode::Incremental,
                "mode=single-commit" => Mode::SingleCommit,
                other => {
                    return Err(failed(remote.fail(format!(
                        "unknown option `{other}` after `#{}?`\n= help: use `?mode=single-commit` (the default) or `?mode=incremental`",
                        remote.branch()
                    ))));
                }
            };
        }
        let mut name = remote.name().to_owned();
        if mode == Mode::Incremental {
            name.push_str("?mode=incremental");
        }
        Ok(Self { remote, mode, name })
    }

    /// The branch published to.
    pub fn branch(&self) -> &str {
        self.remote.branch()
    }

    /// Incremental or single-commit.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn fail(&self, reason: impl Into<String>) -> PublishError {
        failed(GitError {
            target: self.name.clone(),
            ..self.remote.fail(reason)
        })
    }

    fn renamed(&self, e: GitError) -> PublishError {
        PublishError::Failed {
            target: self.name.clone(),
            reason: e.reason,
        }
    }

    fn run(&self, site: &Path) -> Result<PublishReport, PublishError> {
        let site = std::fs::canonicalize(site)
            .map_err(|e| self.fail(format!("reading the built site {}: {e}", site.display())))?;
        let repo = Workspace::new(&self.remote, "upstate-git-").map_err(|e| self.renamed(e))?;
        let site = self.site_tree(&repo, &site)?;
        for attempt in 1..=ATTEMPTS {
            if let Some(report) = self.attempt(&repo, &site, attempt)? {
                return Ok(report);
            }
        }
        Err(self.fail(format!(
            "the branch `{}` kept changing under us; gave up after {ATTEMPTS} attempts (nothing was overwritten)",
            self.branch()
        )))
    }

    /// `git` in `repo`, its failure named after this target.
    fn git(&self, repo: &Workspace, args: &[&str]) -> Result<String, PublishError> {
        repo.git(args).map_err(|e| self.renamed(e))
    }

    /// Writes the built site as a tree into `repo` and lists its files.
    fn site_tree(&self, repo: &Workspace, site: &Path) -> Result<SiteTree, PublishError> {
        // `-f` because the tree must be the site exactly: a `.gitignore` in it or the user's
        // global excludes must not drop files. The build folder's marker and cache are
        // plumbing, not site.
        let marker = format!(":(exclude){}", super::guard::MARKER);
        let cache = format!(":(exclude){}", crate::site::CACHE_DIR);
        repo.git_with_work_tree(&["add", "-A", "-f", "--", ".", &marker, &cache], Some(site))
            .map_err(|e| self.renamed(e))?;
        let tree = self.git(repo, &["write-tree"])?;
        let files: Vec<String> = self
            .git(repo, &["ls-tree", "-r", "-z", "--name-only", &tree])?
            .split('\0')
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(SiteTree { tree, files })
    }

    /// One try at publishing on the branch's current tip. `None` when the branch moved
    /// meanwhile (after a pause that grows with `attempt`): fetch and try again.
    fn attempt(
        &self,
        repo: &Workspace,
        site: &SiteTree,
        attempt: u32,
    ) -> Result<Option<PublishReport>, PublishError> {
        let total = site.files.len();
        let tip = repo.fetch_tip(1).map_err(|e| self.renamed(e))?;
        let tip_tree = match &tip {
            Some(tip) => Some(repo.tree_of(tip).map_err(|e| self.renamed(e))?),
            None => None,
        };
        let extras = self.stage(repo, site, tip_tree.as_deref())?;
        let tree = self.git(repo, &["write-tree"])?;
        let report = match &tip_tree {
            Some(old) => self.diff(repo, old, &tree, total, &extras)?,
            None => PublishReport {
                uploaded: total,
                deleted: 0,
                unchanged: 0,
            },
        };
        let parents = match &tip {
            Some(tip) => repo.parent_count(tip).map_err(|e| self.renamed(e))?,
            None => 0,
        };
        let same_tree = tip_tree.as_deref() == Some(tree.as_str());
        // Single-commit mode also rewrites an unchanged tree when the branch has history
        // (say, it was published incrementally before), so the promise of one commit holds.
        if same_tree && (self.mode == Mode::Incremental || parents == 0) {
            tracing::info!(target_name = %self.name, "Git branch already holds this site; nothing to push.");
            return Ok(Some(PublishReport {
                uploaded: 0,
                deleted: 0,
                unchanged: total,
            }));
        }
        let (parent, lease) = match self.mode {
            Mode::Incremental => (tip.as_deref(), None),
            Mode::SingleCommit => (None, Some(tip.as_deref())),
        };
        let message = format!(
            "Publish status page {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        );
        let commit = repo
            .commit(&tree, parent, &message)
            .map_err(|e| self.renamed(e))?;
        match repo.push(&commit, lease).map_err(|e| self.renamed(e))? {
            Pushed::Done => {
                if self.mode == Mode::SingleCommit
                    && let Some(tip) = &tip
                {
                    self.log_replacement(repo, tip);
                }
                tracing::info!(target_name = %self.name, commit = %commit, "Pushed the site.");
                Ok(Some(report))
            }
            Pushed::RemoteMoved(why) => {
                tracing::info!(
                    target_name = %self.name,
                    attempt,
                    reason = %why,
                    "The branch moved while publishing; fetching it again."
                );
                std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                Ok(None)
            }
        }
    }

    /// Fills the index with the site, plus the Pages files the branch (tree `tip_tree`) has and
    /// the site does not make, or an empty `.nojekyll` when neither has one. Returns the names
    /// of the files added to the site's.
    fn stage(
        &self,
        repo: &Workspace,
        site: &SiteTree,
        tip_tree: Option<&str>,
    ) -> Result<Vec<&'static str>, PublishError> {
        self.git(repo, &["read-tree", &site.tree])?;
        let mut extras = Vec::new();
        for name in KEPT_FROM_BRANCH {
            if site.files.iter().any(|f| f == name) {
                continue;
            }
            let kept = match tip_tree {
                Some(t) => repo.entry(t, name).map_err(|e| self.renamed(e))?,
                None => None,
            };
            let (mode, id) = match kept {
                Some(entry) => entry,
                None if name == NOJEKYLL => (
                    "100644".to_owned(),
                    self.git(repo, &["hash-object", "-w", "-t", "blob", "/dev/null"])?,
                ),
                None => continue,
            };
            self.git(
                repo,
                &[
                    "update-index",
                    "--add",
                    "--cacheinfo",
                    &format!("{mode},{id},{name}"),
                ],
            )?;
            extras.push(name);
        }
        Ok(extras)
    }

    /// Uploaded / deleted / unchanged between the branch's tree and ours, site files only: the
    /// kept Pages files are the branch's, not the site's, so the counts match the site
    /// `upstate run` reports.
    fn diff(
        &self,
        repo: &Workspace,
        old: &str,
        new: &str,
        total: usize,
        extras: &[&str],
    ) -> Result<PublishReport, PublishError> {
        let listing = repo
            .git(&[
                "diff-tree",
                "-r",
                "-z",
                "--no-renames",
                "--name-status",
                old,
                new,
            ])
            .map_err(|e| self.renamed(e))?;
        let mut report = PublishReport::default();
        // `-z`: status and path alternate, each NUL-terminated.
        let fields: Vec<&str> = listing.split('\0').collect();
        for pair in fields.chunks(2) {
            if pair.get(1).is_some_and(|p| extras.contains(p)) {
                continue;
            }
            match pair.first().and_then(|status| status.chars().next()) {
                Some('D') => report.deleted += 1,
                Some(_) => report.uploaded += 1,
                None => {}
            }
        }
        report.unchanged = total.saturating_sub(report.uploaded);
        Ok(report)
    }

    /// Says which tip a single-commit push replaced (it had been fetched and compared first: the
    /// push was leased on it). A warning when upstate did not write that commit, since it has
    /// now left the branch.
    fn log_replacement(&self, repo: &Workspace, tip: &str) {
        let who = repo.author(tip);
        let short = tip.get(..12).unwrap_or(tip);
        if who.ends_with(&format!("<{COMMITTER_EMAIL}>")) {
            tracing::info!(target_name = %self.name, tip = short, "Replaced the previous single commit.");
        } else {
            tracing::warn!(
                target_name = %self.name,
                "Single-commit mode replaced tip {short} by {who}, which upstate did not write; it was fetched and compared before the (leased) push."
            );
        }
    }
}

impl Target for GitTarget {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn publish<'a>(&'a self, site: &'a Path) -> BoxFuture<'a, Result<PublishReport, PublishError>> {
        let this = self.clone();
        let site = site.to_path_buf();
        Box::pin(async move {
            // git runs as child processes under a deadline; waiting for them blocks a thread.
            tokio::task::spawn_blocking(move || this.run(&site))
                .await
                .unwrap_or_else(|e| Err(self.fail(format!("the publish crashed: {e}"))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> GitTarget {
        GitTarget::new(raw, Path::new("/site")).unwrap()
    }

    #[test]
    fn parses_branch_and_mode() {
        let t = parse("git+https://github.com/o/r.git");
        assert_eq!((t.branch(), t.mode()), ("gh-pages", Mode::SingleCommit));
        assert_eq!(t.name(), "git+https://github.com#gh-pages");
        let t = parse("git+https://github.com/o/r.git#pages?mode=incremental");
        assert_eq!((t.branch(), t.mode()), ("pages", Mode::Incremental));
        assert_eq!(t.name(), "git+https://github.com#pages?mode=incremental");
        let t = parse("git+https://github.com/o/r.git#pages?mode=single-commit");
        assert_eq!(t.mode(), Mode::SingleCommit);
    }

    #[test]
    fn refuses_bad_branches_and_options() {
        for raw in [
            "git+https://h/r#-x",
            "git+https://h/r#x?mode=fast",
            "git+#main",
        ] {
            assert!(GitTarget::new(raw, Path::new("/")).is_err(), "{raw}");
        }
    }

    #[test]
    fn tokens_never_reach_the_name_or_errors() {
        let t = parse("git+https://x-access-token:ghp_UNITTEST0456@github.com/o/r.git#gh-pages");
        assert_eq!(t.name(), "git+https://github.com#gh-pages");
        let err = t
            .fail("fatal: https://x-access-token:ghp_UNITTEST0456@github.com/o/r.git refused")
            .to_string();
        assert!(!err.contains("ghp_UNITTEST0456"), "{err}");
        assert!(!format!("{t:?}").contains("UNITTEST"));
    }
}
