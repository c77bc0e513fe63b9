//! Observation + memory of earlier runs => the component state a reader sees. Pure: no I/O.
//!
//! A probe reports what it saw; this module decides what that means, with hysteresis:
//! `fail_after` consecutive failures before a component is shown down (fewer => degraded), the
//! seed's "RTT over 200 ms for 2 minutes" rule for Redis, the push outbox growth rule, and
//! `latency_target`. The banner is the worst component state (seed 002).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::config::{Component, Duration};
use crate::probe::{Health, Outcome, ProbeSpec};

/// A component's state, in Statuspage vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentState {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

/// The three values of the public `status.json` contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicState {
    Operational,
    Degraded,
    Down,
}

impl ComponentState {
    /// All states, from best to worst.
    pub const ALL: [ComponentState; 5] = [
        Self::Operational,
        Self::UnderMaintenance,
        Self::DegradedPerformance,
        Self::PartialOutage,
        Self::MajorOutage,
    ];

    /// How bad it is; the banner takes the worst.
    pub fn severity(self) -> u8 {
        match self {
            Self::Operational => 0,
            Self::UnderMaintenance => 1,
            Self::DegradedPerformance => 2,
            Self::PartialOutage => 3,
            Self::MajorOutage => 4,
        }
    }

    /// The worse of two states.
    pub fn worst(self, other: Self) -> Self {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// `status.json`'s three-value form (DESIGN.md "State vocabulary").
    pub fn public(self) -> PublicState {
        match self {
            Self::Operational => PublicState::Operational,
            Self::DegradedPerformance | Self::PartialOutage | Self::UnderMaintenance => {
                PublicState::Degraded
            }
            Self::MajorOutage => PublicState::Down,
        }
    }

    /// The snake_case name used in files and the Statuspage API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::UnderMaintenance => "under_maintenance",
            Self::DegradedPerformance => "degraded_performance",
            Self::PartialOutage => "partial_outage",
            Self::MajorOutage => "major_outage",
        }
    }
}

impl PublicState {
    /// `operational`, `degraded` or `down`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operational => "operational",
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
}

/// Every output's words for one shown state: the one mapping (README "States"). `None` is a
/// component never observed: it has no state, so the page says "No data"; outputs whose
/// vocabulary has no such word (the seed's three-value `status.json`, the Statuspage API) use
/// the least misleading value they allow and say so beside it (`observed: false`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Words {
    /// Snake-case name: the theme's `strings.toml` key for the label ("Major outage", "No
    /// data"), the CSS class source, webhook `from`/`to`, the `probe` table.
    pub key: &'static str,
    /// `status.json` `state` and the run summary: `operational`, `degraded` or `down`.
    pub public: PublicState,
    /// Statuspage API component `status`.
    pub statuspage: &'static str,
    /// shields.io colour of the state badge.
    pub badge_color: &'static str,
}

/// The one mapping from a shown state (`None` = never observed) to every output's vocabulary.
pub fn words(state: Option<ComponentState>) -> Words {
    let (public, badge_color) = match state {
        Some(ComponentState::Operational) => (PublicState::Operational, "brightgreen"),
        Some(ComponentState::UnderMaintenance) => (PublicState::Degraded, "blue"),
        Some(ComponentState::DegradedPerformance | ComponentState::PartialOutage) => {
            (PublicState::Degraded, "yellow")
        }
        Some(ComponentState::MajorOutage) => (PublicState::Down, "red"),
        // Never observed: not operational (nobody looked), not down (nothing failed). The
        // contract's middle value, with `observed: false` beside it.
        None => (PublicState::Degraded, "lightgrey"),
    };
    Words {
        key: state.map_or(NO_DATA, ComponentState::as_str),
        public,
        statuspage: state
            .unwrap_or(ComponentState::DegradedPerformance)
            .as_str(),
        badge_color,
    }
}

/// The word for "never observed".
pub const NO_DATA: &str = "no_data";

/// Serializes a shown state as its [`Words::key`]: `no_data` when never observed.
pub fn serialize_shown<S: serde::Serializer>(
    state: &Option<ComponentState>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(words(*state).key)
}

/// The banner over shown states: the worst observed state when it is not operational;
/// otherwise "no data" when any component has none; otherwise operational (also with no
/// components). A never-observed component cannot hide an outage elsewhere, nor can observed
/// ones vouch for it.
pub fn roll_up_shown(
    states: impl IntoIterator<Item = Option<ComponentState>>,
) -> Option<ComponentState> {
    let mut any_unknown = false;
    let mut worst = ComponentState::Operational;
    for s in states {
        match s {
            Some(s) => worst = worst.worst(s),
            None => any_unknown = true,
        }
    }
    if worst == ComponentState::Operational && any_unknown {
        None
    } else {
        Some(worst)
    }
}

/// What a component remembers between runs (kept in the history store).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    /// Failed runs in a row, this one included.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// Since when the latency has stayed above `slow_limit` (Redis rule).
    #[serde(default)]
    pub slow_since: Option<DateTime<Utc>>,
    /// Recent `(time, value)` samples (push outbox backlog).
    #[serde(default)]
    pub samples: Vec<(DateTime<Utc>, i64)>,
}

impl Memory {
    /// The memory after `outcome` was observed at `at`.
    pub fn advance(&self, component: &Component, outcome: &Outcome, at: DateTime<Utc>) -> Memory {
        let mut next = self.clone();
        next.consecutive_failures = if outcome.health == Health::Down {
            self.consecutive_failures.saturating_add(1)
        } else {
            0
        };
        next.slow_since = match (&component.probe, outcome.latency_ms) {
            (ProbeSpec::Redis(r), Some(ms)) if ms > r.slow_limit.as_millis() => {
                Some(self.slow_since.unwrap_or(at))
            }
            _ => None,
        };
        if let Some(sample) = outcome.sample {
            let keep = match &component.probe {
                ProbeSpec::Push(p) => p.outbox_growth_window.chrono() * 2,
                _ => chrono::Duration::hours(1),
            };
            next.samples.retain(|(t, _)| at - *t <= keep);
            next.samples.push((at, sample));
        }
        next
    }
}

/// A decided state and the words that explain it.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub state: ComponentState,
    pub detail: String,
}

/// Decides a component's state from this run's outcome and the memory *after* it.
pub fn decide(
    component: &Component,
    outcome: &Outcome,
    memory: &Memory,
    at: DateTime<Utc>,
) -> Decision {
    let detail = outcome.detail.clone();
    match outcome.health {
        Health::Down => {
            let failures = memory.consecutive_failures.max(1);
            if failures >= component.fail_after {
                Decision {
                    state: ComponentState::MajorOutage,
                    detail,
                }
            } else {
                Decision {
                    state: ComponentState::DegradedPerformance,
                    detail: format!(
                        "{detail} ({failures} failed check{}; down after {})",
                        if failures == 1 { "" } else { "s" },
                        component.fail_after
                    ),
                }
            }
        }
        Health::Degraded => Decision {
            state: ComponentState::DegradedPerformance,
            detail,
        },
        Health::Up => decide_healthy(component, outcome, memory, at, detail),
    }
}

fn decide_healthy(
    component: &Component,
    outcome: &Outcome,
    memory: &Memory,
    at: DateTime<Utc>,
    detail: String,
) -> Decision {
    if let (ProbeSpec::Redis(r), Some(since)) = (&component.probe, memory.slow_since)
        && let Some(after) = r.slow_after
        && at - since >= after.chrono()
    {
        let slow_for = u64::try_from((at - since).num_milliseconds()).unwrap_or(0);
        return Decision {
            state: ComponentState::MajorOutage,
            detail: format!(
                "{detail}; round trip over {} for {}",
                r.slow_limit,
                Duration::from_millis(slow_for)
            ),
        };
    }
    if let ProbeSpec::Push(p) = &component.probe
        && let Some(grew) = grew_across(&memory.samples, p.outbox_growth_window, at)
    {
        return Decision {
            state: ComponentState::DegradedPerformance,
            detail: format!(
                "{detail} Outbox backlog grew for {} ({grew}).",
                p.outbox_growth_window
            ),
        };
    }
    if let (Some(target), Some(ms)) = (component.latency_target, outcome.latency_ms)
        && ms > target.as_millis()
    {
        return Decision {
            state: ComponentState::DegradedPerformance,
            detail: format!("{detail} (over the {target} target)"),
        };
    }
    Decision {
        state: ComponentState::Operational,
        detail,
    }
}

/// `Some("from a to b")` when every sample in the window rose and the samples span the window.
fn grew_across(
    samples: &[(DateTime<Utc>, i64)],
    window: Duration,
    at: DateTime<Utc>,
) -> Option<String> {
    let start = at - window.chrono();
    // The last sample at or before the window's start anchors it, so the growth spans the window.
    let anchor = samples.iter().rposition(|(t, _)| *t <= start)?;
    let series = samples.get(anchor..)?;
    if series.len() < 2 {
        return None;
    }
    let rising = series.windows(2).all(|w| matches!(w, [a, b] if b.1 > a.1));
    let first = series.first()?.1;
    let last = series.last()?.1;
    rising.then(|| format!("from {first} to {last}"))
}

/// The banner: the worst of the component states (operational when there are none).
pub fn roll_up(states: impl IntoIterator<Item = ComponentState>) -> ComponentState {
    states
        .into_iter()
        .fold(ComponentState::Operational, ComponentState::worst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn component(extra: &str) -> Component {
        let text = format!("[[component]]\nid = \"c\"\nlabel = \"C\"\n{extra}\n");
        let mut config = Config::parse(&text, std::path::Path::new("t.toml")).unwrap();
        config.components.remove(0)
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn fail_after_holds_back_down_until_enough_failures() {
        let c = component("kind = \"tcp\"\naddress = \"x:1\"\nfail_after = 2");
        let fail = Outcome::down("Cannot connect.");
        let m1 = Memory::default().advance(&c, &fail, at(0));
        assert_eq!(
            decide(&c, &fail, &m1, at(0)).state,
            ComponentState::DegradedPerformance
        );
        let m2 = m1.advance(&c, &fail, at(60));
        assert_eq!(
            decide(&c, &fail, &m2, at(60)).state,
            ComponentState::MajorOutage
        );
        let ok = Outcome::up(Some(3), "ok");
        let m3 = m2.advance(&c, &ok, at(120));
        assert_eq!(m3.consecutive_failures, 0);
        assert_eq!(
            decide(&c, &ok, &m3, at(120)).state,
            ComponentState::Operational
        );
    }

    #[test]
    fn table_of_single_run_decisions() {
        let cases = [
            (
                "kind = \"tcp\"\naddress = \"x:1\"",
                Outcome::up(Some(10), "ok"),
                ComponentState::Operational,
            ),
            (
                "kind = \"tcp\"\naddress = \"x:1\"\nlatency_target = \"5ms\"",
                Outcome::up(Some(10), "ok"),
                ComponentState::DegradedPerformance,
            ),
            (
                "kind = \"tcp\"\naddress = \"x:1\"",
                Outcome::degraded("late"),
                ComponentState::DegradedPerformance,
            ),
            (
                "kind = \"tcp\"\naddress = \"x:1\"",
                Outcome::down("no"),
                ComponentState::MajorOutage,
            ),
        ];
        for (extra, outcome, want) in cases {
            let c = component(extra);
            let m = Memory::default().advance(&c, &outcome, at(0));
            assert_eq!(decide(&c, &outcome, &m, at(0)).state, want, "{extra}");
        }
    }

    #[test]
    fn redis_slow_for_slow_after_is_down() {
        let c = component(
            "kind = \"redis\"\nurl = \"redis://x\"\nslow_after = \"2m\"\nslow_limit = \"200ms\"",
        );
        let slow = Outcome::up(Some(300), "PING in 300 ms");
        let mut m = Memory::default();
        for (s, want) in [
            (0, ComponentState::Operational),
            (60, ComponentState::Operational),
            (120, ComponentState::MajorOutage),
        ] {
            m = m.advance(&c, &slow, at(s));
            assert_eq!(decide(&c, &slow, &m, at(s)).state, want, "at {s}s");
        }
        let fast = Outcome::up(Some(1), "PING in 1 ms");
        m = m.advance(&c, &fast, at(180));
        assert_eq!(m.slow_since, None);
    }

    #[test]
    fn outbox_growing_across_the_window_is_degraded() {
        let c = component("kind = \"push\"\noutbox_growth_window = \"5m\"");
        let mut m = Memory::default();
        let mut last = ComponentState::Operational;
        for (i, n) in [10, 20, 30, 40, 50, 60, 70].iter().enumerate() {
            let mut o = Outcome::up(None, "APNs configured.");
            o.sample = Some(*n);
            let t = at(i64::try_from(i).unwrap() * 60);
            m = m.advance(&c, &o, t);
            last = decide(&c, &o, &m, t).state;
        }
        assert_eq!(last, ComponentState::DegradedPerformance);
        let mut o = Outcome::up(None, "APNs configured.");
        o.sample = Some(5);
        m = m.advance(&c, &o, at(420));
        assert_eq!(
            decide(&c, &o, &m, at(420)).state,
            ComponentState::Operational
        );
    }

    #[test]
    fn one_mapping_for_every_output() {
        use ComponentState::*;
        let table = [
            (
                Some(Operational),
                "operational",
                PublicState::Operational,
                "operational",
            ),
            (
                Some(UnderMaintenance),
                "under_maintenance",
                PublicState::Degraded,
                "under_maintenance",
            ),
            (
                Some(DegradedPerformance),
                "degraded_performance",
                PublicState::Degraded,
                "degraded_performance",
            ),
            (
                Some(PartialOutage),
                "partial_outage",
                PublicState::Degraded,
                "partial_outage",
            ),
            (
                Some(MajorOutage),
                "major_outage",
                PublicState::Down,
                "major_outage",
            ),
            (
                None,
                "no_data",
                PublicState::Degraded,
                "degraded_performance",
            ),
        ];
        for (state, key, public, statuspage) in table {
            let w = words(state);
            assert_eq!(
                (w.key, w.public, w.statuspage),
                (key, public, statuspage),
                "{state:?}"
            );
            if let Some(s) = state {
                assert_eq!(
                    w.public,
                    s.public(),
                    "status.json agrees with DESIGN.md's table"
                );
            }
        }
    }

    #[test]
    fn never_observed_is_no_data_in_the_banner_but_never_hides_an_outage() {
        use ComponentState::*;
        assert_eq!(roll_up_shown([None, None]), None);
        assert_eq!(roll_up_shown([Some(Operational), None]), None);
        assert_eq!(roll_up_shown([Some(MajorOutage), None]), Some(MajorOutage));
        assert_eq!(roll_up_shown([Some(Operational)]), Some(Operational));
        assert_eq!(roll_up_shown([]), Some(Operational));
    }

    #[test]
    fn banner_is_the_worst_state() {
        use ComponentState::*;
        assert_eq!(roll_up([]), Operational);
        assert_eq!(
            roll_up([Operational, DegradedPerformance]),
            DegradedPerformance
        );
        assert_eq!(
            roll_up([MajorOutage, DegradedPerformance]).public(),
            PublicState::Down
        );
        assert_eq!(roll_up([UnderMaintenance]).public(), PublicState::Degraded);
    }
}
