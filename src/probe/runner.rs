//! Runs every component's probe concurrently, each under its own deadline.
//!
//! Concurrency is bounded by a semaphore (`[run] concurrency`), not by threads: ten thousand
//! probes are ten thousand small tasks. The deadline is enforced here, around the whole check, so a
//! target that hangs at any step (DNS, connect, TLS, request, body) costs at most its timeout and
//! never delays the others.

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{Health, Observation, Outcome, ProbeSpec, Thresholds, human};
use crate::duration::Duration;

/// What the runner needs of a component. `config::Component` implements it; the runner takes
/// this instead of the config type so that the probe stage does not depend on the config that
/// is built from its kinds (the module graph stays one-way).
pub trait Target: Clone + Send + Sync + 'static {
    /// The component's id, for observations and logs.
    fn id(&self) -> &str;
    /// What to probe.
    fn spec(&self) -> &ProbeSpec;
    /// The deadline of one check.
    fn timeout(&self) -> Duration;
    /// Turns a measured figure into degraded or down.
    fn thresholds(&self) -> &Thresholds;
}

/// Told `(done, total)` each time a probe finishes. The binary draws its progress line from
/// it; the library itself prints nothing.
pub type Progress = Arc<dyn Fn(usize, usize) + Send + Sync>;

/// How the runner behaves.
#[derive(Clone)]
pub struct RunOptions {
    pub concurrency: usize,
    /// Immediate re-tries of a failed check inside one run (within its one deadline).
    pub retries: u32,
    /// Who is told as probes finish, if anyone.
    pub progress: Option<Progress>,
}

/// What a run knows before it starts, beyond the components: the order to start them in.
#[derive(Default)]
pub struct Schedule {
    /// Positions in the component list, started in this order (the ones left out follow in
    /// list order). With fewer permits than components, starting the checks that took longest
    /// last time first (those that hung) keeps a run near one deadline long: started last,
    /// they would each add a deadline after the quick ones.
    pub start_order: Vec<usize>,
}

/// Probes `components` and returns one observation each, in the order given.
pub async fn run_all<T: Target>(components: &[T], options: RunOptions) -> Vec<Observation> {
    run_scheduled(components, options, Schedule::default()).await
}

/// [`run_all`], started in `schedule`'s order.
pub async fn run_scheduled<T: Target>(
    components: &[T],
    options: RunOptions,
    schedule: Schedule,
) -> Vec<Observation> {
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let total = components.len();
    let mut tasks = JoinSet::new();
    for index in start_order(&schedule.start_order, total) {
        let component = components[index].clone();
        // The permit is taken here, in the schedule's order, before the task exists: taken
        // inside the tasks, the runtime's threads decided which task asked first, and under
        // load a check the schedule put last could start first. The semaphore is never closed,
        // so acquiring cannot fail; if it somehow did, probing without a permit is better than
        // not probing.
        let permit = Arc::clone(&permits).acquire_owned().await.ok();
        let done = Arc::clone(&done);
        let progress = options.progress.clone();
        tasks.spawn(async move {
            let _permit = permit;
            let started = std::time::Instant::now();
            let outcome = check_with_retries(&component, options.retries).await;
            let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let finished = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            if let Some(tell) = &progress {
                tell(finished, total);
            }
            (
                index,
                Observation {
                    component: component.id().to_owned(),
                    at: Utc::now(),
                    outcome,
                    took_ms: Some(took_ms),
                },
            )
        });
    }
    let mut results: Vec<Option<Observation>> = vec![None; total];
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, observation)) => {
                if let Some(slot) = results.get_mut(index) {
                    *slot = Some(observation);
                }
            }
            Err(e) => tracing::error!(error = %e, "A probe task panicked."),
        }
    }
    results
        .into_iter()
        .zip(components)
        .map(|(o, c)| {
            o.unwrap_or_else(|| Observation {
                component: c.id().to_owned(),
                at: Utc::now(),
                outcome: Outcome::down("The probe crashed; see the run's log."),
                took_ms: None,
            })
        })
        .collect()
}

/// Every position below `total` once: those of `first` (in its order, each once, out of range
/// ones ignored), then the rest in order.
fn start_order(first: &[usize], total: usize) -> Vec<usize> {
    let mut seen = vec![false; total];
    let mut order = Vec::with_capacity(total);
    for &i in first.iter().chain(&(0..total).collect::<Vec<_>>()) {
        if i < total && !seen[i] {
            seen[i] = true;
            order.push(i);
        }
    }
    order
}

/// The check, then up to `retries` more while it fails, all inside the component's one
/// deadline: a retry gets only the time the earlier attempts left. So a run still ends within
/// its slowest deadline (a hanging target is not waited for `retries + 1` times), and a check
/// that failed fast (refused, reset, HTTP 503) gets its second chance. Whatever used up the
/// deadline, a timeout above all, is final: retrying it would only time out again.
async fn check_with_retries<T: Target>(component: &T, retries: u32) -> Outcome {
    let deadline = component.timeout().std();
    let started = tokio::time::Instant::now();
    let mut outcome = check_within(component, deadline, deadline).await.outcome;
    for attempt in 1..=retries {
        let left = deadline.saturating_sub(started.elapsed());
        if outcome.health != Health::Down || left < MIN_RETRY_BUDGET {
            break;
        }
        tracing::debug!(component = %component.id(), attempt, "Retrying a failed probe.");
        let retried = check_within(component, left, deadline).await;
        // A retry that ran out of what was left says nothing new: the earlier failure (HTTP
        // 503 after 4.9 s) is the honest detail, not "Timed out".
        if retried.timed_out {
            break;
        }
        outcome = retried.outcome;
    }
    outcome
}

/// One attempt's outcome, and whether the budget ran out before the probe answered.
struct Attempt {
    outcome: Outcome,
    timed_out: bool,
}

/// Below this much of the deadline left, a retry could not finish a round trip: not tried.
const MIN_RETRY_BUDGET: std::time::Duration = std::time::Duration::from_millis(50);

/// One check under the component's deadline.
pub async fn check_once<T: Target>(component: &T) -> Outcome {
    let deadline = component.timeout().std();
    check_within(component, deadline, deadline).await.outcome
}

/// One check given `budget` (what is left of `deadline`, the component's whole deadline, which
/// a timeout names: the check as a whole took that long).
async fn check_within<T: Target>(
    component: &T,
    budget: std::time::Duration,
    deadline: std::time::Duration,
) -> Attempt {
    let probe = component.spec().probe();
    let started = tokio::time::Instant::now();
    let outcome = match tokio::time::timeout(budget, probe.check(budget)).await {
        Ok(outcome) => match component.spec().measure() {
            Some(what) => component.thresholds().apply(outcome, what),
            None => outcome,
        },
        Err(_) => {
            // Not a warning: a timeout is this component's outcome ("Timed out after 5s"), which
            // the run's summary counts and the page shows; a warning every run would repeat it.
            tracing::debug!(component = %component.id(), "Probe timed out.");
            Outcome::down(format!("Timed out after {}.", human(deadline)))
        }
    };
    // Kinds also stop themselves at the budget they are given: a check that took all of it
    // timed out, whoever noticed first.
    Attempt {
        timed_out: started.elapsed() >= budget,
        outcome,
    }
}
