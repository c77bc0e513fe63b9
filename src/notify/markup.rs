//! Text placed in a chat service's markup, encoded for that markup: one function per
//! destination, all in this file so they can join the crate's shared text helpers.
//!
//! Every text a notification carries is untrusted: component labels and incident titles come by
//! pull request, details come from the servers being probed. Left raw, `*`, `<b>` or `@everyone`
//! in a probe's error would format, link or ping in the team's channel.

/// Discord (and Teams) Markdown: every character that starts formatting, a mention, a
/// heading or a list is backslash-escaped, so the text shows exactly as written.
pub fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*'
                | '_'
                | '~'
                | '`'
                | '|'
                | '>'
                | '<'
                | '#'
                | '-'
                | '['
                | ']'
                | '('
                | ')'
                | '@'
                | '!'
                | '+'
                | '.'
                | '='
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// An HTTP header value (ntfy's `Title`, `Tags`): printable ASCII is kept; anything else (and
/// a line break, which would end the header) makes the whole value an RFC 2047 encoded word,
/// which ntfy decodes.
pub fn header_value(text: &str) -> String {
    let printable = text.bytes().all(|b| (0x20..0x7f).contains(&b));
    if printable {
        text.to_owned()
    } else {
        let flat: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("=?UTF-8?B?{}?=", base64(flat.as_bytes()))
    }
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_shown_as_written() {
        assert_eq!(
            markdown_escape("*API* @everyone [x](y)"),
            "\\*API\\* \\@everyone \\[x\\]\\(y\\)"
        );
    }

    #[test]
    fn header_values_stay_one_ascii_line() {
        assert_eq!(header_value("API down"), "API down");
        // RFC 4648 §10 test vectors, then a value with a non-ASCII letter and a line break.
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fooba"), "Zm9vYmE=");
        assert_eq!(base64(b"foob"), "Zm9vYg==");
        assert_eq!(header_value("Café\r\nX: y"), "=?UTF-8?B?Q2Fmw6kgIFg6IHk=?=");
    }
}
