//! Text encoded for the place it goes: one function per destination, used by every renderer and
//! notifier, so a new output calls these instead of escaping by hand.
//!
//! Every text an output carries is untrusted (titles, update messages and file names come by
//! pull request; component details come from the servers being probed). The rule is the one
//! browsers need: decide what the *reader* of a format does with a value, and encode for that.
//!
//! | place | function | why |
//! |---|---|---|
//! | HTML text / attribute | [`html_escape`] | `& < > " '` |
//! | XML text / attribute (feeds, sitemap) | [`xml_escape`] | XML's five, and no characters XML forbids |
//! | JSON read by clients that may show it as HTML (Statuspage API, `status.json`, webhooks) | [`plain_text`], [`plain_json`] | plain text: no `<` that starts a tag |
//! | Slack (and Mattermost, Rocket.Chat) message text | [`slack_escape`], [`slack_link`] | Slack's `& < >`, so `<!channel>` is text |
//! | iCal TEXT values | [`ical_text`] | RFC 5545 §3.3.11, no line breaks |
//! | URLs (iCal `URL:`, feeds, links) | [`uri`] | nothing outside RFC 3986's characters |
//! | HTTP header values | [`header_value`] | visible ASCII only, never CR/LF |
//! | file names, URL paths, ids | [`slugify`] | `[a-z0-9-]` only |
//!
//! Also [`iso`], the one text form of a time, and [`causes`], an error's causes, for the
//! messages that print them.

/// A slug of `text` from the alphabet `[a-z0-9-]`: transliterated to ASCII first (`Zürich` is
/// `zurich`, not `z-rich`), every other run of characters one `-`, none at either end. May be
/// empty (the caller picks a fallback).
pub fn slugify(text: &str) -> String {
    let ascii = deunicode::deunicode(text);
    let mut out = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// [`slugify`] cut to at most `max` characters (no `-` left at the end), or `fallback` when
/// nothing is left: file names and page addresses need both bounds.
pub fn slug_at_most(text: &str, max: usize, fallback: &str) -> String {
    let mut slug = slugify(text);
    // ASCII only, so bytes are characters.
    slug.truncate(max);
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        fallback.to_owned()
    } else {
        slug.to_owned()
    }
}

/// A YAML double-quoted scalar. JSON's string syntax is valid YAML, so any title is; characters
/// YAML does not allow raw (DEL, C1 controls, line/paragraph separators, BOM) are escaped too.
pub fn yaml_string(text: &str) -> String {
    // A `str` always serialises; `Value`'s Display is that JSON string, no fallback needed.
    let json = serde_json::Value::from(text).to_string();
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
        ) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes for HTML text and quoted attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_html_escaped(&mut out, text);
    out
}

/// [`html_escape`] onto the end of `out`, for a page assembled piece by piece.
pub fn push_html_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

/// Escapes for XML text and attribute values, dropping characters XML 1.0 does not allow at
/// all (control characters other than tab, LF and CR; U+FFFE, U+FFFF): one of them makes a
/// whole feed unreadable.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The text of sanitised HTML (the output of `incident::markdown::to_safe_html`): tags
/// removed, entities decoded. The result is raw text: encode it for where it goes
/// ([`plain_text`] for JSON, [`slack_escape`], [`ical_text`]…), never paste it into HTML.
pub fn html_to_text(html: &str) -> String {
    let mut text = String::with_capacity(html.len());
    let mut chars = html.chars();
    while let Some(c) = chars.next() {
        if c != '<' {
            text.push(c);
            continue;
        }
        // Inside a tag: skip to its `>`, which may not be inside a quoted attribute value
        // (html5ever escapes it there, but a quoted `>` is valid HTML all the same).
        let mut quote = None;
        for t in chars.by_ref() {
            match (quote, t) {
                (None, '"' | '\'') => quote = Some(t),
                (Some(q), t) if t == q => quote = None,
                (None, '>') => break,
                _ => {}
            }
        }
    }
    decode_entities(&text).trim().to_owned()
}

/// Decodes the character references an HTML serialiser writes: the named ones it uses and
/// numeric ones. Anything else is left as it is.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let decoded = rest.find(';').filter(|end| *end <= 10).and_then(|end| {
            let name = &rest[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .map(|hex| u32::from_str_radix(hex, 16))
                    .or_else(|| name.strip_prefix('#').map(str::parse::<u32>))
                    .and_then(Result::ok)
                    .and_then(char::from_u32),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What replaces a `<` that would open a tag in [`plain_text`]: U+2039 SINGLE LEFT-POINTING
/// ANGLE QUOTATION MARK, which reads like `<` and is never markup.
pub const NEUTRAL_LT: char = '\u{2039}';

/// Plain text for JSON that clients may insert into a page as HTML (Statuspage clients and
/// status aggregators do `innerHTML = body`; webhook receivers forward `message` to chat and
/// e-mail). Entities stay decoded (`&` is `&`, a client that shows text shows the words), but a
/// `<` that would start a tag, comment or declaration (followed by a letter, `/`, `!` or `?`)
/// becomes [`NEUTRAL_LT`], so no client can turn the text into an element. `<` before a space
/// or digit (`p99 < 200 ms`, `<5%`) is kept: HTML never reads it as markup. Control
/// characters other than LF and tab are dropped.
pub fn plain_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Controls go first, so a dropped one cannot join `<` to a letter after the check.
    let mut chars = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .peekable();
    while let Some(c) = chars.next() {
        let opens_tag = c == '<'
            && chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '!' | '?'));
        out.push(if opens_tag { NEUTRAL_LT } else { c });
    }
    out
}

/// [`plain_text`] applied to every string inside a JSON document (keys are ours and left).
pub fn plain_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s)
            if s.contains('<') || s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') =>
        {
            *s = plain_text(s);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(plain_json),
        serde_json::Value::Object(map) => map.values_mut().for_each(plain_json),
        _ => {}
    }
}

/// Slack's message escaping: `&`, `<` and `>` as entities, so `<!channel>`, `<@U123>` and
/// `<https://evil|click>` in a title are shown, not acted on
/// (<https://api.slack.com/reference/surfaces/formatting#escaping>).
pub fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if c.is_control() && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// A Slack link `<url|label>`: the URL made a valid URI with `|` encoded (it ends the URL
/// part), both parts escaped.
pub fn slack_link(url: &str, label: &str) -> String {
    let url = uri(url).replace('|', "%7C");
    format!(
        "<{}|{}>",
        slack_escape(&url),
        slack_escape(label).replace('|', "\u{ff5c}")
    )
}

/// An iCal TEXT value (RFC 5545 §3.3.11): `\`, `;` and `,` escaped, every line break (CR, LF,
/// CRLF, and the Unicode separators some parsers split on) as `\n`, other control characters
/// dropped. The result never breaks the content line, so no property can be injected.
pub fn ical_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() != Some(&'\n') {
                    out.push_str("\\n");
                }
            }
            '\n'
            | '\u{0b}'
            | '\u{0c}'
            | '\u{1c}'..='\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}' => out.push_str("\\n"),
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes every byte that may not appear in a URI (RFC 3986: controls, space,
/// `" < > \ ^ ` { | }`, non-ASCII). Characters a URI may hold, `%` included, are kept, so an
/// already valid URL is unchanged; one with a CR/LF or a quote can no longer break the line,
/// attribute or header it is written into.
pub fn uri(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An HTTP header value: visible ASCII and spaces kept; `%`, CR, LF, other controls and
/// non-ASCII percent-encoded, so a value can never end the header or make the request invalid.
pub fn header_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..0x7f).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` sequences decoded, as in a URL's user name and password (`p%40ss` is `p@ss`); a `%`
/// that starts no escape stays as it is, and bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// `text` safe to print on a terminal or in a CI log: control characters (an escape sequence
/// in a file name could erase the line before it and fake an "OK") are shown as `\u{1b}`-style
/// escapes; everything else is left as it is.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// `2026-11-02T14:05:00Z`: RFC 3339 in UTC with whole seconds, the one form every output and
/// every written file uses for a time.
pub fn iso(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// An error's causes, outermost first, without the error itself: the one walk of a source
/// chain every message that prints causes uses (`Error::sources` is not stable yet).
pub fn causes<'a>(
    e: &'a dyn std::error::Error,
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(e.source(), |cause| cause.source())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(printable("incidents/a.md"), "incidents/a.md");
        assert_eq!(printable("a\u{1b}[2K\rb\n"), "a\\u{1b}[2K\\u{d}b\\u{a}");
    }

    #[test]
    fn userinfo_is_percent_decoded() {
        assert_eq!(percent_decode("p%40ss%3Aw"), "p@ss:w");
        assert_eq!(percent_decode("100%"), "100%");
    }

    #[test]
    fn slugs_transliterate_and_keep_to_the_alphabet() {
        assert_eq!(slugify("Zürich"), "zurich");
        assert_eq!(
            slugify("2026-12-02 Ünïcödé  outage!"),
            "2026-12-02-unicode-outage"
        );
        assert_eq!(slugify("a\r\nb<!channel>"), "a-b-channel");
        assert_eq!(slugify("--x--"), "x");
        assert_eq!(slugify("!!!"), "");
        assert!(
            slugify("東京 障害")
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn html_to_text_decodes_once_and_skips_quoted_angles() {
        assert_eq!(
            html_to_text("<p>&lt;img src=x onerror=alert(1)&gt; &amp;amp; &#60;&#x3C;</p>\n"),
            "<img src=x onerror=alert(1)> &amp; <<"
        );
        assert_eq!(
            html_to_text("<a href=\"https://x.test/?a>b\">link</a> &bogus; & done"),
            "link &bogus; & done"
        );
    }

    #[test]
    fn plain_text_leaves_no_tag_opener() {
        let out = plain_text("<img src=x onerror=alert(1)> </b> <!-- <?x p99 < 200 ms <5%\r\u{7}");
        assert_eq!(
            out,
            "\u{2039}img src=x onerror=alert(1)> \u{2039}/b> \u{2039}!-- \u{2039}?x p99 < 200 ms <5%"
        );
        let mut doc = serde_json::json!({"a": ["<script>", {"b": "x<y"}], "n": 1});
        plain_json(&mut doc);
        assert_eq!(doc["a"][0], "\u{2039}script>");
        assert_eq!(doc["a"][1]["b"], "x\u{2039}y");
    }

    #[test]
    fn slack_ical_uri_and_header_encodings() {
        assert_eq!(
            slack_escape("<!channel> & <@U1>"),
            "&lt;!channel&gt; &amp; &lt;@U1&gt;"
        );
        assert_eq!(
            slack_link("https://s.test/a|b>c", "details"),
            "<https://s.test/a%7Cb%3Ec|details>"
        );
        assert_eq!(
            ical_text("a;b,c\\d\r\nUID:x\rDTSTART:y\u{2028}z\u{0}"),
            "a\\;b\\,c\\\\d\\nUID:x\\nDTSTART:y\\nz"
        );
        assert_eq!(
            uri("https://s.test/in cidents/ä\r\n\"<x>.html?q=1%20"),
            "https://s.test/in%20cidents/%C3%A4%0D%0A%22%3Cx%3E.html?q=1%20"
        );
        assert_eq!(
            header_value("incident:a\r\nX: y%ü"),
            "incident:a%0D%0AX: y%25%C3%BC"
        );
        assert_eq!(xml_escape("a\u{1}<&>\"'\n"), "a&lt;&amp;&gt;&quot;&apos;\n");
    }

    /// An error with an optional cause, to build chains of any depth.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|l| l as _)
        }
    }

    #[test]
    fn causes_are_every_source_outermost_first_without_the_error() {
        let root = Layer("root", None);
        let chain = Layer("top", Some(Box::new(Layer("middle", Some(Box::new(root))))));
        let names: Vec<String> = causes(&chain).map(|c| c.to_string()).collect();
        assert_eq!(names, ["middle", "root"]);
        assert_eq!(causes(&Layer("alone", None)).count(), 0);
    }

    #[test]
    fn iso_is_utc_with_whole_seconds_and_a_z() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-02T15:05:09.987+01:00")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(iso(t), "2026-11-02T14:05:09Z");
    }
}
