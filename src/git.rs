//! The system `git`, driven for one branch of one remote: `git+<repo-url>#<branch>` parsing,
//! credentials, and a throw-away repository to fetch, commit and push in. Shared by the git
//! publish target (`publish::git`) and the git history store (`history::git`), so both follow
//! the same URL rules and keep tokens out of command lines and messages the same way.
//!
//! Why the system `git` (see `reference/dependencies.md`, "Git publishing"): gix cannot push,
//! and git2's https support drags in OpenSSL. The real `git` also makes credentials work the way
//! users already set them up: SSH agent, credential helpers, `GIT_ASKPASS`, CI tokens.
//!
//! Credentials: an http(s) URL's `user:password` is taken out of it and handed to git by a
//! credential helper reading the environment (see [`Credentials`]): git would otherwise pass
//! the URL, token included, on its https helper's command line, readable in `ps`. The remote's
//! display name is redacted, and every text git prints is scrubbed before it goes into an error.
//!
//! Commands are run synchronously (std::process) under a deadline, so the history store can use
//! them from its synchronous [`crate::history::Store`] methods; the async publish target runs
//! them on a blocking thread.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::secret::{Secret, redact_url, scrub};

/// Longest one git command may take. A stalled network (or an SSH prompt nobody answers) must not
/// hold a cron run forever; five minutes is far above what pushing a status site takes.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

/// Committer of every commit upstate writes; also how a tip upstate wrote is told from someone
/// else's.
pub const COMMITTER_NAME: &str = "upstate";
pub const COMMITTER_EMAIL: &str = "upstate@localhost";

/// A git failure, already fit to print: `target` is the redacted remote, `reason` is scrubbed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{target}: {reason}")]
pub struct GitError {
    pub target: String,
    pub reason: String,
}

/// `git+<repo-url>#<branch>`, parsed: the URL git is given (credentials taken out), the branch,
/// and a display name without secrets.
#[derive(Clone)]
pub struct Remote {
    /// The remote as git is given it: an http(s) URL's `user:password` is taken out (see
    /// [`Credentials`]). Not a [`Secret`]: that would register a plain path for scrubbing and
    /// blank it out of every message; [`split_credentials`] registers the parts that are secret.
    url: String,
    /// `user:password` from an http(s) URL, handed to git through the environment.
    credentials: Option<Credentials>,
    branch: String,
    /// `git+<redacted url>#<branch>`.
    name: String,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Remote {
    /// Parses `git+<url>#<branch>?<options>` (the `git+` prefix and the branch are optional;
    /// `default_branch` fills in a missing branch). A relative local path is taken relative to
    /// `base` (the config's folder), like every other path. Returns the remote and the options
    /// text after `?` (empty when none) for the caller to judge.
    pub fn parse(raw: &str, base: &Path, default_branch: &str) -> Result<(Self, String), GitError> {
        let rest = raw.strip_prefix("git+").unwrap_or(raw);
        let (url, fragment) = rest.split_once('#').unwrap_or((rest, ""));
        let invalid = |reason: String| GitError {
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
        if let Some((scheme, _)) = url_scheme(url)
            && !GIT_SCHEMES.contains(&scheme.as_str())
        {
            return Err(invalid(format!(
                "git does not fetch `{scheme}://` URLs\n= help: use https://, ssh://, git://, file://, `host:path` or a path"
            )));
        }
        let (branch, options) = fragment.split_once('?').unwrap_or((fragment, ""));
        let branch = if branch.is_empty() {
            default_branch
        } else {
            branch
        };
        if !valid_branch(branch) {
            return Err(invalid(format!(
                "`{branch}` is not a valid branch name\n= help: write e.g. `#{default_branch}` or `#status/{default_branch}`"
            )));
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
        let name = format!("git+{}#{branch}", redact_url(&url));
        Ok((
            Self {
                url,
                credentials,
                branch: branch.to_owned(),
                name,
            },
            options.to_owned(),
        ))
    }

    /// The branch worked on.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// `git+<url>#<branch>` without credentials.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// An error about this remote, its text made fit to print.
    pub fn fail(&self, reason: impl Into<String>) -> GitError {
        GitError {
            target: self.name.clone(),
            reason: self.clean(&reason.into()),
        }
    }

    /// Text from git made fit to print: every registered secret (the URL's token among them) and
    /// the raw URL replaced.
    pub fn clean(&self, text: &str) -> String {
        let text = text.replace(&self.url, &redact_url(&self.url));
        scrub(text.trim())
    }

    #[cfg(test)]
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    #[cfg(test)]
    pub(crate) fn credentials(&self) -> Option<(&str, &str)> {
        self.credentials
            .as_ref()
            .map(|c| (c.username.as_str(), c.password.as_str()))
    }
}

/// Schemes git itself fetches from (`ftp` is deprecated by git and left out).
const GIT_SCHEMES: [&str; 5] = ["https", "http", "ssh", "git", "file"];

/// `(scheme, rest)` when `value` starts with `scheme://` (`^[a-z][a-z0-9+.-]*://`, any case).
pub fn url_scheme(value: &str) -> Option<(String, &str)> {
    let (scheme, rest) = value.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-')))
    .then(|| (scheme.to_ascii_lowercase(), rest))
}

/// What a push came to, when git itself did not fail.
#[derive(Debug)]
pub enum Pushed {
    Done,
    /// Refused because the branch is no longer what we fetched; worth fetching again. The
    /// porcelain line git printed, for the log.
    RemoteMoved(String),
}

/// A throw-away repository in a temporary folder, its `origin` the remote. Deleted on drop.
pub struct Workspace {
    dir: tempfile::TempDir,
    remote: Remote,
}

impl Workspace {
    /// `git init` in a new temporary folder; the remote URL is written straight into
    /// `.git/config` (no URL in any argv).
    pub fn new(remote: &Remote, prefix: &str) -> Result<Self, GitError> {
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map_err(|e| remote.fail(format!("creating a temporary repository: {e}")))?;
        let workspace = Self {
            dir,
            remote: remote.clone(),
        };
        workspace.git(&["-c", "init.defaultBranch=upstate", "init", "-q"])?;
        let mut section = format!(
            "[remote \"origin\"]\n\turl = {}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
            config_value(&remote.url)
        );
        if remote.credentials.is_some() {
            // The URL's own credentials, and only they: the empty entry drops the user's helpers
            // so none of them stores the token (`store` would write it to ~/.git-credentials).
            section.push_str(&format!(
                "[credential]\n\thelper =\n\thelper = {}\n",
                config_value(CREDENTIAL_HELPER)
            ));
        }
        let fail = |e: std::io::Error| remote.fail(format!("creating the repository: {e}"));
        let config = workspace.git_dir().join("config");
        let mut text = std::fs::read_to_string(&config).map_err(fail)?;
        text.push_str(&section);
        std::fs::write(&config, text).map_err(fail)?;
        Ok(workspace)
    }

    /// The folder the repository lives in (its `.git` inside); free for a work tree beside it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The remote this workspace pushes to.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    fn git_dir(&self) -> PathBuf {
        self.dir.path().join(".git")
    }

    /// Runs git in the repository; stdout (trimmed) on success, a scrubbed error naming the
    /// subcommand otherwise.
    pub fn git(&self, args: &[&str]) -> Result<String, GitError> {
        self.git_with_work_tree(args, None)
    }

    /// [`Workspace::git`] with `work_tree` as git's work tree (for `add`, `checkout-index`).
    pub fn git_with_work_tree(
        &self,
        args: &[&str],
        work_tree: Option<&Path>,
    ) -> Result<String, GitError> {
        let out = self.output(args, work_tree)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(self.failed(args, &out))
        }
    }

    fn failed(&self, args: &[&str], out: &std::process::Output) -> GitError {
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
        self.remote
            .fail(format!("`git {sub}` failed: {}", said.trim()))
    }

    /// Runs git with a bounded time, no terminal prompts and no stdin.
    fn output(
        &self,
        args: &[&str],
        work_tree: Option<&Path>,
    ) -> Result<std::process::Output, GitError> {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(self.git_dir());
        match work_tree {
            Some(dir) => {
                cmd.arg("--work-tree").arg(dir).current_dir(dir);
            }
            None => {
                cmd.current_dir(self.dir.path());
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
        if let Some(c) = &self.remote.credentials {
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
            .stderr(Stdio::piped());
        let sub = args.first().copied().unwrap_or_default();
        run_bounded(cmd, COMMAND_TIMEOUT).map_err(|e| match e {
            Bounded::Spawn(e) => self.remote.fail(format!(
                "running `git` (is git installed and on PATH?): {e}"
            )),
            Bounded::TimedOut => self.remote.fail(format!(
                "`git {sub}` did not finish within {} s",
                COMMAND_TIMEOUT.as_secs()
            )),
        })
    }

    /// The branch tip as the remote has it now, fetched (`depth` commits deep) so trees can be
    /// compared and committed on; `None` when the branch does not exist. A remote that cannot be
    /// reached or read is an error, never `None`.
    pub fn fetch_tip(&self, depth: u32) -> Result<Option<String>, GitError> {
        let branch = &self.remote.branch;
        let head = format!("refs/heads/{branch}");
        let listed = self.git(&["ls-remote", "origin", &head])?;
        if !listed.lines().any(|l| l.ends_with(&format!("\t{head}"))) {
            return Ok(None);
        }
        let tracking = format!("refs/remotes/origin/{branch}");
        self.git(&[
            "fetch",
            "-q",
            "--no-tags",
            "--depth",
            &depth.to_string(),
            "origin",
            &format!("+{head}:{tracking}"),
        ])?;
        // What the fetch brought is what we compare and lease against, even if the listing
        // above was a moment older.
        self.git(&["rev-parse", "--verify", &format!("{tracking}^{{commit}}")])
            .map(Some)
    }

    /// The tree of `commit`.
    pub fn tree_of(&self, commit: &str) -> Result<String, GitError> {
        self.git(&["rev-parse", &format!("{commit}^{{tree}}")])
    }

    /// Parents of `commit` as recorded in the object (a shallow fetch hides them from `log`).
    pub fn parent_count(&self, commit: &str) -> Result<usize, GitError> {
        let raw = self.git(&["cat-file", "commit", commit])?;
        Ok(raw
            .lines()
            .take_while(|l| !l.is_empty())
            .filter(|l| l.starts_with("parent "))
            .count())
    }

    /// `mode id` of `path` in `tree`, when the tree has it.
    pub fn entry(&self, tree: &str, path: &str) -> Result<Option<(String, String)>, GitError> {
        let line = self.git(&["ls-tree", tree, "--", path])?;
        // `<mode> SP <type> SP <id> TAB <path>`
        Ok(line.split_once('\t').and_then(|(meta, _)| {
            let mut parts = meta.split(' ');
            let mode = parts.next()?;
            let id = parts.nth(1)?;
            Some((mode.to_owned(), id.to_owned()))
        }))
    }

    /// A commit of `tree` with `parent` (or none: a root commit).
    pub fn commit(
        &self,
        tree: &str,
        parent: Option<&str>,
        message: &str,
    ) -> Result<String, GitError> {
        let mut args = vec!["commit-tree", tree, "-m", message];
        if let Some(parent) = parent {
            args.extend(["-p", parent]);
        }
        self.git(&args)
    }

    /// `Name <email>` of the author of `commit`, scrubbed; empty if it cannot be read.
    pub fn author(&self, commit: &str) -> String {
        self.git(&["log", "-1", "--format=%an <%ae>", commit])
            .map(|w| self.remote.clean(&w))
            .unwrap_or_default()
    }

    /// Pushes `commit` to the branch. `lease: None`: a plain push, refused if the branch moved.
    /// `lease: Some(seen)`: a forced push leased on the tip we fetched (`None` inside: on the
    /// branch not existing), so it replaces only what we looked at.
    pub fn push(&self, commit: &str, lease: Option<Option<&str>>) -> Result<Pushed, GitError> {
        let branch = &self.remote.branch;
        let refspec = format!("{commit}:refs/heads/{branch}");
        let lease = lease.map(|seen| {
            format!(
                "--force-with-lease=refs/heads/{branch}:{}",
                seen.unwrap_or_default()
            )
        });
        let mut args = vec!["push", "--porcelain"];
        if let Some(lease) = &lease {
            args.push(lease);
        }
        args.extend(["origin", &refspec]);
        let out = self.output(&args, None)?;
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
            return Ok(Pushed::RemoteMoved(self.remote.clean(line)));
        }
        // Two pushes that passed their checks at once: the remote's own ref update loses the
        // race (`[remote rejected]`, "cannot lock ref '…': reference already exists" or "is at
        // … but expected …"; GitHub says "incorrect old value provided"). The branch moved too.
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(line) = stdout
            .lines()
            .find(|l| l.starts_with('!') && l.contains("\t[remote rejected]"))
            && ["cannot lock ref", "incorrect old value"]
                .iter()
                .any(|why| stderr.contains(why) || line.contains(why))
        {
            return Ok(Pushed::RemoteMoved(self.remote.clean(line)));
        }
        Err(self.failed(&args, &out))
    }
}

enum Bounded {
    Spawn(std::io::Error),
    TimedOut,
}

/// Runs `cmd` to completion, or kills it after `limit`. Output is read on two threads so a chatty
/// child never blocks on a full pipe.
fn run_bounded(mut cmd: Command, limit: Duration) -> Result<std::process::Output, Bounded> {
    let mut child = cmd.spawn().map_err(Bounded::Spawn)?;
    let reader = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < limit => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                // The readers are left to finish when a grandchild (ssh) lets go of the pipes.
                return Err(Bounded::TimedOut);
            }
            Err(e) => return Err(Bounded::Spawn(e)),
        }
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
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

/// The `user:password` of an http(s) URL.
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
/// registered as a whole by the config; this covers the parts, the history store's URL and
/// remotes built in code.
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
        let _registered = Secret::new(crate::text::percent_decode(userinfo));
        return Ok((url.to_owned(), None));
    };
    let _registered = Secret::new(password);
    let credentials = Credentials {
        username: crate::text::percent_decode(user),
        password: crate::text::percent_decode(password),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &str) -> Remote {
        Remote::parse(raw, Path::new("/site"), "gh-pages")
            .unwrap()
            .0
    }

    #[test]
    fn parses_branches_and_paths() {
        let r = parse("git+https://github.com/o/r.git");
        assert_eq!(
            (r.branch(), r.name()),
            ("gh-pages", "git+https://github.com#gh-pages")
        );
        let (r, options) =
            Remote::parse("git+https://h/r.git#pages?mode=x", Path::new("/"), "main").unwrap();
        assert_eq!((r.branch(), options.as_str()), ("pages", "mode=x"));
        assert_eq!(parse("git+../remote.git#main").url(), "/site/../remote.git");
        assert_eq!(
            parse("git+git@github.com:o/r.git").url(),
            "git@github.com:o/r.git"
        );
        assert_eq!(parse("git+file:///srv/r.git#h").url(), "file:///srv/r.git");
    }

    #[test]
    fn refuses_bad_branches_and_schemes() {
        for raw in [
            "git+https://h/r#-x",
            "git+https://h/r#a..b",
            "git+https://h/r#a b",
            "git+#main",
            "git+ftp://h/r#main",
            "git+gopher://h/r",
        ] {
            assert!(Remote::parse(raw, Path::new("/"), "main").is_err(), "{raw}");
        }
    }

    #[test]
    fn schemes_are_recognised_by_their_shape() {
        assert_eq!(url_scheme("FTP://x").map(|s| s.0), Some("ftp".to_owned()));
        assert_eq!(
            url_scheme("git+file:///x").map(|s| s.0),
            Some("git+file".to_owned())
        );
        assert!(url_scheme("public").is_none());
        assert!(url_scheme("./a://b").is_none());
        assert!(url_scheme("1x://b").is_none());
    }

    #[test]
    fn credentials_leave_the_url_for_the_environment() {
        let r = parse("git+https://x-access-token:p%40ss%3Aword@github.com/o/r.git");
        assert_eq!(r.url(), "https://github.com/o/r.git");
        assert_eq!(r.credentials(), Some(("x-access-token", "p@ss:word")));
        assert!(!format!("{r:?}").contains("word"));
        // A user name alone is left to the user's own credential helpers.
        let r = parse("git+https://alice@git.example/r.git");
        assert_eq!(
            (r.url(), r.credentials()),
            ("https://alice@git.example/r.git", None)
        );
        let r = parse("git+ssh://git@github.com/o/r.git");
        assert_eq!(
            (r.url(), r.credentials()),
            ("ssh://git@github.com/o/r.git", None)
        );
        assert!(Remote::parse("git+https://u:a%0Ab@h/r", Path::new("/"), "x").is_err());
    }

    #[test]
    fn tokens_never_reach_the_name_or_errors() {
        let r = parse("git+https://x-access-token:ghp_UNITTEST0123@github.com/o/r.git#gh-pages");
        assert_eq!(r.name(), "git+https://github.com#gh-pages");
        let err = r
            .fail("fatal: https://x-access-token:ghp_UNITTEST0123@github.com/o/r.git refused")
            .to_string();
        assert!(!err.contains("ghp_UNITTEST0123"), "{err}");
        let r = parse("git+https://ghp_USERTOKEN0123@github.com/o/r.git");
        let err = r.fail("auth for ghp_USERTOKEN0123 failed").to_string();
        assert!(!err.contains("ghp_USERTOKEN0123"), "{err}");
    }

    #[test]
    fn a_command_past_its_deadline_is_killed() {
        let mut cmd = Command::new("sleep");
        cmd.arg("30").stdout(Stdio::piped()).stderr(Stdio::piped());
        assert!(matches!(
            run_bounded(cmd, Duration::from_millis(50)),
            Err(Bounded::TimedOut)
        ));
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = run_bounded(cmd, Duration::from_secs(30)).ok().unwrap();
        assert_eq!(
            (
                out.status.code(),
                out.stdout.as_slice(),
                out.stderr.as_slice()
            ),
            (Some(3), &b"out\n"[..], &b"err\n"[..])
        );
    }
}
