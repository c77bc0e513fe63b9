//! `[publish] target = "git+<url>#<branch>"` end to end, through the CLI, against real git
//! repositories: a local bare repository is the remote, and a second clone plays "someone else"
//! pushing to the same branch.
//!
//! The behaviour these tests pin down:
//! - `?mode=single-commit` (the default): the branch holds exactly one commit; a foreign tip is
//!   replaced only after upstate fetched it (the push is leased on the tip it saw, so a commit
//!   pushed in the window between fetch and push fails the lease and is fetched before being
//!   replaced), and the replacement is logged as a warning;
//! - `?mode=incremental`: every publish is one commit on top of the branch; nobody's commit is
//!   ever dropped from history (a foreign commit stays an ancestor), although the tree of the new
//!   commit is exactly the site (a foreign file is deleted from the tree, not from history);
//! - either way, the Pages files the site does not make (`CNAME`, `.nojekyll`) stay on the branch;
//! - nothing changed: no commit, no push;
//! - a token in the URL never shows in any output.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{TestSite, closed_port, text};

/// Runs the real git in `dir` with a fixed identity; panics with git's output on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    common::git_as("Someone Else", "someone@example.com", dir, args)
}

/// A bare repository playing the remote (GitHub, GitLab...).
struct Remote {
    dir: tempfile::TempDir,
}

impl Remote {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "--bare", "remote.git"]);
        Self { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }

    fn file_url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    /// `git <args>` run inside the bare repository.
    fn git(&self, args: &[&str]) -> String {
        git(&self.path(), args)
    }

    fn tip(&self, branch: &str) -> String {
        self.git(&["rev-parse", &format!("refs/heads/{branch}")])
    }

    fn commits(&self, branch: &str) -> usize {
        self.git(&["rev-list", "--count", &format!("refs/heads/{branch}")])
            .parse()
            .unwrap()
    }

    /// Every file of the branch tip, with its bytes.
    fn files(&self, branch: &str) -> BTreeMap<String, Vec<u8>> {
        let listing = self.git(&[
            "ls-tree",
            "-r",
            "--name-only",
            &format!("refs/heads/{branch}"),
        ]);
        listing
            .lines()
            .map(|name| {
                let out = Command::new("git")
                    .current_dir(self.path())
                    .args(["cat-file", "blob", &format!("refs/heads/{branch}:{name}")])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{name}");
                (name.to_owned(), out.stdout)
            })
            .collect()
    }

    /// Files the tip commit of `branch` changed against its parent.
    fn changed_in_tip(&self, branch: &str) -> BTreeSet<String> {
        let tip = format!("refs/heads/{branch}");
        self.git(&[
            "diff-tree",
            "-r",
            "--no-commit-id",
            "--name-only",
            &format!("{tip}~1"),
            &tip,
        ])
        .lines()
        .map(str::to_owned)
        .collect()
    }

    /// Someone else clones the branch, commits `name`, and pushes; returns their commit.
    fn foreign_push(&self, branch: &str, name: &str) -> String {
        let clone = tempfile::tempdir().unwrap();
        git(
            clone.path(),
            &["clone", "-q", "-b", branch, &self.file_url(), "c"],
        );
        let c = clone.path().join("c");
        std::fs::write(c.join(name), "someone else's file\n").unwrap();
        git(&c, &["add", name]);
        git(
            &c,
            &["commit", "-q", "-m", "A commit upstate did not write"],
        );
        git(&c, &["push", "-q", "origin", branch]);
        git(&c, &["rev-parse", "HEAD"])
    }
}

/// A site with one `tcp` component (a closed port: down, and fast) publishing to `target`.
fn site(target: &str) -> TestSite {
    TestSite::new(&format!(
        r#"
[site]
title = "Git publish test"
base_url = "https://status.test"

[run]
timeout = "1s"

[publish]
target = "{target}"

[[component]]
id = "edge"
label = "Edge"
kind = "tcp"
address = "127.0.0.1:{}"
"#,
        closed_port()
    ))
}

/// Every file of the built site (`[publish] output`, default `.upstate/site`), without the
/// folder's `.upstate-build` marker and `.upstate-cache/`, which are never published.
fn built(site: &TestSite) -> BTreeMap<String, Vec<u8>> {
    let root = site.path().join(".upstate/site");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out.remove(".upstate-build")
        .expect("the build marks its folder");
    out.retain(|path, _| !upstate::site::is_plumbing(path));
    out
}

fn assert_ok(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
}

/// The branch tip holds exactly the built site plus `.nojekyll`.
fn assert_branch_is_site(remote: &Remote, branch: &str, site: &TestSite) {
    let mut expected = built(site);
    expected.entry(".nojekyll".to_owned()).or_default();
    let actual = remote.files(branch);
    assert_eq!(
        actual.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    assert!(actual == expected, "file contents differ from the build");
}

/// `N` of "N written" in the summary of `upstate publish` or `upstate run`.
fn written(out: &Output) -> usize {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = stdout.split_whitespace().collect();
    words
        .windows(2)
        .find(|w| w[1].starts_with("written"))
        .and_then(|w| w[0].trim_start_matches('(').parse().ok())
        .unwrap_or_else(|| panic!("no publish summary in {stdout}"))
}

#[test]
fn first_publish_creates_the_branch_with_the_site_and_nojekyll() {
    let remote = Remote::new();
    let site = site(&format!("git+{}#gh-pages", remote.file_url()));
    let out = site.cmd(&["run"]);
    assert_ok(&out);
    assert!(
        text(&out).contains(&format!("to git+{}#gh-pages", remote.file_url())),
        "{}",
        text(&out)
    );
    assert_eq!(remote.commits("gh-pages"), 1);
    assert_branch_is_site(&remote, "gh-pages", &site);
    let files = remote.files("gh-pages");
    for f in ["index.html", "status.json", ".nojekyll"] {
        assert!(files.contains_key(f), "{f} missing: {:?}", files.keys());
    }
    // The counts are the site's files; `.nojekyll` is plumbing.
    assert_eq!(written(&out), files.len() - 1, "{}", text(&out));
    assert!(
        text(&out).contains(&format!("Published {} files", files.len() - 1)),
        "{}",
        text(&out)
    );
    let meta = remote.git(&["log", "-1", "--format=%an <%ae>|%s", "refs/heads/gh-pages"]);
    let (who, subject) = meta.split_once('|').unwrap();
    assert_eq!(who, "upstate <upstate@localhost>");
    assert!(subject.starts_with("Publish status page 20"), "{subject}");
    // No other branch was touched or created.
    assert_eq!(
        remote.git(&["for-each-ref", "--format=%(refname)"]),
        "refs/heads/gh-pages"
    );
}

#[test]
fn a_change_is_one_new_commit_holding_only_the_changed_files() {
    let remote = Remote::new();
    let site = site(&format!(
        "git+{}#gh-pages?mode=incremental",
        remote.file_url()
    ));
    assert_ok(&site.cmd(&["run"]));
    let first = built(&site);
    let first_tip = remote.tip("gh-pages");
    // A new incident changes the page, feeds and JSON; the theme's assets stay as they were.
    site.incident(
        "2026-01-10-edge-down.md",
        "---\ntitle: Edge unreachable\nkind: incident\nseverity: major\nstatus: investigating\ncomponents: [edge]\nimpact: major_outage\ndiscovered_at: 2026-01-10T10:00:00Z\n---\nLooking into it.\n",
    );
    let out = site.cmd(&["run"]);
    assert_ok(&out);
    let second = built(&site);
    assert_eq!(remote.commits("gh-pages"), 2);
    assert_eq!(
        remote.git(&["rev-parse", "refs/heads/gh-pages~1"]),
        first_tip,
        "the new commit sits on the previous one"
    );
    let changed: BTreeSet<String> = second
        .iter()
        .filter(|(k, v)| first.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .chain(first.keys().filter(|k| !second.contains_key(*k)).cloned())
        .collect();
    assert!(!changed.is_empty());
    assert!(changed.len() < second.len(), "some files must be unchanged");
    assert_eq!(remote.changed_in_tip("gh-pages"), changed);
    assert!(
        changed.iter().any(|f| f.starts_with("incidents/")),
        "{changed:?}"
    );
    assert_eq!(written(&out), changed.len(), "{}", text(&out));
    assert_branch_is_site(&remote, "gh-pages", &site);
}

#[test]
fn publishing_an_unchanged_site_makes_no_commit() {
    // A relative plain path: resolved against the config's folder, like every other path.
    let site = site("git+remote.git#pages");
    let bare = site.path().join("remote.git");
    git(site.path(), &["init", "-q", "--bare", "remote.git"]);
    assert_ok(&site.cmd(&["run"]));
    let tip = git(&bare, &["rev-parse", "refs/heads/pages"]);
    let out = site.cmd(&["publish"]);
    assert_ok(&out);
    assert!(
        text(&out).contains(": 0 written, 0 deleted,"),
        "{}",
        text(&out)
    );
    assert_eq!(git(&bare, &["rev-parse", "refs/heads/pages"]), tip);
    assert_eq!(
        git(&bare, &["rev-list", "--count", "refs/heads/pages"]),
        "1"
    );
}

#[test]
fn single_commit_mode_keeps_exactly_one_commit() {
    let remote = Remote::new();
    let site = site(&format!(
        "git+{}#gh-pages?mode=single-commit",
        remote.file_url()
    ));
    let mut tips = BTreeSet::new();
    for i in 0..3 {
        if i > 0 {
            // A change every time, so every publish has something to push.
            site.incident(
                &format!("2026-01-1{i}-edge-down.md"),
                &format!("---\ntitle: Edge down {i}\nkind: incident\nseverity: minor\nstatus: resolved\ncomponents: [edge]\nimpact: partial_outage\ndiscovered_at: 2026-01-1{i}T10:00:00Z\nresolved_at: 2026-01-1{i}T11:00:00Z\n---\nFixed.\n"),
            );
        }
        let out = site.cmd(&["run"]);
        assert_ok(&out);
        assert_eq!(remote.commits("gh-pages"), 1, "after publish {i}");
        assert_branch_is_site(&remote, "gh-pages", &site);
        tips.insert(remote.tip("gh-pages"));
    }
    assert_eq!(tips.len(), 3, "each publish is a new root commit");
    // Nothing changed: the single commit stays.
    let tip = remote.tip("gh-pages");
    let out = site.cmd(&["publish"]);
    assert_ok(&out);
    assert!(
        text(&out).contains(": 0 written, 0 deleted,"),
        "{}",
        text(&out)
    );
    assert_eq!(remote.tip("gh-pages"), tip);
}

#[test]
fn incremental_mode_keeps_a_commit_someone_else_pushed() {
    let remote = Remote::new();
    // The plain path form (no `file://`), default branch.
    let site = site(&format!(
        "git+{}#?mode=incremental",
        remote.path().display()
    ));
    assert_ok(&site.cmd(&["run"]));
    let foreign = remote.foreign_push("gh-pages", "notes.txt");
    site.incident(
        "2026-01-10-edge-down.md",
        "---\ntitle: Edge unreachable\nkind: incident\nseverity: major\nstatus: investigating\ncomponents: [edge]\nimpact: major_outage\ndiscovered_at: 2026-01-10T10:00:00Z\n---\nLooking into it.\n",
    );
    let out = site.cmd(&["run"]);
    assert_ok(&out);
    assert!(text(&out).contains("1 deleted"), "{}", text(&out));
    remote.git(&[
        "merge-base",
        "--is-ancestor",
        &foreign,
        "refs/heads/gh-pages",
    ]);
    assert_eq!(remote.git(&["rev-parse", "refs/heads/gh-pages~1"]), foreign);
    assert_eq!(remote.commits("gh-pages"), 3);
    // The tree is the site: the foreign file left the tree, not the history.
    assert_branch_is_site(&remote, "gh-pages", &site);
}

/// A `git` first on PATH that, on upstate's first `push`, lets "someone else" push to the branch
/// first: the race between upstate's fetch and its push, made to happen every time. Every push's
/// arguments are logged to `pushes.log`; the foreign commit's id lands in `foreign.sha`.
struct RacingGit {
    dir: tempfile::TempDir,
}

impl RacingGit {
    fn new(remote: &Remote, branch: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let real = String::from_utf8(
            Command::new("sh")
                .args(["-c", "command -v git"])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim()
        .to_owned();
        assert!(!real.is_empty(), "git not found");
        let d = dir.path().display();
        let script = format!(
            r#"#!/bin/sh
for a in "$@"; do
  if [ "$a" = push ]; then
    echo "$*" >> "{d}/pushes.log"
    if [ ! -e "{d}/raced" ]; then
      touch "{d}/raced"
      (
        set -e
        rm -rf "{d}/clone"
        "{real}" clone -q -b {branch} "{url}" "{d}/clone"
        cd "{d}/clone"
        echo "someone else's file" > foreign.txt
        "{real}" add foreign.txt
        "{real}" -c user.name="Someone Else" -c user.email=someone@example.com commit -q -m "Pushed between upstate's fetch and push"
        "{real}" push -q origin {branch}
        "{real}" rev-parse HEAD > "{d}/foreign.sha"
      ) >&2 || exit 99
    fi
    break
  fi
done
exec "{real}" "$@"
"#,
            url = remote.file_url()
        );
        let path = dir.path().join("git");
        std::fs::write(&path, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        Self { dir }
    }

    fn path_env(&self) -> String {
        format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn pushes(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("pushes.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn foreign(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("foreign.sha"))
            .unwrap()
            .trim()
            .to_owned()
    }
}

fn run_with_git(site: &TestSite, racing: &RacingGit, args: &[&str]) -> Output {
    common::upstate()
        .args(args)
        .arg("--config")
        .arg(site.config())
        .env("PATH", racing.path_env())
        .env("UPSTATE_LOG", "info")
        .output()
        .unwrap()
}

#[test]
fn incremental_mode_rebuilds_on_a_commit_pushed_during_the_publish() {
    let remote = Remote::new();
    let site = site(&format!(
        "git+{}#gh-pages?mode=incremental",
        remote.file_url()
    ));
    assert_ok(&site.cmd(&["run"]));
    let before = remote.tip("gh-pages");
    site.incident(
        "2026-01-10-edge-down.md",
        "---\ntitle: Edge unreachable\nkind: incident\nseverity: major\nstatus: investigating\ncomponents: [edge]\nimpact: major_outage\ndiscovered_at: 2026-01-10T10:00:00Z\n---\nLooking into it.\n",
    );
    let racing = RacingGit::new(&remote, "gh-pages");
    let out = run_with_git(&site, &racing, &["run"]);
    assert_ok(&out);
    let foreign = racing.foreign();
    let pushes = racing.pushes();
    assert_eq!(pushes.len(), 2, "one refused push, one retry: {pushes:?}");
    assert!(
        pushes.iter().all(|p| !p.contains("force")),
        "incremental mode never forces: {pushes:?}"
    );
    assert!(
        text(&out).contains("The branch moved while publishing"),
        "{}",
        text(&out)
    );
    // Rebuilt on the fresh tip: before ← foreign ← ours.
    assert_eq!(remote.git(&["rev-parse", "refs/heads/gh-pages~1"]), foreign);
    assert_eq!(remote.git(&["rev-parse", "refs/heads/gh-pages~2"]), before);
    assert_branch_is_site(&remote, "gh-pages", &site);
}

#[test]
fn single_commit_mode_replaces_only_a_tip_it_fetched() {
    let remote = Remote::new();
    let site = site(&format!(
        "git+{}#gh-pages?mode=single-commit",
        remote.file_url()
    ));
    assert_ok(&site.cmd(&["run"]));
    let ours = remote.tip("gh-pages");
    site.incident(
        "2026-01-10-edge-down.md",
        "---\ntitle: Edge unreachable\nkind: incident\nseverity: major\nstatus: investigating\ncomponents: [edge]\nimpact: major_outage\ndiscovered_at: 2026-01-10T10:00:00Z\n---\nLooking into it.\n",
    );
    // Someone pushes right after upstate fetched `ours`: the push leased on `ours` must fail,
    // upstate must fetch their commit, and only then replace it.
    let racing = RacingGit::new(&remote, "gh-pages");
    let out = run_with_git(&site, &racing, &["run"]);
    assert_ok(&out);
    let foreign = racing.foreign();
    let pushes = racing.pushes();
    assert_eq!(pushes.len(), 2, "{pushes:?}");
    assert!(
        pushes[0].contains(&format!("--force-with-lease=refs/heads/gh-pages:{ours}")),
        "first push leased on the tip fetched: {pushes:?}"
    );
    assert!(
        pushes[1].contains(&format!("--force-with-lease=refs/heads/gh-pages:{foreign}")),
        "the retry leased on the foreign tip it then fetched: {pushes:?}"
    );
    let log = text(&out);
    assert!(
        log.contains(&format!("replaced tip {}", &foreign[..12])) && log.contains("Someone Else"),
        "the replacement of a foreign tip is logged: {log}"
    );
    assert_eq!(remote.commits("gh-pages"), 1);
    assert_branch_is_site(&remote, "gh-pages", &site);
}

#[test]
fn single_commit_mode_replaces_a_foreign_tip_seen_before_publishing_and_says_so() {
    let remote = Remote::new();
    let site = site(&format!(
        "git+{}#gh-pages?mode=single-commit",
        remote.file_url()
    ));
    assert_ok(&site.cmd(&["run"]));
    let foreign = remote.foreign_push("gh-pages", "notes.txt");
    assert_eq!(remote.commits("gh-pages"), 2);
    let out = site.cmd(&["publish"]);
    assert_ok(&out);
    // The default log level (warn) shows it.
    assert!(
        text(&out).contains(&format!("replaced tip {}", &foreign[..12])),
        "{}",
        text(&out)
    );
    assert_eq!(remote.commits("gh-pages"), 1);
    assert!(!remote.files("gh-pages").contains_key("notes.txt"));
    assert_branch_is_site(&remote, "gh-pages", &site);
}

/// `CNAME` (GitHub writes it when a custom domain is set in the repository's settings) and
/// `.nojekyll` are the branch's, not the site's: no publish deletes them, in either mode, and
/// the default mode keeps the branch at one commit.
#[test]
fn pages_files_on_the_branch_survive_every_publish() {
    for mode in ["", "?mode=incremental"] {
        let remote = Remote::new();
        let site = site(&format!("git+{}#gh-pages{mode}", remote.file_url()));
        assert_ok(&site.cmd(&["run"]));
        // Someone sets a custom domain and gives `.nojekyll` a comment.
        let clone = tempfile::tempdir().unwrap();
        git(
            clone.path(),
            &["clone", "-q", "-b", "gh-pages", &remote.file_url(), "c"],
        );
        let c = clone.path().join("c");
        std::fs::write(c.join("CNAME"), "status.example.com\n").unwrap();
        std::fs::write(c.join(".nojekyll"), "# served as is\n").unwrap();
        git(&c, &["add", "CNAME", ".nojekyll"]);
        git(&c, &["commit", "-q", "-m", "Custom domain"]);
        git(&c, &["push", "-q", "origin", "gh-pages"]);
        for i in 0..2 {
            // A change each time, so every publish pushes.
            site.incident(
                &format!("2026-01-1{i}-edge-down.md"),
                &format!("---\ntitle: Edge down {i}\nkind: incident\nseverity: minor\nstatus: resolved\ncomponents: [edge]\nimpact: partial_outage\ndiscovered_at: 2026-01-1{i}T10:00:00Z\nresolved_at: 2026-01-1{i}T11:00:00Z\n---\nFixed.\n"),
            );
            let out = site.cmd(&["run"]);
            assert_ok(&out);
            assert!(
                text(&out).contains(" 0 deleted, "),
                "{mode}: {}",
                text(&out)
            );
            let files = remote.files("gh-pages");
            assert_eq!(
                files.get("CNAME").map(Vec::as_slice),
                Some(&b"status.example.com\n"[..]),
                "{mode}"
            );
            assert_eq!(
                files.get(".nojekyll").map(Vec::as_slice),
                Some(&b"# served as is\n"[..]),
                "{mode}"
            );
            let expected_commits = if mode.is_empty() { 1 } else { 3 + i };
            assert_eq!(remote.commits("gh-pages"), expected_commits, "{mode}");
        }
        // The page's own files are exactly the build: only the two Pages files are extra.
        let mut expected: Vec<String> = built(&site).into_keys().collect();
        expected.extend(["CNAME".to_owned(), ".nojekyll".to_owned()]);
        expected.sort();
        let actual: Vec<String> = remote.files("gh-pages").into_keys().collect();
        assert_eq!(actual, expected, "{mode}");
    }
}

#[test]
fn a_token_in_the_url_never_reaches_the_output() {
    let token = "ghp_FAKE1234567890";
    let port = closed_port();
    let site = site(&format!(
        "git+https://x-access-token:{token}@127.0.0.1:{port}/repo.git#gh-pages"
    ));
    let out = common::upstate()
        .args(["run", "--config"])
        .arg(site.config())
        .env("UPSTATE_LOG", "debug")
        .output()
        .unwrap();
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(!all.contains(token), "token leaked: {all}");
    assert!(!all.contains("x-access-token"), "user name leaked: {all}");
    assert!(
        all.contains(&format!(
            "publishing to git+https://127.0.0.1:{port}#gh-pages failed"
        )),
        "{all}"
    );
    assert!(all.contains("`git ls-remote` failed"), "{all}");
    assert!(
        all.contains("connect") || all.contains("Connection refused"),
        "git's reason is kept: {all}"
    );
    // `publish` alone, on the same build, says the same and nothing more.
    let out = site.cmd(&["publish"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains(token), "{}", text(&out));
}

#[test]
fn a_malformed_git_target_is_a_config_error() {
    let site = site("git+https://example.com/r.git#bad..branch");
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("`bad..branch` is not a valid branch name"),
        "{}",
        text(&out)
    );
    let site = self::site("git+https://example.com/r.git#gh-pages?mode=squash");
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("mode=single-commit"), "{}", text(&out));
}

#[cfg(target_os = "linux")]
/// One request to [`basic_auth_server`]: its `Authorization` header, and any command line of
/// a process on this machine that held the token while the request was in flight.
#[derive(Debug, Clone)]
struct SeenRequest {
    authorization: Option<String>,
    token_on_command_lines: Vec<String>,
}

/// An HTTP server that wants Basic auth: 401 without it, 404 with it (no repository here). It
/// records every request and, while git waits for the answer, looks through `/proc/*/cmdline`.
#[cfg(target_os = "linux")]
fn basic_auth_server(
    token: &'static str,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::Mutex<Vec<SeenRequest>>>,
) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&req).into_owned();
            let authorization = head
                .lines()
                .find_map(|l| {
                    l.strip_prefix("Authorization: ")
                        .or_else(|| l.strip_prefix("authorization: "))
                })
                .map(|v| v.trim().to_owned());
            let mut token_on_command_lines = Vec::new();
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
                    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                    if cmdline.contains(token) {
                        token_on_command_lines.push(cmdline);
                    }
                }
            }
            let reply = if authorization.is_some() {
                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            } else {
                "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            };
            let _ = stream.write_all(reply.as_bytes());
            log.lock().unwrap().push(SeenRequest {
                authorization,
                token_on_command_lines,
            });
        }
    });
    (addr, seen)
}

/// Standard base64 (with padding), enough to build an expected `Authorization` header.
#[cfg(target_os = "linux")]
fn base64(data: &[u8]) -> String {
    const ABC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(target_os = "linux")]
#[test]
fn a_token_in_the_url_reaches_the_server_but_no_command_line() {
    let token = "ghp_FAKEcmdline0987654321";
    let (addr, seen) = basic_auth_server(token);
    let site = site(&format!(
        "git+https://x-access-token:{token}@{addr}/o/r.git#gh-pages"
    ));
    // Plain http, so the test needs no TLS: the credential path is the same.
    let config = std::fs::read_to_string(site.config())
        .unwrap()
        .replace("git+https://", "git+http://");
    std::fs::write(site.config(), config).unwrap();
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains(token), "{}", text(&out));
    let seen = seen.lock().unwrap().clone();
    let expected = format!(
        "Basic {}",
        base64(format!("x-access-token:{token}").as_bytes())
    );
    assert!(
        seen.iter()
            .any(|r| r.authorization.as_deref() == Some(expected.as_str())),
        "the credentials reached the server: {seen:?}"
    );
    assert!(
        seen.iter().all(|r| r.token_on_command_lines.is_empty()),
        "the token was on a command line: {seen:?}"
    );
}
