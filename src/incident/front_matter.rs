//! Splits a Markdown file into its front matter and body.

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
