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

/// Each top-level key of `keys` and its bytes in the file, from the key to the end of its value.
/// A sub-table written as headers (`[component.headers]`, `[[objective.burn_alerts]]`, as many
/// blocks as the file has) gets one range per block, from its header to the next header; one
/// written as dotted keys (`headers.A = "b"`) one range per line. Masking then keeps or leaves out
/// all of a key's bytes together.
pub(super) fn key_ranges(keys: &KeyMap, masked: &Masked) -> Vec<(String, Range<usize>)> {
    let blocks = header_blocks(&masked.text);
    let top_end = blocks.first().map_or(masked.text.len(), |(_, r)| r.start);
    let shift = |r: Range<usize>| r.start + masked.offset..r.end + masked.offset;
    let mut out = Vec::new();
    for (k, v) in keys {
        let name = k.get_ref();
        let key = k.span();
        let dotted = masked
            .text
            .get(key.end..)
            .is_some_and(|rest| rest.trim_start_matches([' ', '\t']).starts_with('.'));
        if key.start >= top_end {
            for (_, block) in blocks.iter().filter(|(first, _)| first == name) {
                out.push((name.clone(), shift(block.clone())));
            }
        } else if dotted {
            for line in dotted_lines(&masked.text[..top_end], name) {
                out.push((name.clone(), shift(line)));
            }
        } else {
            out.push((name.clone(), shift(key.start..v.span().end)));
        }
    }
    out
}

/// Where the key of a range starts: the range's start, or for a sub-table block the key after
/// `[section.` (errors and "unknown key" point at the key, not at the bracket).
pub(super) fn key_start(text: &str, range: &Range<usize>) -> usize {
    let Some(line) = text.get(range.clone()).and_then(|t| t.lines().next()) else {
        return range.start;
    };
    if !line.trim_start().starts_with('[') {
        return range.start;
    }
    match line.find('.') {
        Some(dot) => {
            let after = &line[dot + 1..];
            range.start + dot + 1 + (after.len() - after.trim_start().len())
        }
        None => range.start,
    }
}

/// The sub-table header blocks of a window: the first key of each header (`headers` for
/// `[headers]` or `[headers.x]`, after [`Masked::section`] made it relative) and its bytes, from
/// the header line to the next header.
fn header_blocks(text: &str) -> Vec<(String, Range<usize>)> {
    let mut out: Vec<(String, Range<usize>)> = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        if let Some((name, _)) = document::header_name(line) {
            if let Some(last) = out.last_mut() {
                last.1.end = start;
            }
            let first = name.split('.').next().unwrap_or_default().trim().to_owned();
            out.push((first, start..text.len()));
        }
        start += line.len();
    }
    out
}

/// The lines of `text` that set a dotted key under `name` (`name.x = …`).
fn dotted_lines(text: &str, name: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let rest = line.trim_start();
        let after = rest
            .strip_prefix(name)
            .map(|r| r.trim_start_matches([' ', '\t']));
        if after.is_some_and(|a| a.starts_with('.')) {
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
        let at_key = hit
            .is_some_and(|i| e.span.as_ref().map(|s| s.start) == Some(key_start(text, &keep[i].1)));
        if let Some((_, expected)) = document::unknown_field(&e.message)
            && at_key
            && !unknown_done
        {
            let known = |k: &str| other.contains(&k) || expected.iter().any(|x| x == k);
            // A sub-table written as several blocks is one key: reported once.
            let mut named = std::collections::HashSet::new();
            let unknown: Vec<(usize, &str)> = keep
                .iter()
                .filter(|(k, _)| !known(k) && named.insert(k.as_str()))
                .map(|(k, r)| (key_start(text, r), k.as_str()))
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
