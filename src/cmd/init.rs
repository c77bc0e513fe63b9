//! `upstate init [DIR]`: scaffold a site that `check` accepts and `run` builds.

use std::path::Path;

use super::Exit;

/// The starter site, from `examples/starter/` (kept there so it is also browsable and tested).
const FILES: [(&str, &str); 7] = [
    (
        "upstate.toml",
        include_str!("../../examples/starter/upstate.toml"),
    ),
    (
        "incidents/2026-01-15-website-slow.md",
        include_str!("../../examples/starter/incidents/2026-01-15-website-slow.md"),
    ),
    (
        "content/about.md",
        include_str!("../../examples/starter/content/about.md"),
    ),
    (
        ".gitignore",
        include_str!("../../examples/starter/.gitignore"),
    ),
    (
        ".github/workflows/upstate.yml",
        include_str!("../../examples/starter/.github/workflows/upstate.yml"),
    ),
    (
        ".github/workflows/upstate-regions.yml.example",
        include_str!("../../examples/starter/.github/workflows/upstate-regions.yml.example"),
    ),
    (
        ".gitlab-ci.yml",
        include_str!("../../examples/starter/.gitlab-ci.yml"),
    ),
];

pub fn run(dir: &Path, force: bool) -> Exit {
    let existing: Vec<&str> = FILES
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| dir.join(p).exists())
        .collect();
    if !existing.is_empty() && !force {
        eprintln!(
            "error: {} already has {}; pass --force to overwrite.",
            dir.display(),
            existing.join(", ")
        );
        return Exit::Invalid;
    }
    for (path, content) in FILES {
        let dest = dir.join(path);
        if let Some(parent) = dest.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            eprintln!("error: cannot create {}: {e}", parent.display());
            return Exit::Fatal;
        }
        if let Err(e) = std::fs::write(&dest, content) {
            eprintln!("error: cannot write {}: {e}", dest.display());
            return Exit::Fatal;
        }
        out!("Created {}", dest.display());
    }
    out!("Next: cd {} && upstate check && upstate run", dir.display());
    out!(
        "From CI cron: push this folder to GitHub (or GitLab); .github/workflows/upstate.yml \
         (or .gitlab-ci.yml) runs it every 5 minutes and publishes the page. See the README, \
         \"Run it from CI cron\"."
    );
    Exit::Success
}
