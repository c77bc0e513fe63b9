//! `kind = "webhook"`: the event as generic JSON, or as the body a Tera `template` makes, so any
//! service with an HTTP API is reachable. Signed with HMAC-SHA256 when a `secret` is set
//! (`X-Upstate-Signature: sha256=<hex>` over the exact body bytes, GitHub's convention).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Delivery, Event, HttpRequest, Notifier, SendError};
use crate::config::notify::WebhookConfig;
use crate::config::secret::redact_url;

impl WebhookConfig {
    fn body(&self, event: &Event) -> Result<Vec<u8>, SendError> {
        let Some(template) = &self.template else {
            return Ok(default_body(event));
        };
        let tera = crate::config::notify::webhook_tera(template)
            .map_err(|e| SendError::Build(e.to_string()))?;
        let mut context = tera::Context::new();
        context.insert("event", &event_value(event));
        tera.render("body", &context)
            .map(String::into_bytes)
            .map_err(|e| SendError::Build(format!("`template` failed: {e}")))
    }
}

/// The event as JSON plus `id`, `summary`, `title` and `url`.
fn event_value(event: &Event) -> serde_json::Value {
    let mut value = serde_json::to_value(event).unwrap_or(serde_json::Value::Null);
    if let Some(map) = value.as_object_mut() {
        map.insert("id".to_owned(), event.id().into());
        map.insert("summary".to_owned(), event.summary().into());
        map.insert("title".to_owned(), event.title().into());
        map.insert("url".to_owned(), event.url().into());
    }
    value
}

/// The JSON body: the event itself plus a one-line summary. Every string is plain text
/// ([`crate::text::plain_text`]): receivers forward `message` and `summary` to chat, e-mail
/// and pages, where a `<` that opens a tag would become markup.
pub fn default_body(event: &Event) -> Vec<u8> {
    let mut value = event_value(event);
    crate::text::plain_json(&mut value);
    // A `Value`'s Display is its compact JSON and cannot fail (no default body to fall back on).
    value.to_string().into_bytes()
}

impl Notifier for WebhookConfig {
    fn kind(&self) -> &'static str {
        "webhook"
    }

    fn identity(&self) -> String {
        self.url.expose().to_owned()
    }

    fn shown(&self) -> String {
        redact_url(self.url.expose())
    }

    fn delivery(&self, event: &Event) -> Result<Delivery, SendError> {
        let body = self.body(event)?;
        let mut request = HttpRequest {
            method: reqwest::Method::POST,
            url: self.url.expose().to_owned(),
            headers: vec![("content-type".to_owned(), self.content_type.clone())],
            body: Vec::new(),
        }
        // Ids are built from `[a-z0-9_-]` slugs; encoded anyway, a header cannot take CR/LF.
        .header("x-upstate-event", crate::text::header_value(&event.id()));
        if let Some(secret) = &self.secret {
            request = request.header("x-upstate-signature", signature(secret.expose(), &body));
        }
        request.body = body;
        Ok(Delivery::Http(request))
    }
}

/// `sha256=<hex HMAC-SHA256 of body with secret>`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new(); // HMAC accepts keys of any length; this cannot happen
    };
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    let hex = hex::encode(bytes);
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

    #[test]
    fn a_template_that_does_not_compile_is_refused() {
        let config: WebhookConfig =
            toml::from_str("url = \"http://x\"\ntemplate = \"{{ event.summary\"\n")
                .unwrap_or_else(|e| panic!("{e}"));
        assert!(config.validate().is_err());
    }
}
