//! `target = "git+<repo-url>#<branch>"`: the site becomes the content of a git branch, the way
//! GitHub and GitLab Pages serve it.
//!
//! This shells out to the system `git` (see `reference/dependencies.md`, "Git publishing"): gix
//! cannot push, and git2's https support drags in OpenSSL. The real `git` also makes credentials
//! work the way users already set them up: SSH agent, credential helpers, `GIT_ASKPASS`, CI tokens.
//!
//! One publish, in a throw-away repository in a temporary folder:
//!
//! 1. `git init`; the remote URL is written into `.git/config` directly rather than passed on a
//!    command line. An http(s) URL's `user:password` is taken out of it and handed to git by a
//!    credential helper reading the environment (see [`Credentials`]): git would otherwise pass
//!    the URL, token included, on its https helper's command line, readable in `ps`.
//! 2. The built site becomes a tree (`git add` with the site as the work tree: nothing is copied),
//!    plus an empty `.nojekyll` so GitHub Pages serves `_headers` and friends untouched.
//! 3. Loop, at most [`ATTEMPTS`] times: read the branch tip (`ls-remote`, then a depth-1 fetch),
//!    compare its tree with ours (same tree: nothing to publish), commit, push.
//!    - incremental (default): the commit's parent is the tip we fetched; a plain push, which the
//!      remote refuses if the branch moved meanwhile (`[rejected] (fetch first)`): we fetch again
//!      and rebuild the commit on the new tip, so nobody's commit is ever dropped.
//!    - `?mode=single-commit`: a new root commit every time, so a branch rewritten every minute
//!      does not grow the repository. It is pushed with
//!      `--force-with-lease=refs/heads/<branch>:<tip we fetched>`: the branch is only replaced
//!      if it still holds the commit we looked at. A commit pushed by someone else in between
//!      fails the lease (`[rejected] (stale info)`), and we fetch and look again. A foreign tip
//!      that we did see is replaced (that is what the mode means) and logged as a warning.
//!
//! The URL may carry a token (`https://x-access-token:TOKEN@github.com/...`): besides staying off
//! command lines, the target's name is redacted and every text git prints is scrubbed before it
//! goes into an error or a log line.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::{PublishError, PublishReport, Target};
use crate::config::secret::{Secret, redact_url, scrub};
use crate::probe::BoxFuture;

/// Branch used when the target names none: what GitHub Pages' classic setup serves.
pub const DEFAULT_BRANCH: &str = "gh-pages";

/// Pushes tried before giving up when the remote keeps moving under us. Each retry fetches the
/// fresh tip first, so only a branch that several writers update every second exhausts this.
pub const ATTEMPTS: u32 = 5;

/// Longest one git command may take. A stalled network (or an SSH prompt nobody answers) must not
/// hold a cron run forever; five minutes is far above what pushing a status site takes.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Tells GitHub Pages not to run Jekyll, which would drop `_headers` and other `_` files.
const NOJEKYLL: &str = ".nojekyll";

/// Committer of every publish commit; also how a tip we wrote is told from someone else's.
const COMMITTER_NAME: &str = "upstate";
const COMMITTER_EMAIL: &str = "upstate@localhost";

/// How a publish relates to the branch's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A new commit on top of the branch tip.
    Incremental,
    /// The branch always holds exactly one commit: the current site.
    SingleCommit,
}

/// A git branch target.
#[derive(Clone)]
pub struct GitTarget {
    /// The remote as git is given it: an http(s) URL's `user:password` is taken out (see
    /// [`Credentials`]). Not a [`Secret`]: that would register a plain path for scrubbing and
    /// blank it out of every message; [`split_credentials`] registers the parts that are secret.
    url: String,
    /// `user:password` from an http(s) URL, handed to git through the environment.
    credentials: Option<Credentials>,
    branch: String,
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

impl GitTarget {
    /// Parses `git+<url>#<branch>?mode=single-commit` (branch and mode optional). A relative
    /// local path is taken relative to `base` (the config's folder), like every other path.
    pub fn new(raw: &str, base: &Path) -> Result<Self, PublishError> {
        let rest = raw.strip_prefix("git+").unwrap_or(raw);
        let (url, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        let invalid = |reason: String| PublishError::Failed {
            target: format!("git+{}", redact_url(url)),
            reason,
        };
        if url.is_empty() {
            return Err(invalid(
                "no repository URL; write `git+<repo-url>#<branch>`".to_owned(),
            ));
        }
        if url.contains(['\n', '\r', '\0']) {
            return Err(invalid(
                "the repository URL contains a line break".to_owned(),
            ));
        }
        let (branch, options) = fragment.split_once('?').unwrap_or((fragment, ""));
        let branch = if branch.is_empty() {
            DEFAULT_BRANCH
        } else {
            branch
        };
        if !valid_branch(branch) {
            return Err(invalid(format!(
                "`{branch}` is not a valid branch name\n= help: write e.g. `#gh-pages` or `#pages/status`"
            )));
        }
        let mut mode = Mode::Incremental;
        for option in options.split('&').filter(|o| !o.is_empty()) {
            mode = match option {
                "mode=incremental" => Mode::Incremental,
                "mode=single-commit" => Mode::SingleCommit,
                other => {
                    return Err(invalid(format!(
                        "unknown option `{other}` after `#{branch}?`\n= help: use `?mode=incremental` (the default) or `?mode=single-commit`"
                    )));
                }
            };
        }
        let url = if is_local_path(url) && Path::new(url).is_relative() {
            // Absolute, because git runs in a temporary folder (and `base` may be `.`).
            let joined = base.join(url);
            std::path::absolute(&joined)
                .unwrap_or(joined)
                .to_string_lossy()
                .into_owned()
        } else {
            url.to_owned()
        };
        let (url, credentials) = split_credentials(&url).map_err(invalid)?;
        let mut name = format!("git+{}#{branch}", redact_url(&url));
        if mode == Mode::SingleCommit {
            name.push_str("?mode=single-commit");
        }
        Ok(Self {
            url,
            credentials,
            branch: branch.to_owned(),
            mode,
            name,
        })
    }

    /// The branch published to.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// Incremental or single-commit.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    fn fail(&self, reason: impl Into<String>) -> PublishError {
        PublishError::Failed {
            target: self.name.clone(),
            reason: self.clean(&reason.into()),
        }
    }

    /// Text from git made fit to print: every registered secret (the target's token among them)
    /// and the raw URL replaced.
    fn clean(&self, text: &str) -> String {
        let text = text.replace(&self.url, &redact_url(&self.url));
        scrub(text.trim())
    }

    async fn run(&self, site: &Path) -> Result<PublishReport, PublishError> {
        let site = std::fs::canonicalize(site)
            .map_err(|e| self.fail(format!("reading the built site {}: {e}", site.display())))?;
        let work = tempfile::Builder::new()
            .prefix("upstate-git-")
            .tempdir()
            .map_err(|e| self.fail(format!("creating a temporary repository: {e}")))?;
        let repo = Repo {
            dir: work.path().to_path_buf(),
            target: self,
        };
        repo.init().await?;
        let tree = repo.site_tree(&site).await?;
        let total = repo.count_files(&tree).await?;

        for attempt in 1..=ATTEMPTS {
            let tip = repo.fetch_tip().await?;
            let tip_tree = match &tip {
                Some(tip) => Some(repo.git(&["rev-parse", &format!("{tip}^{{tree}}")]).await?),
                None => None,
            };
            let report = match &tip_tree {
                Some(old) => repo.diff(old, &tree, total).await?,
                None => PublishReport {
                    uploaded: total,
                    deleted: 0,
                    unchanged: 0,
                },
            };
            let parents = match &tip {
                Some(tip) => repo.parent_count(tip).await?,
                None => 0,
            };
            let same_tree = tip_tree.as_deref() == Some(tree.as_str());
            // Single-commit mode also rewrites an unchanged tree when the branch has history
            // (say, it was published incrementally before), so the promise of one commit holds.
            if same_tree && (self.mode == Mode::Incremental || parents == 0) {
                tracing::info!(target_name = %self.name, "Git branch already holds this site; nothing to push.");
                return Ok(PublishReport {
                    uploaded: 0,
                    deleted: 0,
                    unchanged: total,
                });
            }
            let parent = match self.mode {
                Mode::Incremental => tip.as_deref(),
                Mode::SingleCommit => None,
            };
            let commit = repo.commit(&tree, parent).await?;
            match repo.push(&commit, tip.as_deref()).await? {
                Pushed::Done => {
                    if self.mode == Mode::SingleCommit
                        && let Some(tip) = &tip
                    {
                        repo.log_replacement(tip).await;
                    }
                    tracing::info!(target_name = %self.name, commit = %commit, "Pushed the site.");
                    return Ok(report);
                }
                Pushed::RemoteMoved(why) => {
                    tracing::info!(
                        target_name = %self.name,
                        attempt,
                        reason = %self.clean(&why),
                        "The branch moved while publishing; fetching it again."
                    );
                    tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
                }
            }
        }
        Err(self.fail(format!(
            "the branch `{}` kept changing under us; gave up after {ATTEMPTS} attempts (nothing was overwritten)",
            self.branch
        )))
    }
}

impl Target for GitTarget {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn publish<'a>(&'a self, site: &'a Path) -> BoxFuture<'a, Result<PublishReport, PublishError>> {
        Box::pin(self.run(site))
    }
}

/// What a push came to, when git itself did not fail.
enum Pushed {
    Done,
    /// Refused because the branch is no longer what we fetched; worth fetching again.
    RemoteMoved(String),
}

/// The temporary repository one publish works in.
struct Repo<'a> {
    dir: PathBuf,
    target: &'a GitTarget,
}

impl Repo<'_> {
    fn git_dir(&self) -> PathBuf {
        self.dir.join(".git")
    }

    /// `git init`, then the remote written straight into `.git/config` (no URL in any argv).
    async fn init(&self) -> Result<(), PublishError> {
        let fail = |e: std::io::Error| self.target.fail(format!("creating the repository: {e}"));
        self.git(&["-c", "init.defaultBranch=upstate", "init", "-q"])
            .await?;
        let mut section = format!(
            "[remote \"origin\"]\n\turl = {}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
            config_value(&self.target.url)
        );
        if self.target.credentials.is_some() {
            // The URL's own credentials, and only they: the empty entry drops the user's helpers
            // so none of them stores the token (`store` would write it to ~/.git-credentials).
            section.push_str(&format!(
                "[credential]\n\thelper =\n\thelper = {}\n",
                config_value(CREDENTIAL_HELPER)
            ));
        }
        let config = self.git_dir().join("config");
        let mut text = std::fs::read_to_string(&config).map_err(fail)?;
        text.push_str(&section);
        std::fs::write(&config, text).map_err(fail)?;
        Ok(())
    }

    /// Runs git in the temporary repository; stdout (trimmed) on success, a scrubbed error naming
    /// the subcommand otherwise.
    async fn git(&self, args: &[&str]) -> Result<String, PublishError> {
        let out = self.output(args, None).await?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(self.failed(args, &out))
        }
    }

    fn failed(&self, args: &[&str], out: &std::process::Output) -> PublishError {
        let sub = args
            .iter()
            .find(|a| !a.starts_with('-') && !a.contains('='))
            .copied()
            .unwrap_or("git");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let said = if stderr.trim().is_empty() {
            stdout
        } else {
            stderr
        };
        self.target
            .fail(format!("`git {sub}` failed: {}", said.trim()))
    }

    /// Runs git with a bounded time, no terminal prompts and no stdin; `work_tree` points git at
    /// another folder (the site) for `add`.
    async fn output(
        &self,
        args: &[&str],
        work_tree: Option<&Path>,
    ) -> Result<std::process::Output, PublishError> {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(self.git_dir());
        match work_tree {
            Some(dir) => {
                cmd.arg("--work-tree").arg(dir).current_dir(dir);
            }
            None => {
                cmd.current_dir(&self.dir);
            }
        }
        cmd.args([
            // Hooks from an init template would run on push; a user's global autocrlf or gpg
            // signing would change or stall our commits.
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.autocrlf=false",
            "-c",
            "commit.gpgSign=false",
            "-c",
            &format!("user.name={COMMITTER_NAME}"),
            "-c",
            &format!("user.email={COMMITTER_EMAIL}"),
        ])
        .args(args)
        .envs(git_env());
        if let Some(c) = &self.target.credentials {
            cmd.env(USERNAME_VAR, &c.username)
                .env(PASSWORD_VAR, &c.password);
        }
        cmd
            // Inherited from a surrounding git hook, these would point git at another repository.
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_OBJECT_DIRECTORY")
            .env_remove("GIT_ALTERNATE_OBJECT_DIRECTORIES")
            .env_remove("GIT_COMMON_DIR")
            .env_remove("GIT_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let child = cmd.output();
        match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(e)) => Err(self.target.fail(format!(
                "running `git` (is git installed and on PATH?): {e}"
            ))),
            Err(_) => Err(self.target.fail(format!(
                "`git {}` did not finish within {} s",
                args.first().copied().unwrap_or_default(),
                COMMAND_TIMEOUT.as_secs()
            ))),
        }
    }

    /// The site as a tree object, plus `.nojekyll`. `-f` because the tree must be the site
    /// exactly: a `.gitignore` in it or the user's global excludes must not drop files.
    async fn site_tree(&self, site: &Path) -> Result<String, PublishError> {
        // Everything but the build folder's marker (plumbing, not the site).
        let exclude = format!(":(exclude){}", super::guard::MARKER);
        let args = ["add", "-A", "-f", "--", ".", exclude.as_str()];
        let out = self.output(&args, Some(site)).await?;
        if !out.status.success() {
            return Err(self.failed(&args, &out));
        }
        if !site.join(NOJEKYLL).exists() {
            let empty = self.git(&["hash-object", "-w", "--stdin"]).await?;
            self.git(&[
                "update-index",
                "--add",
                "--cacheinfo",
                &format!("100644,{empty},{NOJEKYLL}"),
            ])
            .await?;
        }
        self.git(&["write-tree"]).await
    }

    async fn count_files(&self, tree: &str) -> Result<usize, PublishError> {
        let listing = self
            .git(&["ls-tree", "-r", "-z", "--name-only", tree])
            .await?;
        Ok(listing
            .split('\0')
            .filter(|n| !n.is_empty() && *n != NOJEKYLL)
            .count())
    }

    /// Uploaded / deleted / unchanged between the branch's tree and ours (site files only: the
    /// `.nojekyll` marker is plumbing, so the counts match the site `upstate run` reports).
    async fn diff(
        &self,
        old: &str,
        new: &str,
        total: usize,
    ) -> Result<PublishReport, PublishError> {
        let listing = self
            .git(&[
                "diff-tree",
                "-r",
                "-z",
                "--no-renames",
                "--name-status",
                old,
                new,
            ])
            .await?;
        let mut report = PublishReport::default();
        // `-z`: status and path alternate, each NUL-terminated.
        let fields: Vec<&str> = listing.split('\0').collect();
        for pair in fields.chunks(2) {
            if pair.get(1) == Some(&NOJEKYLL) {
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

    /// The branch tip as the remote has it now, fetched (depth 1) so we can compare trees and
    /// commit on top; `None` when the branch does not exist yet.
    async fn fetch_tip(&self) -> Result<Option<String>, PublishError> {
        let head = format!("refs/heads/{}", self.target.branch);
        let listed = self.git(&["ls-remote", "origin", &head]).await?;
        if !listed.lines().any(|l| l.ends_with(&format!("\t{head}"))) {
            return Ok(None);
        }
        let tracking = format!("refs/remotes/origin/{}", self.target.branch);
        self.git(&[
            "fetch",
            "-q",
            "--no-tags",
            "--depth",
            "1",
            "origin",
            &format!("+{head}:{tracking}"),
        ])
        .await?;
        // What the fetch brought is what we compare and lease against, even if the listing
        // above was a moment older.
        self.git(&["rev-parse", "--verify", &format!("{tracking}^{{commit}}")])
            .await
            .map(Some)
    }

    /// Parents of `commit` as recorded in the object (a shallow fetch hides them from `log`).
    async fn parent_count(&self, commit: &str) -> Result<usize, PublishError> {
        let raw = self.git(&["cat-file", "commit", commit]).await?;
        Ok(raw
            .lines()
            .take_while(|l| !l.is_empty())
            .filter(|l| l.starts_with("parent "))
            .count())
    }

    async fn commit(&self, tree: &str, parent: Option<&str>) -> Result<String, PublishError> {
        let message = format!(
            "Publish status page {}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S UTC")
        );
        let mut args = vec!["commit-tree", tree, "-m", &message];
        if let Some(parent) = parent {
            args.extend(["-p", parent]);
        }
        self.git(&args).await
    }

    /// Says which tip a single-commit push replaced (it had been fetched and compared first: the
    /// push was leased on it). A warning when upstate did not write that commit, since it has
    /// now left the branch.
    async fn log_replacement(&self, tip: &str) {
        let who = self
            .git(&["log", "-1", "--format=%an <%ae>", tip])
            .await
            .map(|w| self.target.clean(&w))
            .unwrap_or_default();
        let short = tip.get(..12).unwrap_or(tip);
        if who.ends_with(&format!("<{COMMITTER_EMAIL}>")) {
            tracing::info!(target_name = %self.target.name, tip = short, "Replaced the previous single commit.");
        } else {
            tracing::warn!(
                target_name = %self.target.name,
                "Single-commit mode replaced tip {short} by {who}, which upstate did not write; it was fetched and compared before the (leased) push."
            );
        }
    }

    /// Pushes `commit` to the branch. Incremental: a plain push, refused if the branch moved.
    /// Single-commit: a forced push leased on the tip we fetched (or on the branch not existing).
    async fn push(&self, commit: &str, seen: Option<&str>) -> Result<Pushed, PublishError> {
        let refspec = format!("{commit}:refs/heads/{}", self.target.branch);
        let lease = format!(
            "--force-with-lease=refs/heads/{}:{}",
            self.target.branch,
            seen.unwrap_or_default()
        );
        let mut args = vec!["push", "--porcelain"];
        if self.target.mode == Mode::SingleCommit {
            args.push(&lease);
        }
        args.extend(["origin", &refspec]);
        let out = self.output(&args, None).await?;
        if out.status.success() {
            return Ok(Pushed::Done);
        }
        // `--porcelain` prints `!\t<src>:<dst>\t[rejected] (fetch first|non-fast-forward|
        // stale info)` when the branch is not what we expected; anything else (no network,
        // no permission, `[remote rejected]` by a hook) is a failure to report.
        let stdout = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = stdout
            .lines()
            .find(|l| l.starts_with('!') && l.contains("\t[rejected]"))
        {
            return Ok(Pushed::RemoteMoved(line.to_owned()));
        }
        Err(self.failed(&args, &out))
    }
}

/// Never ask on a terminal (a cron job has nobody to answer); messages in English so the porcelain
/// words we look for do not change with the locale.
fn git_env() -> [(&'static str, &'static str); 3] {
    [
        ("GIT_TERMINAL_PROMPT", "0"),
        ("LC_ALL", "C"),
        ("GCM_INTERACTIVE", "never"),
    ]
}

/// `ref` names git accepts for a branch we create (a conservative subset of
/// `git check-ref-format --branch`).
fn valid_branch(branch: &str) -> bool {
    !branch.is_empty()
        && !branch.starts_with(['-', '/', '.'])
        && !branch.ends_with(['/', '.'])
        && !branch.ends_with(".lock")
        && !branch.contains("..")
        && !branch.contains("//")
        && !branch.contains("/.")
        && branch
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
}

/// A local path rather than `scheme://...` or scp-style `host:path` (git's own rule: a colon
/// before the first slash means scp-style).
fn is_local_path(url: &str) -> bool {
    if url.contains("://") {
        return false;
    }
    match (url.find(':'), url.find('/')) {
        (Some(colon), Some(slash)) => slash < colon,
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// The `user:password` of an http(s) target URL.
///
/// git puts a remote's URL on the command line of its https helper (`git remote-https origin
/// <url>`), where any user of the machine can read it in `ps`. So the URL git is given has no
/// credentials; they travel in the environment (readable only by the same user) to a credential
/// helper written into the temporary repository's config ([`CREDENTIAL_HELPER`]).
#[derive(Clone)]
struct Credentials {
    username: String,
    password: String,
}

const USERNAME_VAR: &str = "UPSTATE_GIT_USERNAME";
const PASSWORD_VAR: &str = "UPSTATE_GIT_PASSWORD";

/// Answers git's `get` with the two variables above; ignores `store` and `erase`.
const CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get || exit 0; printf 'username=%s\\npassword=%s\\n' \"$UPSTATE_GIT_USERNAME\" \"$UPSTATE_GIT_PASSWORD\"; }; f";

/// A value for git's config file: quoted, with `\` and `"` escaped.
fn config_value(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Takes `user:password@` out of an http(s) URL and registers the password (decoded and as
/// written) and a token given as the user name for [`scrub`]. `[publish] target` is already
/// registered as a whole by the config; this covers the parts and targets built in code.
///
/// A user name alone (`https://alice@host/`) stays in the URL: the user's own credential helpers
/// supply the password for it, as they would for plain git.
fn split_credentials(url: &str) -> Result<(String, Option<Credentials>), String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Ok((url.to_owned(), None));
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        // ssh://git@host: the user name is not a secret, and scrubbing `git` would eat words.
        return Ok((url.to_owned(), None));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return Ok((url.to_owned(), None));
    };
    let userinfo = &rest[..at];
    let Some((user, password)) = userinfo.split_once(':') else {
        let _registered = Secret::new(userinfo);
        let _registered = Secret::new(percent_decode(userinfo));
        return Ok((url.to_owned(), None));
    };
    let _registered = Secret::new(password);
    let credentials = Credentials {
        username: percent_decode(user),
        password: percent_decode(password),
    };
    let _registered = Secret::new(credentials.password.as_str());
    if [&credentials.username, &credentials.password]
        .iter()
        .any(|v| v.contains(['\n', '\r', '\0']))
    {
        return Err("the credentials in the URL contain a line break".to_owned());
    }
    Ok((format!("{scheme}://{}", &rest[at + 1..]), Some(credentials)))
}

/// `%XX` escapes decoded, as git decodes a URL's user name and password.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> GitTarget {
        GitTarget::new(raw, Path::new("/site")).unwrap()
    }

    #[test]
    fn parses_branch_mode_and_paths() {
        let t = parse("git+https://github.com/o/r.git");
        assert_eq!((t.branch(), t.mode()), ("gh-pages", Mode::Incremental));
        assert_eq!(t.name(), "git+https://github.com/o/r.git#gh-pages");
        let t = parse("git+https://github.com/o/r.git#pages?mode=single-commit");
        assert_eq!((t.branch(), t.mode()), ("pages", Mode::SingleCommit));
        let t = parse("git+../remote.git#main");
        assert_eq!(t.url, "/site/../remote.git");
        let t = parse("git+git@github.com:o/r.git#gh-pages");
        assert_eq!(t.url, "git@github.com:o/r.git");
    }

    #[test]
    fn refuses_bad_branches_and_options() {
        for raw in [
            "git+https://h/r#-x",
            "git+https://h/r#a..b",
            "git+https://h/r#a b",
            "git+https://h/r#x?mode=fast",
            "git+#main",
        ] {
            assert!(GitTarget::new(raw, Path::new("/")).is_err(), "{raw}");
        }
    }

    #[test]
    fn credentials_leave_the_url_for_the_environment() {
        let t = parse("git+https://x-access-token:p%40ss%3Aword@github.com/o/r.git");
        assert_eq!(t.url, "https://github.com/o/r.git");
        let c = t.credentials.as_ref().unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("x-access-token", "p@ss:word")
        );
        assert!(!format!("{t:?}").contains("word"));
        // A user name alone is left to the user's own credential helpers.
        let t = parse("git+https://alice@git.example/r.git");
        assert_eq!(t.url, "https://alice@git.example/r.git");
        assert!(t.credentials.is_none());
        let t = parse("git+ssh://git@github.com/o/r.git");
        assert_eq!(
            (t.url.as_str(), t.credentials.is_none()),
            ("ssh://git@github.com/o/r.git", true)
        );
        assert!(GitTarget::new("git+https://u:a%0Ab@h/r", Path::new("/")).is_err());
    }

    #[test]
    fn tokens_never_reach_the_name_or_errors() {
        let t = parse("git+https://x-access-token:ghp_UNITTEST0123@github.com/o/r.git#gh-pages");
        assert_eq!(t.name(), "git+https://github.com/o/r.git#gh-pages");
        let err = t
            .fail("fatal: https://x-access-token:ghp_UNITTEST0123@github.com/o/r.git refused")
            .to_string();
        assert!(!err.contains("ghp_UNITTEST0123"), "{err}");
        let t = parse("git+https://ghp_USERTOKEN0123@github.com/o/r.git");
        let err = t.fail("auth for ghp_USERTOKEN0123 failed").to_string();
        assert!(!err.contains("ghp_USERTOKEN0123"), "{err}");
    }
}
