//! Hostile input, generated: the config parser, the front-matter parser and the Markdown
//! renderer never panic or hang, whatever bytes they get. Bounded here (CI); raise
//! PROPTEST_CASES for a longer run on demand.

use std::path::Path;

use proptest::prelude::*;

/// Text built from the pieces these formats are made of, so the fuzzer reaches deep paths.
fn structured(pieces: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            proptest::sample::select(pieces).prop_map(str::to_owned),
            any::<String>()
        ],
        0..40,
    )
    .prop_map(|v| v.concat())
}

const TOML_PIECES: &[&str] = &[
    "[site]\n",
    "[[component]]\n",
    "[run]\n",
    "[component.headers]\n",
    "id = \"a\"\n",
    "label = \"A\"\n",
    "kind = \"http\"\n",
    "kind = \"tcp\"\n",
    "url = \"http://x\"\n",
    "timeout = \"5s\"\n",
    "timeout = \"5 mins\"\n",
    "address = \"x:1\"\n",
    "${UNSET_FUZZ}",
    "$$",
    "\"",
    "'''",
    "=",
    "\n",
    "é",
    "#",
    "headers = { A = \"b\" }\n",
];

const YAML_PIECES: &[&str] = &[
    "---\n",
    "title: x\n",
    "severity: major\n",
    "status: resolved\n",
    "components: [api]\n",
    "discovered_at: 2026-11-02T14:05:00Z\n",
    "resolved_at: 2026-01-01T00:00:00Z\n",
    "updates:\n",
    "  - at: ",
    "    status: ",
    "kind: maintenance\n",
    "&a [*a, *a]\n",
    "!!binary",
    "\"",
    ": ",
    "- ",
    "\t",
    "\n",
    "private: yes\n",
];

const MD_PIECES: &[&str] = &[
    "<script>",
    "</script>",
    "<img src=x onerror=",
    "[a](javascript:",
    ")",
    "<a href=\"data:",
    "```",
    "**",
    "| a |\n|---|\n",
    "<iframe>",
    "<svg onload=",
    "&#x6a;avascript:",
    "\n\n",
    "<",
    ">",
    "\"",
    "'",
    "[",
    "](",
    "<!--",
    "-->",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn config_parser_never_panics(text in structured(TOML_PIECES)) {
        let _ = upstate::config::Config::parse(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn front_matter_parser_never_panics(text in structured(YAML_PIECES)) {
        let _ = upstate::incident::parse(Path::new("incidents/fuzz.md"), &text, &["api"]);
    }

    #[test]
    fn markdown_renderer_never_emits_executable_content(text in structured(MD_PIECES)) {
        let html = upstate::incident::markdown::to_safe_html(&text).to_ascii_lowercase();
        let doc = scraper::Html::parse_fragment(&html);
        let all = scraper::Selector::parse("*").unwrap();
        for el in doc.select(&all) {
            prop_assert!(!matches!(el.value().name(), "script" | "iframe" | "object" | "embed"), "{html}");
            for (attr, value) in el.value().attrs() {
                prop_assert!(!attr.starts_with("on"), "{html}");
                let v = value.trim();
                prop_assert!(!v.starts_with("javascript:") && !v.starts_with("data:"), "{html}");
            }
        }
    }
}
