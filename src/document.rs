//! Reads `upstate.toml` one section at a time so that every error carries its own line.
//!
//! `serde` cannot combine `deny_unknown_fields` with `flatten` or internally tagged enums without
//! losing spans (errors end up on line 1). Instead, each section is deserialized from a *masked*
//! copy of the file: everything outside the section is blanked with spaces (newlines kept), so the
//! byte offsets `toml` reports are offsets in the real file. A `[[component]]` is masked twice,
//! once with its common keys and once with its kind's keys, so both structs can deny unknown keys.

use std::ops::Range;

use serde::de::DeserializeOwned;

/// One `[name]` or `[[name]]` section of the file.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// `site`, `component`, ...
    pub name: String,
    /// `[[name]]` rather than `[name]`.
    pub is_array: bool,
    /// Byte offset of the header line.
    pub header: usize,
    /// Bytes after the header line up to the next top-level section.
    pub body: Range<usize>,
}

/// Splits the file at its table headers; `[component.headers]` stays with its `[[component]]`.
pub(crate) fn sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let Some((name, is_array)) = header_name(line) else {
            continue;
        };
        if let Some(last) = out.last_mut() {
            let parent = name.split('.').next().unwrap_or_default();
            if name.contains('.') && parent == last.name {
                continue; // a sub-table of the current section
            }
            last.body.end = start;
        }
        out.push(Section {
            name,
            is_array,
            header: start,
            body: offset..text.len(),
        });
    }
    out
}

pub(crate) fn header_name(line: &str) -> Option<(String, bool)> {
    let line = line.trim();
    let line = line.split_once('#').map_or(line, |(l, _)| l).trim_end();
    let (inner, is_array) = if let Some(inner) = line.strip_prefix("[[") {
        (inner.strip_suffix("]]")?, true)
    } else {
        (line.strip_prefix('[')?.strip_suffix(']')?, false)
    };
    let name = inner.trim();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    ok.then(|| (name.to_owned(), is_array))
}

/// One section of the file, cut out with everything outside `keep` blanked (newlines kept), and
/// where it starts, so spans `toml` reports can be moved back to file offsets. Cutting the window
/// (rather than masking the whole file) keeps a 10,000-component config linear to read.
pub(crate) struct Masked {
    pub text: String,
    pub offset: usize,
}

impl Masked {
    /// The bytes of `window`, with bytes outside every `keep` range blanked.
    ///
    /// Linear in the window plus the kept bytes: the window is blanked once and each range
    /// copied back. (Asking every range about every byte made a `[[component]]` with 100,000
    /// unknown keys take 53 s; issue 15.)
    pub fn new(text: &str, window: &Range<usize>, keep: &[Range<usize>]) -> Self {
        let window = window.start.min(text.len())..window.end.min(text.len());
        let source = text.as_bytes().get(window.clone()).unwrap_or_default();
        let mut bytes: Vec<u8> = source
            .iter()
            .map(|&b| if b == b'\n' { b } else { b' ' })
            .collect();
        for range in keep {
            let start = range.start.max(window.start) - window.start;
            let end = range.end.min(window.end).saturating_sub(window.start);
            if let (Some(to), Some(from)) = (bytes.get_mut(start..end), source.get(start..end)) {
                to.copy_from_slice(from);
            }
        }
        // Whole multi-byte characters are either kept or blanked byte by byte, so this stays
        // UTF-8; the lossy conversion only guards against a range cutting a character in half.
        let text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        Self {
            text,
            offset: window.start,
        }
    }

    /// The body of `section` with only `keep` left, read as a table of its own: a sub-table
    /// header in it (`[component.headers]`) is made relative to the section (`[headers]`, the
    /// `component.` blanked, which TOML reads as whitespace around the key), so positions stay
    /// the file's and the sub-table is one more key of the section.
    pub fn section(text: &str, section: &Section, keep: &[Range<usize>]) -> Self {
        let mut masked = Self::new(text, &section.body, keep);
        let prefix = format!("{}.", section.name);
        let mut bytes = std::mem::take(&mut masked.text).into_bytes();
        let mut start = 0;
        for line in text
            .get(section.body.clone())
            .unwrap_or_default()
            .split_inclusive('\n')
        {
            if header_name(line).is_some_and(|(name, _)| name.starts_with(&prefix))
                && let Some(at) = line.find(&prefix)
                // Only a header still kept: a masked one is blank already.
                && bytes.get(start + at) == Some(&prefix.as_bytes()[0])
            {
                bytes[start + at..start + at + prefix.len()].fill(b' ');
            }
            start += line.len();
        }
        // Only ASCII bytes were replaced with ASCII, so this is the UTF-8 it was.
        masked.text = String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        masked
    }

    /// Deserializes the window, turning a `toml` error into a message at a file offset.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Positioned> {
        toml::from_str(&self.text).map_err(|e| Positioned {
            // A span over the whole window (a missing field) says nothing: leave it to the caller.
            span: e
                .span()
                .filter(|s| {
                    let whole_window = s.start == 0 && s.end >= self.text.len();
                    !whole_window && !e.message().starts_with("missing field")
                })
                .map(|s| s.start + self.offset..s.end + self.offset),
            message: e.message().to_owned(),
        })
    }
}

/// An error message with the byte span it is about, if known.
#[derive(Debug, Clone)]
pub(crate) struct Positioned {
    pub span: Option<Range<usize>>,
    pub message: String,
}

/// Line starts of a text, so positions are found by binary search (a 10,000-component file
/// asks for thousands of them).
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// 1-based line and column (in bytes) of `offset`.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        (line, offset.saturating_sub(start) + 1)
    }
}

/// The key names a serde "unknown field" message offers, and the unknown one.
pub(crate) fn unknown_field(message: &str) -> Option<(String, Vec<String>)> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let expected = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect();
    Some((field.to_owned(), expected))
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.len() / 3).max(2);
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Parses a kind's own keys; called by `probe::ProbeSpec::parse` for each kind's config struct.
pub(crate) fn parse_kind<T: serde::de::DeserializeOwned>(masked: &Masked) -> Result<T, KindError> {
    masked.parse().map_err(KindError)
}

/// A kind's config could not be read; carries the position for the caller.
#[derive(Debug)]
pub struct KindError(Positioned);

impl KindError {
    /// A kind `probe::ProbeSpec::KINDS` does not list.
    pub(crate) fn unknown_kind(kind: &str) -> Self {
        Self(Positioned {
            span: None,
            message: format!("unknown component kind `{kind}`"),
        })
    }
}

impl From<KindError> for Positioned {
    fn from(e: KindError) -> Self {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sections_and_keeps_sub_tables() {
        let text = "[site]\ntitle = \"x\"\n[[component]]\nid = \"a\"\n[component.headers]\nA = \"b\"\n[[component]] # two\nid = \"b\"\n";
        let s = sections(text);
        let names: Vec<_> = s.iter().map(|s| (s.name.as_str(), s.is_array)).collect();
        assert_eq!(
            names,
            [("site", false), ("component", true), ("component", true)]
        );
        assert!(text[s[1].body.clone()].contains("A = \"b\""));
    }

    #[test]
    fn sub_tables_read_as_keys_of_their_section() {
        let text = "[[component]]\nid = \"a\"\n[component.headers]\nA = \"b\"\n";
        let section = &sections(text)[0];
        let masked = Masked::section(text, section, std::slice::from_ref(&section.body));
        let value: toml::Table = masked.parse().unwrap();
        assert_eq!(value["headers"]["A"].as_str(), Some("b"));
        assert_eq!(masked.text.len(), section.body.len());
    }

    #[test]
    fn masking_keeps_offsets() {
        let text = "a = 1\nb = \"é\"\nc = 3\n";
        let b = text.find('b').unwrap();
        let masked = Masked::new(text, &(b..text.len()), std::slice::from_ref(&(b..b + 9)));
        assert_eq!(masked.text.len(), text.len() - b);
        assert_eq!(masked.text.lines().next(), Some("b = \"é\""));
        assert_eq!(LineIndex::new(text).line_col(b), (2, 1));
        let err = Masked::new(
            text,
            &(b..text.len()),
            std::slice::from_ref(&(b..text.len())),
        )
        .parse::<std::collections::BTreeMap<String, u8>>();
        assert_eq!(
            err.unwrap_err()
                .span
                .map(|s| LineIndex::new(text).line_col(s.start).0),
            Some(2)
        );
    }

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(closest("timout", ["timeout", "url"]), Some("timeout"));
        assert_eq!(closest("zzzzzz", ["timeout", "url"]), None);
        let (f, e) =
            unknown_field("unknown field `timout`, expected one of `id`, `timeout`").unwrap();
        assert_eq!(
            (f.as_str(), e),
            ("timout", vec!["id".to_owned(), "timeout".to_owned()])
        );
    }
}
