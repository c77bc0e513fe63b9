//! Markdown to safe HTML: pulldown-cmark, then ammonia on the HTML it produced.
//!
//! Incident files arrive by pull request, so their text is untrusted: raw HTML passes through
//! Markdown, so the sanitiser runs after it and keeps only formatting, links to http(s)/mailto,
//! and nothing that executes (no script, no event handlers, no `javascript:`/`data:` URLs, no
//! iframes).

use std::collections::HashSet;
use std::sync::OnceLock;

use pulldown_cmark::{Options, Parser, html};

fn cleaner() -> &'static ammonia::Builder<'static> {
    static CLEANER: OnceLock<ammonia::Builder<'static>> = OnceLock::new();
    CLEANER.get_or_init(|| {
        let mut b = ammonia::Builder::default();
        b.url_schemes(HashSet::from(["http", "https", "mailto"]))
            .link_rel(Some("noopener noreferrer nofollow"))
            .rm_tags(["img"]);
        b
    })
}

/// Renders untrusted Markdown to sanitised HTML.
pub fn to_safe_html(markdown: &str) -> String {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    let mut raw = String::with_capacity(markdown.len() * 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options));
    cleaner().clean(&raw).to_string()
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
            "<a href=\"data:text/html,<script>alert(1)</script>\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "<div onclick=\"alert(1)\">x</div>",
        ] {
            let out = to_safe_html(payload).to_lowercase();
            for bad in [
                "<script",
                "onerror",
                "javascript:",
                "data:",
                "<iframe",
                "onclick",
            ] {
                assert!(!out.contains(bad), "{payload} => {out}");
            }
        }
        assert!(to_safe_html("**bold** [a](https://x.example)").contains("<strong>bold</strong>"));
    }
}
