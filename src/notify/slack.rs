//! `kind = "slack"`: Slack's incoming-webhook format (`{"text": ...}`), which Mattermost,
//! Rocket.Chat and Discord's `/slack` endpoints also accept.

use super::Event;

/// `{"text": "<summary> <link>"}` with Slack's three characters escaped.
pub fn body(event: &Event) -> Vec<u8> {
    let url = match event {
        Event::ComponentChanged { url, .. } | Event::IncidentUpdated { url, .. } => url,
    };
    let text = event
        .summary()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    serde_json::to_vec(&serde_json::json!({ "text": format!("{text} <{url}|details>") }))
        .unwrap_or_default()
}
