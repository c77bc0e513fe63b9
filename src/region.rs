//! Several probe runners (regions, shards) writing to one shared store, merged by one render job.
//!
//! Each `upstate probe --region NAME [--shard K/N] --out STORE` writes its latest observations to
//! `regions/<NAME>/shard-<K>-of-<N>.json` in the store (a folder or an S3-compatible bucket, the
//! same stores history uses). `run --merge` reads every report and merges them per component:
//! down only when a majority of the regions that reported recently see it down, degraded when
//! some do, with each region's word in the detail. A region whose report is older than
//! `stale_after` does not vote and is named as stale: silence is never counted as "up".

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::history::{HistoryError, Store};
use crate::probe::{Health, Observation, Outcome};

/// One runner's latest observations.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionReport {
    pub version: u32,
    pub region: String,
    /// `(k, n)`: this runner probed the components whose index is `k-1` modulo `n`.
    pub shard: (usize, usize),
    pub at: DateTime<Utc>,
    pub observations: Vec<Observation>,
}

/// `"2/4"` => `(2, 4)`.
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let (k, n) = text
        .split_once('/')
        .ok_or("write the shard as K/N, e.g. 2/4")?;
    let (k, n): (usize, usize) = (
        k.trim().parse().map_err(|_| "K must be a number")?,
        n.trim().parse().map_err(|_| "N must be a number")?,
    );
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n}: K must be between 1 and N"));
    }
    Ok((k, n))
}

/// The components shard `(k, n)` probes.
pub fn shard_of(config: &Config, shard: (usize, usize)) -> Vec<crate::config::Component> {
    config
        .components
        .iter()
        .enumerate()
        .filter(|(i, _)| i % shard.1 == shard.0 - 1)
        .map(|(_, c)| c.clone())
        .collect()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Writes a runner's report (one whole object, replacing its previous one).
pub fn write_report(store: &dyn Store, report: &RegionReport) -> Result<(), HistoryError> {
    if !valid_name(&report.region) {
        return Err(HistoryError::Io {
            file: report.region.clone(),
            reason: "region names use letters, digits, - and _".to_owned(),
        });
    }
    let key = format!(
        "regions/{}/shard-{}-of-{}.json",
        report.region, report.shard.0, report.shard.1
    );
    let bytes = serde_json::to_vec(report).map_err(|e| HistoryError::Io {
        file: key.clone(),
        reason: e.to_string(),
    })?;
    store.put(&key, &bytes)
}

/// Every report in the store; unreadable ones are returned as problems, not guessed at.
pub fn read_reports(store: &dyn Store) -> (Vec<RegionReport>, Vec<HistoryError>) {
    let mut reports = Vec::new();
    let mut problems = Vec::new();
    let keys = match store.list("regions") {
        Ok(k) => k,
        Err(e) => return (reports, vec![e]),
    };
    for key in keys.iter().filter(|k| k.ends_with(".json")) {
        match store.get(key) {
            Ok(Some(bytes)) => match serde_json::from_slice::<RegionReport>(&bytes) {
                Ok(r) => reports.push(r),
                Err(e) => problems.push(HistoryError::Unreadable {
                    file: store.describe(key),
                    reason: e.to_string(),
                }),
            },
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
    }
    (reports, problems)
}

/// Regions whose newest report is older than `stale_after`, as `"eu: last report 42 min ago"`,
/// or one line saying no region has reported at all. Empty when every region is fresh.
pub fn silent_regions(
    reports: &[RegionReport],
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> Vec<String> {
    if reports.is_empty() {
        return vec!["no region has written a report yet".to_owned()];
    }
    let mut newest: BTreeMap<&str, DateTime<Utc>> = BTreeMap::new();
    for r in reports {
        let slot = newest.entry(r.region.as_str()).or_insert(r.at);
        *slot = (*slot).max(r.at);
    }
    newest
        .into_iter()
        .filter(|(_, at)| now - *at > stale_after)
        .map(|(region, at)| format!("{region}: last report {} min ago", (now - at).num_minutes()))
        .collect()
}

/// Merges the regions' latest observations into one per component (in config order). A
/// component no region has reported freshly has no observation: it is left out, not guessed.
pub fn merge(
    config: &Config,
    reports: &[RegionReport],
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> Vec<Observation> {
    let mut seen = newest_by_region(reports);
    config
        .components
        .iter()
        .filter_map(|c| {
            let regions = seen.remove(c.id.as_str()).unwrap_or_default();
            let (at, outcome) = merged_outcome(&regions, now, stale_after)?;
            Some(Observation {
                component: c.id.clone(),
                at,
                outcome,
                took_ms: None,
            })
        })
        .collect()
}

/// One component's newest observation from each region: region => (time, outcome).
type ByRegion<'a> = BTreeMap<&'a str, (DateTime<Utc>, &'a Outcome)>;

/// Per component, each region's newest observation among that region's shards.
fn newest_by_region(reports: &[RegionReport]) -> BTreeMap<&str, ByRegion<'_>> {
    let mut seen: BTreeMap<&str, ByRegion<'_>> = BTreeMap::new();
    for r in reports {
        for o in &r.observations {
            let slot = seen
                .entry(o.component.as_str())
                .or_default()
                .entry(r.region.as_str())
                .or_insert((o.at, &o.outcome));
            if o.at > slot.0 {
                *slot = (o.at, &o.outcome);
            }
        }
    }
    seen
}

/// One component's outcome from its regions' reports, with the time of the newest fresh one:
/// down when most fresh regions see it down, degraded when any fails, up otherwise; the
/// latency is the fresh regions' median. `None` when no region reported within `stale_after`.
fn merged_outcome(
    regions: &ByRegion<'_>,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> Option<(DateTime<Utc>, Outcome)> {
    let minutes = |d: chrono::Duration| format!("{} min", d.num_minutes());
    let (fresh, stale): (Vec<_>, Vec<_>) = regions
        .iter()
        .partition(|(_, (at, _))| now - *at <= stale_after);
    let stale_words: Vec<String> = stale
        .iter()
        .map(|(r, (at, _))| format!("{r}: stale, last report {} ago", minutes(now - *at)))
        .collect();
    if fresh.is_empty() {
        // Silence is no data, never a state: the component keeps what history last saw
        // (or "no data"), and the run names the silent regions.
        return None;
    }
    let down = fresh
        .iter()
        .filter(|(_, (_, o))| o.health == Health::Down)
        .count();
    let degraded = fresh
        .iter()
        .filter(|(_, (_, o))| o.health == Health::Degraded)
        .count();
    let mut words: Vec<String> = fresh
        .iter()
        .map(|(r, (_, o))| format!("{r}: {}", o.detail))
        .collect();
    words.extend(stale_words);
    let mut latencies: Vec<u64> = fresh
        .iter()
        .filter_map(|(_, (_, o))| o.latency_ms)
        .collect();
    latencies.sort_unstable();
    let median = latencies.get(latencies.len() / 2).copied();
    let n = fresh.len();
    let newest = fresh.iter().map(|(_, (at, _))| *at).max().unwrap_or(now);
    let summary = |what: &str, k: usize| {
        format!(
            "{what} from {k} of {n} region{}. {}",
            if n == 1 { "" } else { "s" },
            words.join("; ")
        )
    };
    let mut outcome = if down * 2 > n {
        Outcome::down(summary("Down", down))
    } else if down + degraded > 0 {
        Outcome::degraded(summary("Failing", down + degraded))
    } else {
        Outcome::up(median, words.join("; "))
    };
    outcome.latency_ms = median;
    Some((newest, outcome))
}
