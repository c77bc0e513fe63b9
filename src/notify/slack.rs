//! `kind = "slack"`: Slack's incoming-webhook format (`{"text": ...}`), which Mattermost,
//! Rocket.Chat and Discord's `/slack` endpoints also accept.

use super::Event;

/// `{"text": "<summary> <link>"}`: the summary with Slack's three characters escaped (so
/// `<!channel>` in a title is text), the link a valid URI with nothing that ends it early.
pub fn body(event: &Event) -> Vec<u8> {
    let url = match event {
        Event::ComponentChanged { url, .. } | Event::IncidentUpdated { url, .. } => url,
    };
    let text = crate::text::slack_escape(&event.summary());
    let link = crate::text::slack_link(url, "details");
    serde_json::to_vec(&serde_json::json!({ "text": format!("{text} {link}") })).unwrap_or_default()
}
