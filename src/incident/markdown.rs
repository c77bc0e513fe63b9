//! Markdown to safe HTML: pulldown-cmark, then ammonia on the HTML it produced.
//!
//! Incident files arrive by pull request, so their text is untrusted: raw HTML passes through
//! Markdown, so the sanitiser runs after it and keeps only formatting, links to http(s)/mailto,
//! and nothing that executes (no script, no event handlers, no `javascript:`/`data:` URLs, no
//! iframes).
//!
//! Most postmortems hold no raw HTML at all: paragraphs, headings, lists, emphasis, code and
//! links. For those, [`fast`] writes the sanitiser's output directly from pulldown-cmark's
//! events, without building and walking an HTML tree: ammonia was a tenth of a cold build of
//! 10,000 incidents. It is deliberately ours only because it is narrower: it writes no tag the
//! events did not name, escapes every text itself, judges each link by ammonia's own rule, and
//! hands anything else (raw HTML, images, tables, a carriage return) to the sanitiser. A test
//! holds it to byte-for-byte the sanitiser's output over thousands of generated documents.

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// What a link may point at (besides a relative address).
const SCHEMES: [&str; 3] = ["http", "https", "mailto"];
/// Every link's `rel`: no referrer, no access to this page, no ranking passed on.
const LINK_REL: &str = "noopener noreferrer nofollow";

fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.url_schemes(HashSet::from(SCHEMES))
            .link_rel(Some(LINK_REL))
            .rm_tags(["img"]);
        b
    })
}

fn options() -> Options {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options
}

/// Renders untrusted Markdown to sanitised HTML.
pub fn to_safe_html(markdown: &str) -> String {
    let events: Vec<Event<'_>> = Parser::new_ext(markdown, options()).collect();
    fast(markdown, &events).unwrap_or_else(|| sanitised(events))
}

/// pulldown-cmark's HTML, then the sanitiser.
fn sanitised(events: Vec<Event<'_>>) -> String {
    let mut raw = String::new();
    html::push_html(&mut raw, events.into_iter());
    cleaner().clean(&raw).to_string()
}

/// The sanitiser's output written straight from the events, or `None` when they hold anything
/// but paragraphs, headings, block quotes, lists, code, emphasis, strikethrough, breaks, rules
/// and links. pulldown-cmark still places every tag and line break; every text, code span and
/// link becomes markup written here, escaped as the sanitiser's serialiser escapes it.
fn fast(markdown: &str, events: &[Event<'_>]) -> Option<String> {
    // The HTML parser turns these into other characters; the sanitiser's path handles them.
    if markdown.contains(['\r', '\0']) {
        return None;
    }
    let mut safe: Vec<Event<'_>> = Vec::with_capacity(events.len());
    let mut rules = 0;
    let mut in_link = false;
    for event in events {
        let event = match event {
            Event::Text(text) => Event::InlineHtml(text_html(text).into()),
            Event::Code(code) => {
                Event::InlineHtml(format!("<code>{}</code>", text_html(code)).into())
            }
            Event::HardBreak => Event::InlineHtml(CowStr::Borrowed("<br>\n")),
            Event::SoftBreak => Event::SoftBreak,
            Event::Rule => {
                rules += 1;
                Event::Rule
            }
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            }) => {
                if std::mem::replace(&mut in_link, true) {
                    return None;
                }
                Event::InlineHtml(link_open(*link_type, dest_url, title).into())
            }
            Event::End(TagEnd::Link) => {
                in_link = false;
                Event::InlineHtml(CowStr::Borrowed("</a>"))
            }
            // The sanitiser drops the language class.
            Event::Start(Tag::CodeBlock(_)) => {
                Event::Start(Tag::CodeBlock(CodeBlockKind::Indented))
            }
            Event::Start(
                Tag::Paragraph
                | Tag::Heading { .. }
                | Tag::BlockQuote(None)
                | Tag::List(_)
                | Tag::Item
                | Tag::Emphasis
                | Tag::Strong
                | Tag::Strikethrough,
            )
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::BlockQuote(None)
                | TagEnd::CodeBlock
                | TagEnd::List(_)
                | TagEnd::Item
                | TagEnd::Emphasis
                | TagEnd::Strong
                | TagEnd::Strikethrough,
            ) => event.clone(),
            _ => return None,
        };
        safe.push(event);
    }
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 2);
    html::push_html(&mut out, safe.into_iter());
    // pulldown-cmark writes a rule as `<hr />`, the serialiser as `<hr>`. Every `<hr />` is
    // one of the rules, as texts, titles and addresses are escaped; checked all the same, as
    // the replacement below would otherwise reach into them.
    if out.matches("<hr />").count() != rules {
        return None;
    }
    Some(out.replace("<hr />", "<hr>"))
}

/// `<a …>` as the sanitiser leaves it: the address pulldown-cmark would write (percent-encoded),
/// kept only if ammonia would keep it (a relative address, or one of [`SCHEMES`]), the title,
/// then `rel`.
fn link_open(link_type: LinkType, dest: &str, title: &str) -> String {
    let mut written = String::new();
    if link_type == LinkType::Email {
        written.push_str("mailto:");
    }
    // Writing to a String cannot fail.
    let _ = pulldown_cmark_escape::escape_href(&mut written, dest);
    let href = unescape_href(&written);
    let kept = match url::Url::parse(&href) {
        Ok(url) => SCHEMES.contains(&url.scheme()),
        Err(url::ParseError::RelativeUrlWithoutBase) => true,
        Err(_) => false,
    };
    let mut tag = String::from("<a");
    if kept {
        tag.push_str(" href=\"");
        tag.push_str(&attribute_html(&href));
        tag.push('"');
    }
    if !title.is_empty() {
        tag.push_str(" title=\"");
        tag.push_str(&attribute_html(title));
        tag.push('"');
    }
    tag.push_str(" rel=\"");
    tag.push_str(LINK_REL);
    tag.push_str("\">");
    tag
}

/// The attribute value an HTML parser reads from `escape_href`'s output, whose only character
/// references are `&amp;` and `&#x27;` (every `&` it writes starts one of them).
fn unescape_href(written: &str) -> String {
    let mut out = String::with_capacity(written.len());
    let mut rest = written;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("&amp;") {
            out.push('&');
            rest = after;
        } else if let Some(after) = tail.strip_prefix("&#x27;") {
            out.push('\'');
            rest = after;
        } else {
            out.push('&');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// Text as the HTML serialiser writes it: `&`, `<`, `>` and the no-break space escaped.
fn text_html(text: &str) -> String {
    escape(text, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        _ => None,
    })
}

/// An attribute value as the HTML serialiser writes it: `&`, `"`, `<`, `>` and the no-break
/// space escaped (html5ever escapes `<` and `>` in attributes too, so that text searches such
/// as `render::filters::postmortem` never meet a tag inside a value).
fn attribute_html(value: &str) -> String {
    escape(value, |b| match b {
        b'&' => Some("&amp;"),
        b'"' => Some("&quot;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        _ => None,
    })
}

/// `text` with the ASCII characters `entity` names, and every no-break space, replaced by
/// their entities; the rest copied a run at a time.
fn escape(text: &str, entity: impl Fn(u8) -> Option<&'static str>) -> String {
    const NO_BREAK_SPACE: &str = "\u{a0}";
    let mut out = String::with_capacity(text.len() + 8);
    let bytes = text.as_bytes();
    let mut copied = 0;
    for (at, &b) in bytes.iter().enumerate() {
        let (replacement, len) = match entity(b) {
            Some(e) => (e, 1),
            // The no-break space is the two bytes C2 A0; a C2 always starts a character.
            None if b == 0xc2 && text[at..].starts_with(NO_BREAK_SPACE) => ("&nbsp;", 2),
            None => continue,
        };
        out.push_str(&text[copied..at]);
        out.push_str(replacement);
        copied = at + len;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_everything_executable() {
        for payload in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x](javascript&colon;alert(1))",
            "[x](java&#x09;script:alert(1))",
            "[x](<javascript:alert(1)>)",
            "<javascript:alert(1)>",
            "[x](vbscript:msgbox(1))",
            "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
            "[x]: javascript:alert(1)\n\n[x]",
            "[x](https://ok.example \"a\\\" onmouseover=\\\"alert(1)\")",
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<div onclick=\"alert(1)\">x</div>",
            "![x](https://evil.example/x.png\" onerror=\"alert(1))",
        ] {
            let out = to_safe_html(payload);
            assert_only_inert_markup(&out, payload);
            assert!(!out.contains("<img"), "{payload} => {out}");
        }
        assert!(to_safe_html("**bold** [a](https://x.example)").contains("<strong>bold</strong>"));
    }

    /// Every tag in `html` is a formatting tag with only `href` (not to a script), `title`,
    /// `rel` or `start`, each value in double quotes. A tag ends at the first `>`: a `>` inside
    /// a value (which the serialiser escapes) fails this.
    fn assert_only_inert_markup(html: &str, input: &str) {
        const TAGS: &[&str] = &[
            "p",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "em",
            "strong",
            "del",
            "code",
            "pre",
            "ul",
            "ol",
            "li",
            "blockquote",
            "a",
            "br",
            "hr",
            "table",
            "thead",
            "tbody",
            "tr",
            "th",
            "td",
            "b",
            "i",
            "div",
        ];
        let mut rest = html;
        while let Some(at) = rest.find('<') {
            let tag = &rest[at + 1..];
            let end = tag.find('>').unwrap_or_else(|| panic!("{input} => {html}"));
            let inside = tag[..end].trim_start_matches('/');
            let (name, mut attrs) = inside.split_once(' ').unwrap_or((inside, ""));
            assert!(TAGS.contains(&name), "tag {name} in {input} => {html}");
            while !attrs.trim().is_empty() {
                let (key, value) = attrs
                    .trim_start()
                    .split_once("=\"")
                    .unwrap_or_else(|| panic!("{input} => {html}"));
                let (value, after) = value
                    .split_once('"')
                    .unwrap_or_else(|| panic!("{input} => {html}"));
                assert!(
                    ["href", "title", "rel", "start"].contains(&key),
                    "{key} in {input} => {html}"
                );
                let scheme = value.trim().to_ascii_lowercase();
                assert!(
                    key != "href"
                        || !["javascript:", "vbscript:", "data:"]
                            .iter()
                            .any(|s| scheme.starts_with(s)),
                    "{input} => {html}"
                );
                attrs = after;
            }
            rest = &tag[end + 1..];
        }
    }

    /// Pieces that documents are built from below: every construct the fast path writes, the
    /// ones it hands on, and texts that need escaping.
    const PIECES: &[&str] = &[
        "Plain words",
        "a & b < c > d \" e ' f",
        "no\u{a0}break",
        "**strong**",
        "*em*",
        "_under_",
        "~~gone~~",
        "`code & <b>`",
        "``co`de``",
        "[link](https://status.example/a?b=1&c='2')",
        "[rel](../incidents/x.html)",
        "[t](https://x.example \"a \\\"title\\\" & <hr />\")",
        "[t](https://x.example \"<h2 a='b'> & \\\"q\\\" > \u{a0}\")",
        "[t](https://x.example '<p>\\'s</p>')",
        "[bad](javascript:alert(1))",
        "[odd](http://[::1)",
        "[sp](<a b>)",
        "[uni](https://exämple.test/ü)",
        "[mail](mailto:ops@example.com)",
        "<https://auto.example/x>",
        "<ops@example.com>",
        "<javascript:alert(1)>",
        "[ref]\n\n[ref]: https://ref.example \"Ref\"",
        "&amp; &lt; &copy; &#169; &#x27;",
        "line  \nbreak",
        "line\\\nbreak",
        "\n---\n",
        "\n***\n",
        "# Heading",
        "### Heading *em*",
        "Setext\n===",
        "> quoted\n> more",
        "- one\n- two",
        "1. one\n2. two",
        "3. three\n4. four",
        "- loose\n\n- list",
        "- nested\n  - inner\n  - more",
        "```\ncode <x>\n```",
        "```rust\nfn main() {}\n```",
        "    indented code",
        "<b>raw</b>",
        "<!-- comment -->",
        "![img](https://x.example/i.png)",
        "| a | b |\n|:--|--:|\n| 1 | 2 |",
        "\\*escaped\\*",
        "emoji 🙂 and 中文",
        "   ",
        "tab\there",
    ];

    /// A small deterministic generator: the same documents on every run.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }
    }

    #[test]
    fn the_fast_path_writes_what_the_sanitiser_writes() {
        let separators = ["\n\n", "\n", " ", "", "\n- ", "\n1. ", "\n> ", "\n\n    "];
        let mut rng = Lcg(7);
        let mut docs: Vec<String> = PIECES.iter().map(|p| (*p).to_owned()).collect();
        for _ in 0..4000 {
            let mut doc = String::new();
            for _ in 0..=rng.next(8) {
                doc.push_str(separators[rng.next(separators.len())]);
                doc.push_str(PIECES[rng.next(PIECES.len())]);
            }
            docs.push(doc);
        }
        let mut fast_taken = 0;
        for doc in &docs {
            let events: Vec<Event<'_>> = Parser::new_ext(doc, options()).collect();
            if let Some(out) = fast(doc, &events) {
                fast_taken += 1;
                assert_only_inert_markup(&out, doc);
                assert_eq!(out, sanitised(events), "for {doc:?}");
            }
        }
        // Most documents must take the fast path, or this test checks nothing.
        assert!(
            fast_taken * 2 > docs.len(),
            "{fast_taken} of {}",
            docs.len()
        );
    }

    #[test]
    fn raw_html_images_and_tables_go_to_the_sanitiser() {
        for doc in [
            "<b>x</b>",
            "a <i>b</i>",
            "![i](https://x.example/i.png)",
            "|a|\n|-|\n|1|",
            "a\r\nb",
        ] {
            let events: Vec<Event<'_>> = Parser::new_ext(doc, options()).collect();
            assert!(fast(doc, &events).is_none(), "{doc:?}");
        }
    }
}
