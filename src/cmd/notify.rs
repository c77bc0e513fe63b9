//! `upstate notify test TARGET`: one marked test event to one target, and what it answered, so a
//! team learns that a key is wrong before the outage that needed it.

use std::path::Path;

use upstate::notify;

use super::{Exit, load_config};

pub async fn test(path: &Path, wanted: &str) -> Exit {
    let Some(config) = load_config(path) else {
        return Exit::Invalid;
    };
    let found = config
        .notify
        .iter()
        .position(|n| n.name.as_deref() == Some(wanted))
        .or_else(|| {
            wanted
                .parse::<usize>()
                .ok()
                .filter(|&n| n >= 1 && n <= config.notify.len())
                .map(|n| n - 1)
        });
    let Some(index) = found else {
        let names: Vec<String> = config
            .notify
            .iter()
            .enumerate()
            .map(|(i, n)| match &n.name {
                Some(name) => format!("{} ({name})", i + 1),
                None => format!("{}", i + 1),
            })
            .collect();
        eprintln!(
            "error: no [[notify]] target `{wanted}`; targets: {}",
            if names.is_empty() {
                "none configured".to_owned()
            } else {
                names.join(", ")
            }
        );
        return Exit::Invalid;
    };
    let Some(target) = config.notify.get(index) else {
        return Exit::Invalid;
    };
    let client = match notify::client() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Fatal;
        }
    };
    let name = notify::display_name(target);
    let mut exit = Exit::Success;
    for event in notify::test_events(&config, target) {
        let what = match &event {
            notify::Event::Page(p) if p.action == notify::PageAction::Resolve => "test resolve",
            notify::Event::Page(_) => "test trigger",
            _ => "test event",
        };
        match notify::send_once(&client, target, &event).await {
            Ok(answer) => {
                out!("Sent a {what} to {name}: {} {}", answer.status, answer.body);
            }
            Err(e) => {
                eprintln!("error: {what} to {name} {e}");
                exit = Exit::Fatal;
                break;
            }
        }
    }
    exit
}
