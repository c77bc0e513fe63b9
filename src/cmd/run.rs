//! `upstate run`: probe → record history → build → publish. Exits 0 when the page was
//! published, whatever the components' states; 3 when it was published but something needs
//! attention; 1 when it could not publish; 2 when the config is invalid.

use std::collections::BTreeMap;
use std::path::Path;

use upstate::config::Config;
use upstate::history::History;
use upstate::incident::Incident;
use upstate::model::CurrentStatus;
use upstate::publish::{PublishReport, Target};
use upstate::state::{ComponentState, PublicState};
use upstate::{pipeline, publish};

use super::{Exit, load_config, print_incident_error, print_input_error};

pub async fn run(path: &Path, json: bool, merge: bool) -> Exit {
    let Some(config) = load_config(path) else {
        return Exit::Invalid;
    };
    let mut attention = Vec::new();
    let (incidents, errors) = pipeline::load_incidents(&config);
    for e in &errors {
        print_incident_error(e);
    }
    if !errors.is_empty() {
        attention.push(format!(
            "{} incident file error(s); those files were left out",
            errors.len()
        ));
    }
    let left_out = pipeline::input_problems(&config);
    for e in &left_out {
        print_input_error(e);
        attention.push(e.to_string());
    }
    let target = match publish::target(&config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let store = match pipeline::store(&config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return Exit::Invalid;
        }
    };
    let retention = pipeline::retention(&config);
    // Waits for an overlapping run to finish rather than interleaving with it. A shared store
    // (git) is fetched here: one that cannot be read stops the run before anything is published.
    let history = tokio::task::spawn_blocking(move || History::open(store, retention)).await;
    let mut history = match history {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            return Exit::Fatal;
        }
        Err(e) => {
            eprintln!("error: opening history crashed: {e}");
            return Exit::Fatal;
        }
    };

    let mut nothing_fresh = false;
    let (observations, counters) = if merge {
        let merged = pipeline::merged_observations(&config, &history);
        for p in &merged.problems {
            eprintln!("error: {p}");
            attention.push(p.to_string());
        }
        for region in &merged.silent {
            eprintln!("error: silent region: {region}; its components keep their last seen state.");
            attention.push(format!("silent region: {region}"));
        }
        nothing_fresh = merged.observations.is_empty();
        (merged.observations, pipeline::counters(&config).await)
    } else {
        tokio::join!(pipeline::probe_all(&config), pipeline::counters(&config))
    };
    let now = chrono::Utc::now();
    // Components this run did not observe (a merge with silent regions) keep what history last
    // saw, with its time, so the page shows them stale rather than guessed.
    let previous = pipeline::current_from_history(&config, &history);
    let mut decided = pipeline::decide(&config, &observations, &history, &incidents);
    for (id, status) in previous {
        decided.current.entry(id).or_insert(status);
    }
    history.set_counters(counters.clone());
    let run_counters = counters.clone();
    if let Err(e) = history.record(now, &decided.raw, &decided.rules) {
        eprintln!("error: recording history failed: {e}");
        attention.push("history was not recorded".to_owned());
    }
    for p in history.problems() {
        eprintln!("error: {p}");
        attention.push(p.to_string());
    }

    let published = publish_site(
        &config,
        &mut history,
        decided.current,
        &incidents,
        now,
        nothing_fresh,
        target.as_ref(),
    )
    .await;
    // Whatever the publish came to, this run's observations are kept: a shared store (git) is
    // pushed now. If another run pushed first, the same observations are decided and recorded
    // again on top of its history (the page already published stays as rendered).
    let notify_memory = history.notify_memory();
    let finished = tokio::task::block_in_place(|| {
        history.finish(|fresh| {
            let decided = pipeline::decide(&config, &observations, fresh, &incidents);
            fresh.set_counters(run_counters.clone());
            fresh.record(now, &decided.raw, &decided.rules)?;
            fresh.save_notify_memory(notify_memory.clone())
        })
    });
    drop(history);
    if let Err(e) = finished {
        eprintln!("error: saving history failed: {e}");
        return Exit::Fatal;
    }
    let Ok((file_count, report, shown)) = published else {
        return Exit::Fatal;
    };
    super::send_heartbeat(&config).await;

    // Counted from what the page shows (incidents applied, never-observed as "no data"), in
    // `status.json`'s words: the summary and the page cannot disagree.
    let mut counts: BTreeMap<PublicState, usize> = BTreeMap::new();
    let mut no_data = 0;
    for state in &shown {
        match state {
            Some(_) => {
                *counts
                    .entry(upstate::state::words(*state).public)
                    .or_default() += 1
            }
            None => no_data += 1,
        }
    }
    let get = |s| counts.get(&s).copied().unwrap_or(0);
    let target_name = target.name();
    if json {
        let summary = serde_json::json!({
            "published_to": target_name,
            "files": file_count,
            "written": report.uploaded,
            "deleted": report.deleted,
            "unchanged": report.unchanged,
            "components": {"operational": get(PublicState::Operational), "degraded": get(PublicState::Degraded), "down": get(PublicState::Down), "no_data": no_data},
            "attention": attention,
        });
        out!(
            "{}",
            serde_json::to_string_pretty(&summary).unwrap_or_default()
        );
    } else {
        out!(
            "{} {} components: {} operational, {} degraded, {} down{}.",
            if merge { "Merged" } else { "Probed" },
            shown.len(),
            get(PublicState::Operational),
            get(PublicState::Degraded),
            get(PublicState::Down),
            if no_data > 0 {
                format!(", {no_data} no data")
            } else {
                String::new()
            }
        );
        out!(
            "{}",
            super::published_summary(&target_name, file_count, &report)
        );
        let index = Path::new(&target_name).join("index.html");
        if index.is_file() {
            let shown = std::fs::canonicalize(&index).unwrap_or(index);
            out!("Page: file://{}", shown.display());
        }
    }
    if attention.is_empty() {
        Exit::Success
    } else {
        Exit::Attention
    }
}

/// Renders and writes the site, then publishes it while notifications go out: neither waits for
/// the other, and a receiver that hangs or fails never fails the run. Returns the number of
/// files, what the publish did and each component's shown state (`None` = no data); on failure
/// the reason was printed.
async fn publish_site(
    config: &Config,
    history: &mut History,
    current: BTreeMap<String, CurrentStatus>,
    incidents: &[Incident],
    now: chrono::DateTime<chrono::Utc>,
    nothing_fresh: bool,
    target: &dyn Target,
) -> Result<(usize, PublishReport, Vec<Option<ComponentState>>), ()> {
    // Pages follow what the probes saw, not a declared incident's impact.
    let probed: BTreeMap<String, ComponentState> = current
        .iter()
        .map(|(id, status)| (id.clone(), status.state))
        .collect();
    // This run's counters, set on the history before it recorded.
    let counters = history.counters();
    let (snapshot, files) = pipeline::render(
        config,
        history,
        current,
        incidents,
        counters,
        now,
        nothing_fresh,
    )
    .map_err(|e| eprintln!("error: rendering failed: {e}"))?;
    let site = pipeline::write(config, &files)
        .map_err(|e| eprintln!("error: writing the site failed: {e}"))?;
    let mut notify_memory = history.notify_memory();
    let plan = upstate::notify::plan(&snapshot, &probed, &mut notify_memory);
    let (published, (_, problems)) = tokio::join!(
        target.publish(&site),
        upstate::notify::deliver(config, &plan, &mut notify_memory)
    );
    for p in &problems {
        eprintln!("warning: {p}");
    }
    if let Err(e) = history.save_notify_memory(notify_memory) {
        eprintln!("warning: could not record sent notifications: {e}");
    }
    let shown = snapshot.components.iter().map(|c| c.state).collect();
    published
        .map(|report| (files.len(), report, shown))
        .map_err(|e| eprintln!("error: {e}"))
}
