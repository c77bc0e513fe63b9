//! Splits a Markdown file into its front matter and body, and reads the front matter reporting
//! every error at once: serde stops at the first one, so unknown keys are found from the keys
//! alone, and a field whose value cannot be read is set aside (its lines blanked, so every line
//! number stays the file's) and the rest read again.

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_saphyr::Spanned;

use super::{FIELDS, FileErrors, FrontMatter, StrictFrontMatter, UPDATE_FIELDS};
use crate::config::closest;

/// Front matter text, the body, and the 1-based line the front matter starts on.
#[derive(Debug)]
pub struct Split<'a> {
    pub front: &'a str,
    pub body: &'a str,
    /// Line number of the first front-matter line in the file.
    pub first_line: usize,
}

/// Splits `---\n<yaml>\n---\n<body>`. Comment lines before the opening `---` are allowed.
pub fn split(text: &str) -> Result<Split<'_>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut offset = 0;
    let mut line_no = 0;
    let mut open = None;
    for line in text.split_inclusive('\n') {
        line_no += 1;
        let trimmed = line.trim_end();
        offset += line.len();
        if trimmed == "---" {
            open = Some((offset, line_no));
            break;
        }
        if !(trimmed.is_empty() || trimmed.starts_with('#')) {
            break;
        }
    }
    let Some((start, open_line)) = open else {
        return Err("no front matter: the file must start with a `---` line, the YAML fields, and another `---` line".to_owned());
    };
    let rest = text.get(start..).unwrap_or_default();
    let mut inner = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            let front = rest.get(..inner).unwrap_or_default();
            let body = rest.get(inner + line.len()..).unwrap_or_default();
            return Ok(Split {
                front,
                body,
                first_line: open_line + 1,
            });
        }
        inner += line.len();
    }
    Err("the front matter is not closed: add a `---` line after the last field".to_owned())
}

/// The keys of the front matter with their lines, in file order.
type Keys = Vec<(String, usize)>;

/// Reads the front matter: the fields, and the names of fields left out for an error of their
/// own (so they are not reported as missing too). Every error found goes to `errors`, with its
/// line in the file. `None` when the text is not YAML at all.
pub(super) fn read(front: &str, errors: &mut FileErrors<'_>) -> Option<(FrontMatter, Vec<String>)> {
    // The usual file reads in one pass, which no unknown key and no value of the wrong type
    // passes; only a file with an error is read the three ways that find every error (each a
    // whole YAML parse: they were most of a cold build's loading). Both read the same values
    // the same way (see `keys_only`).
    if let Ok(strict) = serde_saphyr::from_str::<StrictFrontMatter>(front) {
        return Some((strict.into(), Vec::new()));
    }
    let keys = keys(front, errors)?;
    unknown_keys(front, &keys, errors);
    let mut text = front.to_owned();
    let mut removed: Vec<String> = Vec::new();
    // Each pass sets one field aside, so this ends; the bound only guards the reasoning.
    for _ in 0..=keys.len() {
        let e = match serde_saphyr::from_str::<FrontMatter>(&text) {
            Ok(fm) => return Some((fm, removed)),
            Err(e) => e,
        };
        let line = e
            .location()
            .map_or(1, |l| usize::try_from(l.line()).unwrap_or(1));
        let (message, help) = describe(&e);
        // The field whose lines hold the error: from its key to the next key.
        let at = keys.iter().rposition(|(_, l)| *l <= line);
        let field = at.map(|i| keys[i].0.clone()).unwrap_or_default();
        let message = if field.is_empty() {
            message
        } else {
            format!("`{field}`: {message}")
        };
        errors.push(line + errors.line_offset, &field, message, help);
        let i = at.filter(|_| !removed.contains(&field))?;
        let end = keys.get(i + 1).map_or(usize::MAX, |(_, l)| *l);
        text = blank_lines(&text, keys[i].1, end);
        removed.push(field);
    }
    None
}

/// The top-level keys and their lines; a YAML syntax error (reported) gives `None`.
fn keys(front: &str, errors: &mut FileErrors<'_>) -> Option<Keys> {
    let map: Option<HashMap<Spanned<String>, IgnoredAny>> = match keys_only(front) {
        Ok(map) => map,
        Err(e) => {
            let line = e
                .location()
                .map_or(1, |l| usize::try_from(l.line()).unwrap_or(1));
            let (message, help) = describe(&e);
            errors.push(line + errors.line_offset, "", message, help);
            return None;
        }
    };
    let mut keys: Keys = map
        .unwrap_or_default()
        .into_keys()
        .map(|k| (k.value, usize::try_from(k.referenced.line()).unwrap_or(1)))
        .collect();
    keys.sort_by_key(|(_, line)| *line);
    Some(keys)
}

/// Reports every unknown key, at the top and in each update, with the fields of its own level.
fn unknown_keys(front: &str, keys: &Keys, errors: &mut FileErrors<'_>) {
    for (key, line) in keys {
        if !FIELDS.contains(&key.as_str()) {
            let help = match closest(key, FIELDS) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("known fields: {}", FIELDS.join(", ")),
            };
            errors.push(
                line + errors.line_offset,
                key,
                format!("unknown field `{key}`"),
                help,
            );
        }
    }
    #[derive(Deserialize)]
    struct UpdateKeys {
        #[serde(default)]
        updates: Vec<HashMap<Spanned<String>, IgnoredAny>>,
    }
    // Not a list of mappings: the typed read reports that.
    let Ok(parsed) = keys_only::<UpdateKeys>(front) else {
        return;
    };
    let mut unknown: Vec<(usize, String)> = parsed
        .updates
        .into_iter()
        .flat_map(HashMap::into_keys)
        .filter(|k| !UPDATE_FIELDS.contains(&k.value.as_str()))
        .map(|k| (usize::try_from(k.referenced.line()).unwrap_or(1), k.value))
        .collect();
    unknown.sort();
    for (line, key) in unknown {
        let help = match closest(&key, UPDATE_FIELDS) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("an update has: {}", UPDATE_FIELDS.join(", ")),
        };
        errors.push(
            line + errors.line_offset,
            "updates",
            format!("unknown field `{key}` in an update"),
            help,
        );
    }
}

/// `front` read for its keys alone: a value such as `.inf` or `1e999` is text here, as it is
/// to the typed read of a `String` field (by default the parser refuses a non-finite number
/// read as "any value", which made such a file an error only when it had another error too).
fn keys_only<T: serde::de::DeserializeOwned>(front: &str) -> Result<T, serde_saphyr::Error> {
    let mut options = serde_saphyr::Options::default();
    options.non_finite_float_policy = serde_saphyr::NonFiniteFloatPolicy::AsString;
    serde_saphyr::from_str_with_options(front, options)
}

/// `text` with lines `from..to` (1-based) emptied, every newline kept.
fn blank_lines(text: &str, from: usize, to: usize) -> String {
    text.split_inclusive('\n')
        .enumerate()
        .map(|(i, line)| {
            if (from..to).contains(&(i + 1)) {
                if line.ends_with('\n') { "\n" } else { "" }
            } else {
                line
            }
        })
        .collect()
}

/// A YAML error's own words, without the parser's `line X column Y` (relative to the front
/// matter, not the file; the caller gives the file's line) and its snippet.
fn describe(e: &serde_saphyr::Error) -> (String, Option<String>) {
    use serde_saphyr::MessageFormatter;
    let mut inner = e;
    while let serde_saphyr::Error::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let message = serde_saphyr::DefaultMessageFormatter
        .format_message(inner)
        .into_owned();
    (
        message,
        Some("check the YAML between the `---` lines".to_owned()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_with_leading_comment() {
        let s = split("# note\n---\ntitle: x\n---\nbody\n").unwrap();
        assert_eq!((s.front, s.body, s.first_line), ("title: x\n", "body\n", 3));
        assert!(split("title: x\n").unwrap_err().contains("must start with"));
        assert!(split("---\ntitle: x\n").unwrap_err().contains("not closed"));
    }
}
