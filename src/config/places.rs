//! Where the build may write: `[publish] output` and a folder `[publish] target`.
//!
//! The build makes its output folder hold exactly the site, removing every file it did not
//! produce, and a folder target is replaced whole. So `output = "."` once deleted the config,
//! every incident and unrelated files (issue 15). The rules, checked here on the paths as
//! written (so `check` reports them with their line) and again on the real paths just before
//! anything is written (`publish::guard`, which also wants its marker file in the folder):
//!
//! - never the site folder (the config file's folder) itself, nor a folder that contains it;
//! - never an input folder (`incidents/`, `content/`, `static/`, `themes/`) or inside one;
//! - never the local history store, inside it, or a folder that contains it;
//! - `output` lies inside the site folder; a folder `target` may also be an absolute path
//!   outside it (`/var/www/status` is what a folder target is for), never an ancestor of it;
//! - neither of `output` and a folder target lies inside the other (each would delete the other).

use std::path::{Component, Path, PathBuf};

use super::Config;
use crate::inputs::INPUT_FOLDERS;

/// One path rule broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceProblem {
    /// `output` or `target`.
    pub key: &'static str,
    /// The folder, resolved.
    pub folder: PathBuf,
    pub message: String,
    pub help: String,
}

impl std::fmt::Display for PlaceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.message)
    }
}

/// `path` made absolute, with `.` and `..` resolved by the text alone (nothing is read).
pub fn lexical(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` with every link resolved: its longest existing ancestor made canonical, the rest
/// appended as written (the folder may not exist yet).
pub fn real(path: &Path) -> PathBuf {
    let path = lexical(path);
    let mut existing = path.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(canonical) = std::fs::canonicalize(existing) {
            let mut out = canonical;
            out.extend(rest.iter().rev());
            return out;
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return path,
        }
    }
}

/// Where `[publish] output` resolves to.
pub fn output_dir(config: &Config) -> PathBuf {
    config.resolve(config.publish.output.as_str())
}

/// Where a folder `[publish] target` resolves to; `None` for an S3 or git target.
pub fn folder_target(config: &Config) -> Option<PathBuf> {
    let raw = config.publish.target.expose();
    if raw.starts_with("s3://") || raw.starts_with("git+") || raw.contains("://") {
        return None;
    }
    Some(config.resolve(raw))
}

/// Every rule the output folder and a folder target break, with `normal` applied to every path
/// first ([`lexical`] for `check`, [`real`] before writing).
pub fn problems(config: &Config, normal: fn(&Path) -> PathBuf) -> Vec<PlaceProblem> {
    let site = normal(&config.base_dir());
    let history = config.history.store.as_str();
    let history = (!history.contains("://") && !history.starts_with("git+"))
        .then(|| normal(&config.resolve(history)));
    let output = normal(&output_dir(config));
    let target = folder_target(config).map(|t| normal(&t));
    let mut out = Vec::new();
    let mut judge = |key: &'static str, folder: &Path, outside_allowed: bool| {
        if let Some(reason) = judge(folder, &site, history.as_deref(), outside_allowed) {
            out.push(problem(key, folder, reason));
        }
    };
    judge("output", &output, false);
    if let Some(target) = &target {
        judge("target", target, true);
    }
    if let Some(target) = target
        && target != output
    {
        if target.starts_with(&output) {
            out.push(problem(
                "target",
                &target,
                format!("is inside the output folder {}", output.display()),
            ));
        } else if output.starts_with(&target) {
            out.push(problem(
                "output",
                &output,
                format!("is inside the target folder {}", target.display()),
            ));
        }
    }
    out
}

fn problem(key: &'static str, folder: &Path, reason: String) -> PlaceProblem {
    PlaceProblem {
        key,
        folder: folder.to_path_buf(),
        message: format!(
            "`[publish] {key}` ({}) {reason}: every build removes what it did not make there",
            folder.display()
        ),
        help: if key == "output" {
            "give the build a folder of its own inside the site, e.g. output = \".upstate/site\""
                .to_owned()
        } else {
            "publish to a folder of its own, e.g. target = \"public\", or an absolute path outside the site such as \"/var/www/status\"".to_owned()
        },
    }
}

/// Why `folder` may not be written, if it may not.
fn judge(
    folder: &Path,
    site: &Path,
    history: Option<&Path>,
    outside_allowed: bool,
) -> Option<String> {
    if folder == site {
        return Some("is the site folder itself (the config file's folder)".to_owned());
    }
    if site.starts_with(folder) {
        return Some(format!("contains the site folder {}", site.display()));
    }
    for name in INPUT_FOLDERS {
        let input = site.join(name);
        if folder.starts_with(&input) {
            return Some(format!("is the input folder {name}/ or inside it"));
        }
    }
    if let Some(history) = history
        && (folder.starts_with(history) || history.starts_with(folder))
    {
        return Some(format!(
            "overlaps the history store {} ([history] store)",
            history.display()
        ));
    }
    if !outside_allowed && !folder.starts_with(site) {
        return Some(format!("is outside the site folder {}", site.display()));
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config(publish: &str) -> Config {
        let text = format!("[site]\nbase_url = \"https://t.test\"\n[publish]\n{publish}\n");
        // The places are judged again here; parsing them into errors is `validate`'s business.
        Config::parse_collecting(&text, Path::new("/srv/site/upstate.toml"))
            .unwrap()
            .0
    }

    fn keys(publish: &str) -> Vec<(&'static str, String)> {
        problems(&config(publish), lexical)
            .into_iter()
            .map(|p| (p.key, p.message))
            .collect()
    }

    #[test]
    fn the_site_its_inputs_its_history_and_its_parents_are_refused() {
        for (publish, key, says) in [
            ("output = \".\"", "output", "is the site folder itself"),
            (
                "output = \"./incidents\"",
                "output",
                "input folder incidents/",
            ),
            ("output = \"static/x\"", "output", "input folder static/"),
            ("output = \"themes\"", "output", "input folder themes/"),
            ("output = \"..\"", "output", "contains the site folder"),
            ("output = \"/srv\"", "output", "contains the site folder"),
            ("output = \"/tmp/out\"", "output", "outside the site folder"),
            (
                "output = \".upstate\"",
                "output",
                "overlaps the history store",
            ),
            (
                "output = \"sub/../content\"",
                "output",
                "input folder content/",
            ),
            ("target = \".\"", "target", "is the site folder itself"),
            ("target = \"/\"", "target", "contains the site folder"),
            ("target = \"content\"", "target", "input folder content/"),
            (
                "target = \".upstate/site/www\"",
                "target",
                "inside the output folder",
            ),
        ] {
            let got = keys(publish);
            assert!(
                got.iter().any(|(k, m)| *k == key && m.contains(says)),
                "{publish}: {got:?}"
            );
        }
    }

    #[test]
    fn a_folder_of_its_own_inside_or_a_target_outside_is_fine() {
        for publish in [
            "",
            "output = \"build\"\ntarget = \"public\"",
            "target = \"/var/www/status\"",
            "target = \"s3://bucket/site\"",
            "output = \"out\"\ntarget = \"out\"",
        ] {
            assert_eq!(keys(publish), [], "{publish}");
        }
    }
}
