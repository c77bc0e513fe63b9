//! Reads one table (or one half of a `[[component]]` / `[[notify]]`) reporting every error in it.
//!
//! serde stops at the first error, so one unknown key would hide a bad value next to it, and one
//! bad value every error after it. Here, after an error, the table is read again without what
//! was wrong: every unknown key of the table is reported at once and left out (linear, however
//! many there are: issue 15), and a key whose value cannot be read is reported and left out.
//! Keys are left out by masking their bytes (see [`document::Masked`]), so positions stay the
//! file's. A table that only had unknown keys still gives its value, so the checks after reading
//! (`base_url`, URLs, ...) run too; one with a bad value gives none (a default in its place
//! would be judged as if the user had written it).

use std::collections::BTreeMap;
use std::ops::Range;

use super::document::{self, Masked, Positioned, Section};
use super::{Errors, closest};

/// A section read as keys, and where its window starts in the file.
pub(super) type KeyMap = BTreeMap<toml::Spanned<String>, toml::Spanned<toml::Value>>;

/// Unknown keys reported one by one; past this many, one more error says how many were left.
pub(super) const UNKNOWN_KEYS_LISTED: usize = 20;

/// Each top-level key of `keys` and its bytes in the file, from the key to the end of its value;
/// for a sub-table written as a header (`[component.headers]`), from the header to the next
/// header, so masking keeps the header with its keys.
pub(super) fn key_ranges(keys: &KeyMap, masked: &Masked) -> Vec<(String, Range<usize>)> {
    let headers = header_lines(&masked.text);
    keys.iter()
        .map(|(k, v)| {
            let key = k.span().start;
            let range = match headers.iter().position(|h| h.contains(&key)) {
                Some(i) => {
                    let end = headers.get(i + 1).map_or(masked.text.len(), |h| h.start);
                    headers[i].start..end
                }
                None => key..v.span().end,
            };
            (
                k.get_ref().clone(),
                range.start + masked.offset..range.end + masked.offset,
            )
        })
        .collect()
}

/// The byte ranges of the table header lines (`[x]`, `[[x]]`) of a window.
fn header_lines(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if document::header_name(line).is_some() {
            out.push(start..start + line.len());
        }
        start += line.len();
    }
    out
}

/// Parses the keys `keep` of `section` with `parse`, reporting every error (see the module
/// doc). `other` are keys read by the other half of the section: never unknown here, and
/// offered in suggestions.
pub(super) fn read_all<T>(
    text: &str,
    section: &Section,
    mut keep: Vec<(String, Range<usize>)>,
    other: &[&str],
    errors: &mut Errors<'_>,
    parse: impl Fn(&Masked) -> Result<T, Positioned>,
) -> Option<T> {
    let mut set_aside: Vec<String> = Vec::new();
    let mut unknown_done = false;
    // Each pass leaves out at least one key, so this ends; the bound only guards the reasoning.
    for _ in 0..keep.len() + 2 {
        let ranges: Vec<Range<usize>> = keep.iter().map(|(_, r)| r.clone()).collect();
        let e = match parse(&Masked::section(text, section, &ranges)) {
            Ok(value) => return set_aside.is_empty().then_some(value),
            Err(e) => e,
        };
        let hit = e
            .span
            .as_ref()
            .and_then(|s| keep.iter().position(|(_, r)| r.contains(&s.start)));
        let at_key = hit.is_some_and(|i| e.span.as_ref().map(|s| s.start) == Some(keep[i].1.start));
        if let Some((_, expected)) = document::unknown_field(&e.message)
            && at_key
            && !unknown_done
        {
            let known = |k: &str| other.contains(&k) || expected.iter().any(|x| x == k);
            let unknown: Vec<(usize, &str)> = keep
                .iter()
                .filter(|(k, _)| !known(k))
                .map(|(k, r)| (r.start, k.as_str()))
                .collect();
            let mut offered: Vec<&str> = expected.iter().map(String::as_str).collect();
            offered.extend(other);
            report_unknown_keys(unknown, &offered, section, errors);
            keep.retain(|(k, _)| known(k));
            unknown_done = true;
            continue;
        }
        let missing = e
            .message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next());
        if missing.is_some_and(|m| set_aside.iter().any(|s| s == m)) {
            return None; // missing because its bad value was left out: already reported
        }
        errors.push_positioned(section, e, other);
        set_aside.push(keep.remove(hit?).0);
    }
    None
}

/// Reports unknown keys (serde stops at the first) in file order: the first
/// [`UNKNOWN_KEYS_LISTED`] one by one, then how many more there are. A file with 100,000 of
/// them gets 21 errors, not 100,000 lines nobody reads.
pub(super) fn report_unknown_keys(
    mut unknown: Vec<(usize, &str)>,
    known: &[&str],
    section: &Section,
    errors: &mut Errors<'_>,
) {
    unknown.sort_unstable();
    let table = if section.is_array {
        format!("[[{}]]", section.name)
    } else {
        format!("[{}]", section.name)
    };
    for &(offset, name) in unknown.iter().take(UNKNOWN_KEYS_LISTED) {
        let help = match closest(name, known.iter().copied()) {
            Some(near) => format!("did you mean `{near}`?"),
            None => format!("known keys here: {}", known.join(", ")),
        };
        errors.push(
            offset,
            Some(offset..offset + name.len()),
            format!("unknown key `{name}` in {table}"),
            Some(help),
        );
    }
    if let Some(&(offset, _)) = unknown.get(UNKNOWN_KEYS_LISTED) {
        let more = unknown.len() - UNKNOWN_KEYS_LISTED;
        errors.push(
            offset,
            None,
            format!(
                "{more} more unknown key{} in this {table} (only the first {UNKNOWN_KEYS_LISTED} are listed)",
                if more == 1 { "" } else { "s" }
            ),
            Some(format!("known keys here: {}", known.join(", "))),
        );
    }
}
