//! `upstate publish`: publish the last built site to `[publish] target`.

use std::path::Path;

use upstate::{pipeline, publish};

use super::{Exit, load_config};

pub async fn run(path: &Path) -> Exit {
    let Some(config) = load_config(path) else {
        return Exit::Invalid;
    };
    let site = pipeline::output_dir(&config);
    if !site.join("index.html").is_file() {
        eprintln!(
            "error: {} holds no built site; run `upstate build` first.",
            site.display()
        );
        return Exit::Fatal;
    }
    let target = match publish::target(&config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    match target.publish(&site).await {
        Ok(r) => {
            out!(
                "{}",
                super::published_summary(&target.name(), r.uploaded + r.unchanged, &r)
            );
            super::send_heartbeat(&config).await;
            Exit::Success
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Fatal
        }
    }
}
