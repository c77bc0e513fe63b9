//! `upstate check`: validate the config and every incident file, probing nothing.

use std::path::Path;

use upstate::pipeline;

use super::{Exit, load_config, print_incident_error};

pub fn run(path: &Path) -> Exit {
    let Some(config) = load_config(path) else {
        return Exit::Invalid;
    };
    let (incidents, errors) = pipeline::load_incidents(&config);
    for e in &errors {
        print_incident_error(e);
    }
    if !errors.is_empty() {
        eprintln!(
            "error: {} problem{} in incident files.",
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
        return Exit::Invalid;
    }
    out!(
        "{}: OK ({} component{}, {} incident file{}).",
        path.display(),
        config.components.len(),
        if config.components.len() == 1 {
            ""
        } else {
            "s"
        },
        incidents.len(),
        if incidents.len() == 1 { "" } else { "s" }
    );
    Exit::Success
}
