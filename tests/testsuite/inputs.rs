//! Issue 15: the site's inputs arrive by pull request. Symbolic links out of an input folder are
//! never read or published (and `check` names each one), and the build's output and target
//! folders can never be the site, an input folder or someone else's folder.

use crate::common;

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::common::{TestSite, text};

const SECRET_VAR: &str = "UPSTATE_R15_DB_PASSWORD";
const SECRET: &str = "pw-R15-5e3a9c71";

/// Every file under `dir` (links included, never followed), with its bytes as lossy text.
fn tree(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.push((p, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    out.sort();
    out
}

/// A site whose pull request added a link of every kind, plus one good file of each.
struct LinkedSite {
    site: TestSite,
    _outside: tempfile::TempDir,
    /// The link paths `check` must name.
    links: Vec<PathBuf>,
}

fn linked_site() -> LinkedSite {
    let site = TestSite::new(
        "[site]\ntitle = \"R15\"\nbase_url = \"https://t.test\"\ntheme = \"mine\"\n[publish]\ntarget = \"public\"\n",
    );
    let outside = tempfile::tempdir().unwrap();
    let o = outside.path();
    std::fs::write(o.join("secret.txt"), "OUTSIDE-FOLDER-SECRET").unwrap();
    std::fs::write(
        o.join("2026-01-01-outside.md"),
        "---\ntitle: OUTSIDE-INCIDENT-TITLE\nseverity: minor\nstatus: resolved\ndiscovered_at: 2026-01-01T10:00:00Z\nresolved_at: 2026-01-01T11:00:00Z\n---\nOUTSIDE-INCIDENT-BODY\n",
    )
    .unwrap();
    std::fs::write(o.join("page.html"), "OUTSIDE-TEMPLATE {{ page.title }}").unwrap();
    let s = site.path();
    for d in [
        "content",
        "static/img",
        "themes/mine/templates",
        "incidents",
    ] {
        std::fs::create_dir_all(s.join(d)).unwrap();
    }
    std::fs::write(s.join("content/about.md"), "# About\nGOOD-CONTENT\n").unwrap();
    std::fs::write(s.join("static/ok.txt"), "GOOD-STATIC").unwrap();
    std::fs::write(s.join("static/img/logo.svg"), "<svg>GOOD-LOGO</svg>").unwrap();
    std::fs::write(
        s.join("incidents/2026-01-02-inside.md"),
        "---\ntitle: GOOD-INCIDENT\nseverity: minor\nstatus: resolved\ndiscovered_at: 2026-01-02T10:00:00Z\nresolved_at: 2026-01-02T11:00:00Z\n---\nBody.\n",
    )
    .unwrap();

    let mut links = Vec::new();
    let mut link = |target: &Path, at: &str| {
        symlink(target, s.join(at)).unwrap();
        links.push(s.join(at));
    };
    link(Path::new("/proc/self/environ"), "content/env.md");
    link(Path::new("../upstate.toml"), "content/config.md");
    link(Path::new("/etc/passwd"), "static/passwd.txt");
    link(o, "static/elsewhere");
    link(Path::new("."), "static/loop");
    link(
        &o.join("2026-01-01-outside.md"),
        "incidents/2026-01-01-outside.md",
    );
    link(&o.join("page.html"), "themes/mine/templates/page.html");
    // A link between two files of the same folder is an ordinary thing to commit: kept.
    symlink("img/logo.svg", s.join("static/logo.svg")).unwrap();
    LinkedSite {
        site,
        _outside: outside,
        links,
    }
}

#[test]
fn r15_check_names_every_link_out_of_an_input_folder() {
    let l = linked_site();
    let out = common::upstate()
        .env(SECRET_VAR, SECRET)
        .args(["check", "--config"])
        .arg(l.site.config())
        .output()
        .unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    for link in &l.links {
        let shown = link.display().to_string();
        assert!(
            t.lines()
                .any(|line| line.starts_with(&shown) && line.contains("error")),
            "`check` does not name {shown}:\n{t}"
        );
    }
    assert!(!t.contains(SECRET), "{t}");
    assert!(!t.contains("root:x:0:0"), "{t}");
    // The same in the machine-readable format a CI annotates the pull request with.
    let json = l.site.cmd(&["check", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let files: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap())
        .collect();
    for link in &l.links {
        assert!(
            files.contains(&link.to_str().unwrap()),
            "{link:?} not in {files:?}"
        );
    }
    // The good link is not an error.
    assert!(!t.contains("static/logo.svg"), "{t}");
}

#[test]
fn r15_build_and_run_leave_links_out_and_publish_nothing_they_point_at() {
    let l = linked_site();
    for command in ["build", "run"] {
        let out = common::upstate()
            .env(SECRET_VAR, SECRET)
            .args([command, "--config"])
            .arg(l.site.config())
            .output()
            .unwrap();
        let t = text(&out);
        assert_eq!(out.status.code(), Some(3), "`{command}`:\n{t}");
        for link in &l.links {
            assert!(
                t.contains(&link.display().to_string()),
                "`{command}` does not report {link:?}:\n{t}"
            );
        }
        assert!(!t.contains(SECRET), "{t}");
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let passwd_line = passwd.lines().next().unwrap();
    for dir in [".upstate/site", "public"] {
        let files = tree(&l.site.path().join(dir));
        let names: Vec<String> = files
            .iter()
            .map(|(p, _)| {
                p.strip_prefix(l.site.path().join(dir))
                    .unwrap()
                    .display()
                    .to_string()
            })
            .collect();
        // The rest of every folder is still there, the loop and the links notwithstanding.
        for good in [
            "ok.txt",
            "img/logo.svg",
            "logo.svg",
            "about.html",
            "index.html",
        ] {
            assert!(
                names.iter().any(|n| n == good),
                "{dir}: no {good} in {names:?}"
            );
        }
        for gone in ["env.html", "config.html", "passwd.txt"] {
            assert!(!names.iter().any(|n| n == gone), "{dir}: {gone} published");
        }
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("elsewhere") || n.starts_with("loop")),
            "{dir}: {names:?}"
        );
        for (path, content) in &files {
            for leaked in [
                SECRET,
                SECRET_VAR,
                passwd_line,
                "OUTSIDE-FOLDER-SECRET",
                "OUTSIDE-INCIDENT",
                "OUTSIDE-TEMPLATE",
                "base_url = ",
            ] {
                assert!(!content.contains(leaked), "{path:?} holds `{leaked}`");
            }
        }
        let all: String = files.iter().map(|(_, c)| c.as_str()).collect();
        assert!(all.contains("GOOD-INCIDENT") && all.contains("GOOD-CONTENT"));
        assert!(all.contains("GOOD-LOGO") && all.contains("GOOD-STATIC"));
    }
}

#[test]
fn r15_a_linked_static_or_theme_folder_is_refused_as_a_whole() {
    let site = TestSite::new("[site]\nbase_url = \"https://t.test\"\ntheme = \"mine\"\n");
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("templates")).unwrap();
    std::fs::write(outside.path().join("secret.txt"), "OUTSIDE-FOLDER-SECRET").unwrap();
    std::fs::write(
        outside.path().join("templates/page.html"),
        "OUTSIDE-TEMPLATE",
    )
    .unwrap();
    symlink(outside.path(), site.path().join("static")).unwrap();
    std::fs::create_dir_all(site.path().join("themes")).unwrap();
    symlink(outside.path(), site.path().join("themes/mine")).unwrap();
    std::fs::create_dir_all(site.path().join("content")).unwrap();
    std::fs::write(site.path().join("content/about.md"), "About").unwrap();

    let check = site.cmd(&["check"]);
    let t = text(&check);
    assert_eq!(check.status.code(), Some(2), "{t}");
    for link in ["static", "themes/mine"] {
        let shown = site.path().join(link).display().to_string();
        assert!(t.contains(&format!("{shown}: error")), "{shown}:\n{t}");
    }
    let build = site.cmd(&["build"]);
    assert_eq!(build.status.code(), Some(3), "{}", text(&build));
    for (path, content) in tree(&site.path().join(".upstate/site")) {
        assert!(
            !content.contains("OUTSIDE-FOLDER-SECRET") && !content.contains("OUTSIDE-TEMPLATE"),
            "{path:?}"
        );
    }
}

/// A site with inputs and an unrelated file, and the output/target lines given.
fn site_with_files(publish: &str) -> TestSite {
    let site = TestSite::new(&format!(
        "[site]\nbase_url = \"https://t.test\"\n[publish]\n{publish}\n"
    ));
    site.incident(
        "2026-01-02-kept.md",
        "---\ntitle: Kept\nseverity: minor\nstatus: resolved\ndiscovered_at: 2026-01-02T10:00:00Z\nresolved_at: 2026-01-02T11:00:00Z\n---\nBody.\n",
    );
    std::fs::create_dir_all(site.path().join("content")).unwrap();
    std::fs::write(site.path().join("content/about.md"), "About").unwrap();
    std::fs::write(site.path().join("NOTES.txt"), "unrelated").unwrap();
    site
}

/// Every file of the site folder (links included), to compare before and after.
fn snapshot(site: &TestSite) -> Vec<(PathBuf, String)> {
    tree(site.path())
}

#[test]
fn r15_output_or_target_on_the_site_or_an_input_folder_is_refused_and_nothing_deleted() {
    for (publish, key) in [
        ("output = \".\"", "output"),
        ("output = \"incidents\"", "output"),
        ("output = \"..\"", "output"),
        ("target = \".\"", "target"),
        ("target = \"content\"", "target"),
    ] {
        let site = site_with_files(publish);
        let before = snapshot(&site);
        let check = site.cmd(&["check"]);
        let t = text(&check);
        assert_eq!(check.status.code(), Some(2), "{publish}: {t}");
        assert!(t.contains(&format!("`[publish] {key}`")), "{publish}: {t}");
        for command in ["build", "run"] {
            let out = site.cmd(&[command]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{publish} {command}: {}",
                text(&out)
            );
        }
        assert_eq!(snapshot(&site), before, "{publish}: files changed");
    }
}

#[test]
fn r15_a_folder_that_is_not_upstates_is_refused_with_its_name_and_the_fix() {
    // An output folder someone else's files live in: nothing is removed.
    let site = site_with_files("output = \"build\"");
    std::fs::create_dir_all(site.path().join("build")).unwrap();
    std::fs::write(site.path().join("build/theirs.txt"), "keep me").unwrap();
    let out = site.cmd(&["build"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    let shown = site.path().join("build").display().to_string();
    assert!(
        t.contains(&shown) && t.contains("has no .upstate-build file"),
        "{t}"
    );
    assert!(t.contains("new or empty folder"), "{t}");
    assert_eq!(
        std::fs::read_to_string(site.path().join("build/theirs.txt")).unwrap(),
        "keep me"
    );
    assert!(!site.path().join("build/index.html").exists());

    // A folder target outside the site is what the folder target is for, but only an empty
    // one or upstate's own: `/var/www` with other sites in it is refused.
    let www = tempfile::tempdir().unwrap();
    let target = www.path().join("status");
    let site = site_with_files(&format!("target = \"{}\"", target.display()));
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("other-site.html"), "keep me").unwrap();
    let out = site.cmd(&["run"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains(&target.display().to_string()) && t.contains(".upstate-build"),
        "{t}"
    );
    assert_eq!(
        std::fs::read_to_string(target.join("other-site.html")).unwrap(),
        "keep me"
    );

    // Emptied, it is published to, marked, and published to again.
    std::fs::remove_file(target.join("other-site.html")).unwrap();
    for _ in 0..2 {
        let out = site.cmd(&["run"]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    assert!(target.join("index.html").is_file() && target.join(".upstate-build").is_file());
}

#[test]
fn r15_an_output_folder_linked_into_the_inputs_is_refused_on_its_real_path() {
    let site = site_with_files("output = \"out\"");
    symlink("incidents", site.path().join("out")).unwrap();
    let before = snapshot(&site);
    let out = site.cmd(&["build"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("input folder incidents/"), "{t}");
    assert_eq!(snapshot(&site), before);
}

#[test]
fn r15_new_never_writes_through_a_link_left_in_incidents() {
    let site = TestSite::new("[site]\nbase_url = \"https://t.test\"\n");
    let outside = tempfile::tempdir().unwrap();
    // Today's and tomorrow's name, so a run across midnight still meets a link.
    let today = chrono::Utc::now().date_naive();
    let mut victims = Vec::new();
    for (i, date) in [today, today.succ_opt().unwrap()].iter().enumerate() {
        let victim = outside.path().join(format!("created-by-upstate-{i}"));
        let link = site.path().join(format!(
            "incidents/{}-database-slow.md",
            date.format("%Y-%m-%d")
        ));
        symlink(&victim, &link).unwrap();
        victims.push(victim);
    }
    let out = site.cmd(&["new", "incident", "Database slow"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for victim in &victims {
        assert!(!victim.exists(), "wrote through the link to {victim:?}");
    }
    let written: Vec<_> = std::fs::read_dir(site.path().join("incidents"))
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .ends_with("-database-slow-2.md")
        })
        .collect();
    assert_eq!(written.len(), 1);
    assert!(written[0].file_type().unwrap().is_file());
}
