//! `upstate probe`: probe once, print a table, write nothing. The same state rules as `run`
//! (`fail_after` counts on from the streak history remembers, read-only) and the same words
//! (`state::words`): the state's name, then `status.json`'s word for it. Exits 3 when any
//! component is down (`status.json` `down`), so scripts can use it; 0 otherwise.

use std::path::Path;

use upstate::history::History;
use upstate::pipeline;

use super::{Exit, load_config};

pub async fn run(path: &Path, json: bool) -> Exit {
    let Some(config) = load_config(path) else {
        return Exit::Invalid;
    };
    let observations =
        pipeline::probe_all(&config, super::progress_line(config.components.len())).await;
    // Read-only: the streaks history remembers shape the states, but nothing is written.
    let history = match pipeline::store(&config) {
        Ok(store) => {
            if let Err(e) = store.sync() {
                eprintln!("error: {e}");
                return Exit::Fatal;
            }
            History::open_read_only(store, pipeline::retention(&config))
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let decided = pipeline::decide(&config, &observations, &history);
    if json {
        let rows: Vec<_> = config
            .components
            .iter()
            .filter_map(|c| {
                let s = decided.current.get(&c.id)?;
                let words = upstate::state::words(Some(s.state));
                Some(serde_json::json!({"component": c.id, "state": words.key, "public": words.public.as_str(), "latency_ms": s.latency_ms, "detail": s.detail}))
            })
            .collect();
        match serde_json::to_string_pretty(&rows) {
            Ok(text) => out!("{text}"),
            Err(e) => {
                eprintln!("error: the table could not be written as JSON: {e}");
                return Exit::Fatal;
            }
        }
        return exit_for(&decided);
    }
    let width = config
        .components
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(9)
        .max(9);
    out!(
        "{:width$}  {:29}  {:>8}  DETAIL",
        "COMPONENT",
        "STATE (status.json)",
        "LATENCY"
    );
    for c in &config.components {
        let Some(s) = decided.current.get(&c.id) else {
            continue;
        };
        let latency = s
            .latency_ms
            .map_or_else(|| "-".to_owned(), |ms| format!("{ms} ms"));
        let words = upstate::state::words(Some(s.state));
        out!(
            "{:width$}  {:29}  {:>8}  {}",
            c.id,
            format!("{} ({})", words.key, words.public.as_str()),
            latency,
            s.detail
        );
    }
    exit_for(&decided)
}

/// 3 when any component is down, else 0 (README "Exit codes").
fn exit_for(decided: &pipeline::Decided) -> Exit {
    let any_down = decided
        .current
        .values()
        .any(|s| upstate::state::words(Some(s.state)).public == upstate::state::PublicState::Down);
    if any_down {
        Exit::Attention
    } else {
        Exit::Success
    }
}

/// `probe --region NAME --shard K/N --out STORE`: probe this runner's share and write it.
pub async fn region(path: &Path, region: &str, shard: &str, out: &str) -> Exit {
    let Some(config) = load_config(path) else {
        return Exit::Invalid;
    };
    let shard = match upstate::region::parse_shard(shard) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: --shard: {e}");
            return Exit::Invalid;
        }
    };
    let store = match pipeline::store_at(&config, out) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let components = upstate::region::shard_of(&config, shard);
    let options = upstate::probe::RunOptions {
        concurrency: config.run.concurrency,
        retries: config.run.retries,
        progress: None,
    };
    let observations = upstate::probe::run_all(&components, options).await;
    let report = upstate::region::RegionReport {
        version: 1,
        region: region.to_owned(),
        shard,
        at: chrono::Utc::now(),
        observations,
    };
    // A shared store (git) is fetched, written and pushed; a report pushed by another shard
    // meanwhile is kept and this one re-written on top.
    let written = tokio::task::spawn_blocking(move || {
        store.sync()?;
        upstate::history::write_shared(store.as_ref(), |s| {
            upstate::region::write_report(s, &report)
        })
        .map(|()| report.observations.len())
    })
    .await;
    match written {
        Ok(Ok(n)) => {
            out!(
                "Region {region}, shard {}/{}: wrote {n} observations.",
                shard.0,
                shard.1
            );
            Exit::Success
        }
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            Exit::Fatal
        }
        Err(e) => {
            eprintln!("error: writing the report crashed: {e}");
            Exit::Fatal
        }
    }
}
