//! `kind = "webhook"`: the event as generic JSON, signed with HMAC-SHA256 when a secret is set
//! (`X-Upstate-Signature: sha256=<hex>` over the exact body bytes, GitHub's convention).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::Event;

/// The JSON body: the event itself plus a one-line summary. Every string is plain text
/// ([`crate::text::plain_text`]): receivers forward `message` and `summary` to chat, e-mail
/// and pages, where a `<` that opens a tag would become markup.
pub fn body(event: &Event) -> Vec<u8> {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("id".to_owned(), event.id().into());
        map.insert("summary".to_owned(), event.summary().into());
    }
    crate::text::plain_json(&mut value);
    serde_json::to_vec(&value).unwrap_or_default()
}

/// `sha256=<hex HMAC-SHA256 of body with secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new(); // HMAC accepts keys of any length; this cannot happen
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_rfc_4231_test_case_2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
