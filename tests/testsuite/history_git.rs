//! `[history] store = "git+<url>#<branch>"` end to end, through the CLI, against real git: one
//! local bare repository plays the project's repository on GitHub, holding the site's source
//! (`main`), its history (`upstate-history`) and its page (`gh-pages`). Every run starts from a
//! fresh clone in its own temporary folder, as on an ephemeral CI runner: nothing survives
//! between runs but what was pushed.
//!
//! The behaviour these tests pin down:
//! - history accumulates across runners: `fail_after` and the daily check counts see every run,
//!   the page branch holds the latest page, the history branch has exactly one commit;
//! - two runs racing never lose either run's observations (the loser of the push re-fetches and
//!   re-applies its run on top);
//! - a history that cannot be fetched stops the run (exit 1) before anything is published; only
//!   a branch that does not exist yet starts empty, and says so;
//! - a run that ends with exit 3 (an invalid incident file) still pushes its history;
//! - `check` refuses store and target schemes that are not supported.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{closed_port, text};

const HISTORY: &str = "upstate-history";
const PAGES: &str = "gh-pages";

/// Runs the real git in `dir`; panics with git's output on failure.
fn git(dir: &Path, args: &[&str]) -> String {
    common::git_as("Site Author", "author@example.com", dir, args)
}

/// The project's repository: a bare repository in a temporary folder.
struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "--bare", "repo.git"]);
        Self { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("repo.git")
    }

    fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    fn has_branch(&self, branch: &str) -> bool {
        Command::new("git")
            .current_dir(self.path())
            .args([
                "rev-parse",
                "--verify",
                "-q",
                &format!("refs/heads/{branch}"),
            ])
            .output()
            .unwrap()
            .status
            .success()
    }

    fn commits(&self, branch: &str) -> usize {
        git(
            &self.path(),
            &["rev-list", "--count", &format!("refs/heads/{branch}")],
        )
        .parse()
        .unwrap()
    }

    /// Every file of the branch tip, with its bytes.
    fn files(&self, branch: &str) -> BTreeMap<String, Vec<u8>> {
        let listing = git(
            &self.path(),
            &[
                "ls-tree",
                "-r",
                "--name-only",
                &format!("refs/heads/{branch}"),
            ],
        );
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

    /// The raw observation files (`raw/<day>/<time>.json.gz`) on the history branch.
    fn raw_runs(&self) -> Vec<String> {
        self.files(HISTORY)
            .into_keys()
            .filter(|k| k.starts_with("raw/"))
            .collect()
    }

    /// Checks counted for `component` over every daily rollup on the history branch.
    fn daily_checks(&self, component: &str) -> u64 {
        self.files(HISTORY)
            .iter()
            .filter(|(k, _)| k.starts_with("daily/"))
            .map(|(_, bytes)| {
                let day: serde_json::Value = serde_json::from_slice(bytes).unwrap();
                day["components"][component]["checks"].as_u64().unwrap_or(0)
            })
            .sum()
    }

    /// `memory.json` on the history branch.
    fn memory(&self) -> serde_json::Value {
        serde_json::from_slice(&self.files(HISTORY)["memory.json"]).unwrap()
    }

    /// `status.json` as published on the Pages branch.
    fn published_status(&self) -> serde_json::Value {
        serde_json::from_slice(&self.files(PAGES)["status.json"]).unwrap()
    }

    /// Commits `config` (and `incidents`) to `main`: the site's source, as a user keeps it.
    fn commit_site(&self, config: &str, incidents: &[(&str, &str)]) {
        let work = tempfile::tempdir().unwrap();
        git(work.path(), &["clone", "-q", &self.url(), "site"]);
        let site = work.path().join("site");
        std::fs::write(site.join("upstate.toml"), config).unwrap();
        std::fs::create_dir_all(site.join("incidents")).unwrap();
        std::fs::write(site.join("incidents/.keep"), "").unwrap();
        for (name, body) in incidents {
            std::fs::write(site.join("incidents").join(name), body).unwrap();
        }
        git(&site, &["add", "-A"]);
        git(&site, &["commit", "-q", "-m", "The status site"]);
        git(&site, &["push", "-q", "origin", "HEAD:main"]);
    }
}

/// One ephemeral runner: a fresh clone of `main` in its own temporary folder.
struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn checkout(repo: &Repo) -> Self {
        let dir = tempfile::tempdir().unwrap();
        git(
            dir.path(),
            &["clone", "-q", "-b", "main", &repo.url(), "site"],
        );
        Self { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("site/upstate.toml")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = common::upstate();
        cmd.args(args).arg("--config").arg(self.config());
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
}

/// A site with one `tcp` component on a closed port (down, and fast) that is declared down only
/// after three failed checks in a row, its history and page on branches of `repo`.
fn config(history: &str, target: &str) -> String {
    format!(
        r#"
[site]
title = "Ephemeral"
base_url = "https://status.test"

[run]
timeout = "1s"

[history]
store = "{history}"

[publish]
target = "{target}"

[[component]]
id = "edge"
label = "Edge"
kind = "tcp"
address = "127.0.0.1:{}"
fail_after = 3
"#,
        closed_port()
    )
}

fn standard_config(repo: &Repo) -> String {
    config(
        &format!("git+{}#{HISTORY}", repo.url()),
        &format!("git+{}#{PAGES}", repo.url()),
    )
}

fn edge(status: &serde_json::Value) -> serde_json::Value {
    status["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["component"] == "edge")
        .cloned()
        .unwrap()
}

#[test]
fn history_accumulates_across_ephemeral_runners() {
    let repo = Repo::new();
    repo.commit_site(&standard_config(&repo), &[]);
    let mut details = Vec::new();
    for run in 1..=3 {
        let runner = Runner::checkout(&repo);
        let out = runner.run(&["run"]);
        assert_eq!(out.status.code(), Some(0), "run {run}: {}", text(&out));
        assert!(
            !runner.dir.path().join("site/.upstate/history").exists(),
            "history goes to the branch, not the runner's disk"
        );
        let said = text(&out);
        assert_eq!(
            said.contains("does not exist yet"),
            run == 1,
            "only the first run starts empty: {said}"
        );
        // The page branch holds this run's page.
        let edge = edge(&repo.published_status());
        details.push((edge["state"].clone(), edge["detail"].clone()));
        assert_eq!(repo.commits(HISTORY), 1, "run {run}: one commit, always");
        assert_eq!(repo.raw_runs().len(), run, "run {run}");
        assert_eq!(repo.daily_checks("edge"), run as u64, "run {run}");
        drop(runner);
    }
    // fail_after = 3 saw all three runs: degraded twice, counting, then down.
    assert_eq!(details[0].0, "degraded", "{details:?}");
    assert!(
        details[0]
            .1
            .as_str()
            .unwrap()
            .contains("(1 failed check; down after 3)"),
        "{details:?}"
    );
    assert!(
        details[1]
            .1
            .as_str()
            .unwrap()
            .contains("(2 failed checks; down after 3)"),
        "{details:?}"
    );
    assert_eq!(details[2].0, "down", "{details:?}");
    assert_eq!(
        repo.memory()["components"]["edge"]["consecutive_failures"],
        3
    );
    assert_eq!(
        repo.commits(PAGES),
        1,
        "the page branch keeps one commit too"
    );

    // `build` on yet another fresh runner reads the same history.
    let runner = Runner::checkout(&repo);
    let out = runner.run(&["build"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let built: serde_json::Value = serde_json::from_slice(
        &std::fs::read(runner.dir.path().join("site/.upstate/site/status.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(edge(&built)["state"], "down");
}

/// A `git` first on PATH that holds back pushes. `Hold::Second`: every push waits a second.
/// `Hold::UntilBoth`: the first push of each `upstate` process waits until two processes have
/// reached a push (at most 20 s), so both have fetched history before either pushes, however
/// slowly the machine starts them; one of them is then always refused and must re-apply.
fn slow_push_git(hold: Hold) -> tempfile::TempDir {
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
    let wait = match hold {
        Hold::Second => "sleep 1".to_owned(),
        Hold::UntilBoth => format!(
            "touch \"{d}/ready.$PPID\"; n=0; while [ \"$(ls \"{d}\" | grep -c '^ready\\.')\" -lt 2 ] && [ $n -lt 200 ]; do sleep 0.1; n=$((n+1)); done"
        ),
    };
    let script = format!(
        "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = push ]; then {wait}; break; fi\ndone\nexec \"{real}\" \"$@\"\n"
    );
    let path = dir.path().join("git");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

#[derive(Clone, Copy)]
enum Hold {
    Second,
    UntilBoth,
}

#[test]
fn two_racing_runs_both_keep_their_observations() {
    let repo = Repo::new();
    repo.commit_site(&standard_config(&repo), &[]);
    let wrapper = slow_push_git(Hold::UntilBoth);
    let path = format!(
        "{}:{}",
        wrapper.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let runners = [Runner::checkout(&repo), Runner::checkout(&repo)];
    let children: Vec<_> = runners
        .iter()
        .map(|r| {
            r.command(&["run"])
                .env("PATH", &path)
                .env("UPSTATE_LOG", "info")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert_eq!(out.status.code(), Some(0), "{}", text(out));
    }
    let reapplied = outputs
        .iter()
        .filter(|o| text(o).contains("Another run moved the history branch"))
        .count();
    assert_eq!(reapplied, 1, "exactly one run lost the push and re-applied");
    // Both runs' observations are there: two raw files, two checks, a streak of two.
    assert_eq!(repo.raw_runs().len(), 2, "{:?}", repo.raw_runs());
    assert_eq!(repo.daily_checks("edge"), 2);
    assert_eq!(
        repo.memory()["components"]["edge"]["consecutive_failures"],
        2
    );
    assert_eq!(repo.commits(HISTORY), 1);
}

/// Two runs from one site folder (a cron run and a manual one on the same machine) take turns on
/// the local lock: the second fetches what the first pushed, so neither has to re-apply.
#[test]
fn two_runs_on_one_machine_take_turns() {
    let repo = Repo::new();
    repo.commit_site(&standard_config(&repo), &[]);
    let wrapper = slow_push_git(Hold::Second);
    let path = format!(
        "{}:{}",
        wrapper.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let runner = Runner::checkout(&repo);
    let children: Vec<_> = (0..2)
        .map(|_| {
            runner
                .command(&["run"])
                .env("PATH", &path)
                .env("UPSTATE_LOG", "info")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    for out in &outputs {
        assert_eq!(out.status.code(), Some(0), "{}", text(out));
        assert!(
            !text(out).contains("Another run moved the history branch"),
            "{}",
            text(out)
        );
    }
    let started_empty = outputs
        .iter()
        .filter(|o| text(o).contains("does not exist yet"))
        .count();
    assert_eq!(started_empty, 1, "the second run read the first one's push");
    assert_eq!(repo.raw_runs().len(), 2);
    assert_eq!(
        repo.memory()["components"]["edge"]["consecutive_failures"],
        2
    );
}

#[test]
fn a_history_that_cannot_be_fetched_stops_the_run_before_publishing() {
    let pages = Repo::new();
    let token = "ghp_HISTORYTOKEN0123";
    let port = closed_port();
    for store in [
        // A repository that does not exist.
        format!(
            "git+file://{}#{HISTORY}",
            pages.dir.path().join("missing.git").display()
        ),
        // A server that cannot be reached, with a token in the URL.
        format!("git+https://x-access-token:{token}@127.0.0.1:{port}/repo.git#{HISTORY}"),
    ] {
        let site = common::TestSite::new(&config(&store, &format!("git+{}#{PAGES}", pages.url())));
        let out = site.cmd(&["run"]);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("history store git+"), "{said}");
        assert!(said.contains("`git ls-remote` failed"), "{said}");
        assert!(!said.contains(token), "token leaked: {said}");
        assert!(!said.contains("x-access-token"), "user name leaked: {said}");
        assert!(!said.contains("does not exist yet"), "{said}");
        assert!(!pages.has_branch(PAGES), "nothing was published: {said}");
        assert!(!site.path().join(".upstate/site").exists(), "nothing built");
        // `build` refuses too, rather than rendering empty history.
        let out = site.cmd(&["build"]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(!site.path().join(".upstate/site").exists(), "nothing built");
    }
}

#[test]
fn a_missing_branch_starts_empty_and_says_so() {
    let repo = Repo::new();
    let site = common::TestSite::new(&standard_config(&repo));
    let out = site.cmd(&["run"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains(&format!(
            "History branch `{HISTORY}` does not exist yet in git+{}#{HISTORY}: starting with empty history",
            repo.url()
        )),
        "{said}"
    );
    assert_eq!(repo.commits(HISTORY), 1);
    assert_eq!(repo.raw_runs().len(), 1);
    let files = repo.files(HISTORY);
    for f in ["FORMAT", "memory.json"] {
        assert!(files.contains_key(f), "{f}: {:?}", files.keys());
    }
    assert!(
        !files.contains_key("lock"),
        "the local lock stays on the machine"
    );
}

#[test]
fn a_run_that_exits_3_still_pushes_its_history() {
    let repo = Repo::new();
    repo.commit_site(
        &standard_config(&repo),
        &[(
            "2026-01-10-broken.md",
            "---\ntitle: [unclosed\n---\nBroken.\n",
        )],
    );
    let runner = Runner::checkout(&repo);
    let out = runner.run(&["run"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(
        text(&out).contains("2026-01-10-broken.md"),
        "{}",
        text(&out)
    );
    assert_eq!(repo.raw_runs().len(), 1);
    assert_eq!(repo.daily_checks("edge"), 1);
    assert!(repo.has_branch(PAGES), "the page was published too");
}

#[test]
fn history_check_reads_the_branch() {
    let repo = Repo::new();
    repo.commit_site(&standard_config(&repo), &[]);
    assert_eq!(Runner::checkout(&repo).run(&["run"]).status.code(), Some(0));
    let runner = Runner::checkout(&repo);
    let out = runner.run(&["history", "check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("History OK."), "{}", text(&out));
}

#[test]
fn check_refuses_unsupported_store_and_target_schemes() {
    let site = common::TestSite::new(&config("ftp://x", "gopher://x"));
    let out = site.cmd(&["check"]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    let supported = "use a folder path, `s3://bucket/prefix`, or `git+<repo-url>#<branch>`";
    for line in [
        "upstate.toml:10:1: error: [history] `store`: the `ftp://` scheme is not supported",
        "upstate.toml:13:1: error: [publish] `target`: the `gopher://` scheme is not supported",
    ] {
        assert!(said.contains(line), "{line}\n{said}");
    }
    assert_eq!(said.matches(supported).count(), 2, "{said}");
    // `run` refuses the same file before probing or writing anything.
    let out = site.cmd(&["run"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(!site.path().join("ftp:").exists());
    assert!(!site.path().join(".upstate").exists());

    // `git+` with a scheme git does not speak is refused the same way; a good one passes.
    let site = common::TestSite::new(&config("git+ftp://h/r.git#h", "public"));
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("git does not fetch `ftp://` URLs"),
        "{}",
        text(&out)
    );
    let site = common::TestSite::new(&config(
        "git+file:///srv/r.git#h?mode=incremental",
        "public",
    ));
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("a history store takes no `?mode=incremental`"),
        "{}",
        text(&out)
    );
    let site = common::TestSite::new(&config("git+file:///srv/r.git#h", "git+file:///srv/r.git"));
    let out = site.cmd(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

/// Region runners write their reports to the history branch (each push re-applied on top of the
/// others'), and the merging run reads them from there.
#[test]
fn region_reports_go_through_the_branch() {
    let repo = Repo::new();
    let store = format!("git+{}#{HISTORY}", repo.url());
    let merger = common::TestSite::new(&config(&store, "public"));
    for region in ["eu", "us"] {
        let runner = common::TestSite::new(&config(&store, "public"));
        let out = runner.cmd(&["probe", "--region", region, "--out", &store]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            text(&out).contains(&format!(
                "Region {region}, shard 1/1: wrote 1 observations."
            )),
            "{}",
            text(&out)
        );
    }
    let files = repo.files(HISTORY);
    for region in ["eu", "us"] {
        assert!(
            files.contains_key(&format!("regions/{region}/shard-1-of-1.json")),
            "{:?}",
            files.keys()
        );
    }
    assert_eq!(repo.commits(HISTORY), 1);
    let out = merger.cmd(&["run", "--merge"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(merger.path().join("public/status.json")).unwrap(),
    )
    .unwrap();
    let detail = edge(&status)["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("2 of 2 regions"), "{detail}");
    assert_eq!(repo.raw_runs().len(), 1, "the merged run is recorded too");
}
