//! [`Snapshot`]: every fact any output needs, computed once.
//!
//! HTML, `status.json`, the Statuspage-compatible API, feeds, iCal and badges are all rendered
//! from one `Snapshot`, so they cannot disagree. Renderers format; they never compute facts.

mod declared;
mod objectives;
mod slo;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::{Component, Config};
use crate::history::rollup::{Segment, StateSeconds};
use crate::history::sketch::Sketch;
use crate::history::{ComponentMemory, Figures, History};
use crate::incident::{Incident, Kind, Status, lifecycle};
use crate::state::{ComponentState, PublicState, roll_up_shown};

pub use objectives::Objective;
pub use slo::{BurnRate, LatencyObjective, ServiceObjective};

/// A component's current status, from this run's probes or from history.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentStatus {
    pub state: ComponentState,
    pub detail: String,
    pub latency_ms: Option<u64>,
    pub last_checked_at: Option<DateTime<Utc>>,
}

// Measured by the probe stage; re-exported because every output shows them.
pub use crate::probe::counters::Counters;

/// The site's own facts, for templates.
#[derive(Debug, Clone, Serialize)]
pub struct SiteView {
    pub title: String,
    pub description: String,
    pub base_url: String,
    pub security_contact: Option<String>,
    pub poll_interval_secs: u64,
    pub incident_window_days: i64,
    /// `[site] uptime_min_coverage`, 0 to 1: below it a figure reads "no data".
    pub uptime_min_coverage: f64,
    /// The IANA zone times are shown in (`[site] timezone`); data stays UTC.
    pub timezone: String,
    /// `[snapshot]` is configured: the page has live-traffic counters to show.
    pub live_traffic: bool,
    /// Some `[[notify]]` target pages for some component: only then may the page say that
    /// on-call is paged from these checks.
    pub on_call: bool,
    /// `[site] logo`: a path inside the published site, shown beside the title.
    pub logo: Option<String>,
}

/// One day's bar in a 90-day strip.
#[derive(Debug, Clone, Serialize)]
pub struct DayBar {
    /// Serialised as `2026-11-02`.
    pub date: chrono::NaiveDate,
    /// Worst state seen that day; `None` = no data.
    pub state: Option<ComponentState>,
    pub uptime: Option<f64>,
}

/// Uptime over the usual windows; `None` = no data (nothing observed, or less of the window
/// than `[site] uptime_min_coverage`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Uptime {
    pub day: Option<f64>,
    pub week: Option<f64>,
    pub month: Option<f64>,
    pub quarter: Option<f64>,
    /// How much of each window was observed (0 to 1): every figure carries it.
    pub coverage: Coverage,
    /// Hours of maintenance in the last 90 days (left out of the figures above).
    pub maintenance_hours_90d: f64,
    /// The same windows from the probes alone, before declared incidents and maintenance are
    /// applied (same coverage). The figures above are what readers were shown.
    pub measured: MeasuredUptime,
}

/// Uptime from the probes alone over the usual windows; `None` = no data, as in [`Uptime`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MeasuredUptime {
    pub day: Option<f64>,
    pub week: Option<f64>,
    pub month: Option<f64>,
    pub quarter: Option<f64>,
}

/// The observed share of each uptime window, 0 to 1 (maintenance counts as observed).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Coverage {
    pub day: f64,
    pub week: f64,
    pub month: f64,
    pub quarter: f64,
}

/// An uptime figure and its coverage: the figure only when enough of the window was observed.
fn figure(seconds: &StateSeconds, window_seconds: f64, min_coverage: f64) -> (Option<f64>, f64) {
    let observed = seconds.observed() + seconds.under_maintenance;
    let coverage = if window_seconds > 0.0 {
        (observed / window_seconds).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let shown = if coverage >= min_coverage && coverage > 0.0 {
        seconds.uptime()
    } else {
        None
    };
    (shown, coverage)
}

/// Latency percentiles over a window, ms.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub samples: u64,
}

/// One day of a component's measured value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ValueDay {
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    pub samples: u64,
}

/// One component as every output sees it.
#[derive(Debug, Clone, Serialize)]
pub struct ComponentView {
    pub id: String,
    pub label: String,
    pub group: Option<String>,
    pub description: Option<String>,
    pub kind: String,
    /// `None` = never observed and no open incident or window declares a state: "no data".
    /// Templates see its [`crate::state::Words::key`] (`major_outage`, `no_data`).
    #[serde(serialize_with = "crate::state::serialize_shown")]
    pub state: Option<ComponentState>,
    pub public_state: PublicState,
    pub detail: String,
    pub latency_ms: Option<u64>,
    pub last_checked_at: Option<DateTime<Utc>>,
    pub uptime: Uptime,
    pub bars: Vec<DayBar>,
    /// Daily p50/p95/p99 for the latency chart, oldest first (`None` = no samples that day).
    /// Not serialised: templates get the chart drawn from it (`chart` on a component page), and
    /// 90 days of it for each of 2,000 components on the front page cost a run hundreds of MB.
    #[serde(skip)]
    pub daily_latency: Vec<(chrono::NaiveDate, Percentiles)>,
    pub latency_30d: Percentiles,
    /// Checks in the last 30 days, failed ones included (only successful checks have a latency).
    pub checks_30d: u64,
    /// What the kind's main value is ("queue depth", "loss %") when it is not the latency:
    /// the title of the value chart. `None` for latency-only kinds.
    pub measure: Option<String>,
    /// Daily (date, lowest, mean, highest) of that value, oldest first; `None` = no value that
    /// day (never observed is a gap, not a zero). Not serialised, like `daily_latency`: drawn as
    /// `value_chart` on the component page.
    #[serde(skip)]
    pub daily_value: Vec<(chrono::NaiveDate, Option<ValueDay>)>,
    /// Slugs of incidents and maintenance that touch it, newest first.
    pub incidents: Vec<String>,
}

impl ComponentView {
    /// A copy without its day series (`bars`, and the unserialised chart series), for a page
    /// that does not show them: cloning them for 2,000 components only to drop them was the
    /// largest allocation of a run's front page (26 MB); a component page whose theme prints
    /// the made strip instead of the bars is serialised (twice) without them too. Every field
    /// is named, so a new one is a compile error here rather than silently left out.
    pub fn without_series(&self) -> Self {
        let Self {
            id,
            label,
            group,
            description,
            kind,
            state,
            public_state,
            detail,
            latency_ms,
            last_checked_at,
            uptime,
            bars: _,
            daily_latency: _,
            latency_30d,
            checks_30d,
            measure,
            daily_value: _,
            incidents,
        } = self;
        Self {
            id: id.clone(),
            label: label.clone(),
            group: group.clone(),
            description: description.clone(),
            kind: kind.clone(),
            state: *state,
            public_state: *public_state,
            detail: detail.clone(),
            latency_ms: *latency_ms,
            last_checked_at: *last_checked_at,
            uptime: uptime.clone(),
            bars: Vec::new(),
            daily_latency: Vec::new(),
            latency_30d: latency_30d.clone(),
            checks_30d: *checks_30d,
            measure: measure.clone(),
            daily_value: Vec::new(),
            incidents: incidents.clone(),
        }
    }
}

/// A group of tiles.
#[derive(Debug, Clone, Serialize)]
pub struct GroupView {
    pub name: Option<String>,
    /// Component ids, failures first.
    pub components: Vec<String>,
    #[serde(serialize_with = "crate::state::serialize_shown")]
    pub state: Option<ComponentState>,
}

/// One incident timeline entry, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateView {
    pub at: DateTime<Utc>,
    pub status: Status,
    /// Sanitised HTML; empty for private incidents.
    pub message_html: String,
}

/// An incident or maintenance as every output sees it. For private incidents the title, body and
/// messages are already gone here, so no renderer can leak them.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentView {
    /// The public id: page name, link, feed id, Statuspage `id`. For a public incident its
    /// slug (`[a-z0-9-]`, from the file name); for a private one `private-<hex>`, a keyed hash
    /// of the file name ([`public_ids`]), so the name never leaves the repository.
    pub slug: String,
    /// Other ids the same file has had: under the other value of `private`, and its raw file
    /// stem (the id before slugs were restricted to `[a-z0-9-]`). Notifications treat them as
    /// the same incident, so flipping `private` or upgrading announces nothing again. Never
    /// serialised: no template or output sees them.
    #[serde(skip)]
    pub aliases: Vec<String>,
    pub kind: Kind,
    pub private: bool,
    /// The public title ("Private incident" for private ones).
    pub title: String,
    pub severity: Option<&'static str>,
    pub status: Status,
    pub active: bool,
    pub impact: Option<ComponentState>,
    pub components: Vec<String>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub contained_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Minutes from start to end (or to now while open).
    pub duration_minutes: Option<i64>,
    pub updates: Vec<UpdateView>,
    /// `suppress_pages: true`: while open, its components trigger no new page. Never
    /// serialised: it is about on-call, not readers.
    #[serde(skip)]
    pub suppress_pages: bool,
    /// Sanitised postmortem HTML; empty for private incidents.
    pub body_html: String,
    /// What every field above is a function of ([`IncidentView::fingerprint_of`]): two views
    /// with the same fingerprint serialise the same, so a page made of views is kept without
    /// serialising them while their fingerprints are unchanged (`render`). Never serialised.
    #[serde(skip)]
    pub fingerprint: crate::digest::Digest,
}

/// An [`IncidentView`] without its texts (postmortem and timeline), borrowed: what a list of
/// incidents serialises when its theme prints no text. A component page lists every incident
/// that touched it, a month of history every incident of the month; copying their postmortems
/// into each page's context (twice: a JSON value, then Tera's) was most of a cold build's
/// component and history pages. Serialises as the view does, less `body_html` and `updates`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct IncidentSummary<'a> {
    pub slug: &'a str,
    pub kind: Kind,
    pub private: bool,
    pub title: &'a str,
    pub severity: Option<&'static str>,
    pub status: Status,
    pub active: bool,
    pub impact: Option<ComponentState>,
    pub components: &'a [String],
    pub discovered_at: Option<DateTime<Utc>>,
    pub contained_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i64>,
}

impl IncidentView {
    /// The view without its texts (see [`IncidentSummary`]). Every field is named, so a new
    /// one is a compile error here rather than silently left out.
    pub fn summary(&self) -> IncidentSummary<'_> {
        let Self {
            slug,
            aliases: _,
            kind,
            private,
            title,
            severity,
            status,
            active,
            impact,
            components,
            discovered_at,
            contained_at,
            resolved_at,
            starts_at,
            ends_at,
            started_at,
            updated_at,
            duration_minutes,
            updates: _,
            suppress_pages: _,
            body_html: _,
            fingerprint: _,
        } = self;
        IncidentSummary {
            slug,
            kind: *kind,
            private: *private,
            title,
            severity: *severity,
            status: *status,
            active: *active,
            impact: *impact,
            components,
            discovered_at: *discovered_at,
            contained_at: *contained_at,
            resolved_at: *resolved_at,
            starts_at: *starts_at,
            ends_at: *ends_at,
            started_at: *started_at,
            updated_at: *updated_at,
            duration_minutes: *duration_minutes,
        }
    }

    /// A view is [`incident_view`] of (the incident, its ids, the clock); the incident is a
    /// function of its [`Incident::source`], and the clock reaches the view only through the
    /// status, `active`, the impact and the duration. So those, and nothing else, are digested.
    fn fingerprint_of(source: &crate::digest::Digest, v: &IncidentView) -> crate::digest::Digest {
        let clock = format!(
            "{:?}|{}|{:?}|{:?}",
            v.status, v.active, v.impact, v.duration_minutes
        );
        let aliases = v.aliases.len().to_le_bytes();
        let mut parts: Vec<&[u8]> = vec![b"incident-view/1", source, v.slug.as_bytes(), &aliases];
        parts.extend(v.aliases.iter().map(|a| a.as_bytes()));
        parts.push(clock.as_bytes());
        crate::digest::of_parts(parts)
    }
}

/// Everything every output needs.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub site: SiteView,
    pub generated_at: DateTime<Utc>,
    /// After this instant readers should distrust the page: the schedule has missed several
    /// runs (`[run] stale_after`). A static page cannot notice by itself that its cron stopped.
    pub stale_after: DateTime<Utc>,
    /// The newest observation shown (`None` = nothing observed yet): what "not updated since"
    /// means to a reader, whatever the build time.
    pub observed_at: Option<DateTime<Utc>>,
    /// The banner; `None` = no component is known to be failing but some have no data.
    #[serde(serialize_with = "crate::state::serialize_shown")]
    pub overall: Option<ComponentState>,
    pub overall_public: PublicState,
    pub components: Vec<ComponentView>,
    pub groups: Vec<GroupView>,
    /// Incidents inside the incident window, newest first.
    pub incidents: Vec<IncidentView>,
    /// Every incident ever, newest first (history pages).
    pub all_incidents: Vec<IncidentView>,
    /// Maintenance: active and upcoming first, then recent completed ones.
    pub maintenance: Vec<IncidentView>,
    /// Every maintenance window ever, newest first (history pages keep the past ones).
    pub all_maintenance: Vec<IncidentView>,
    pub counters: Counters,
    pub objectives: Vec<Objective>,
    /// `[[objective]]`s with their actuals (none published before their coverage is reached).
    pub service_objectives: Vec<ServiceObjective>,
    pub version: &'static str,
}

impl Snapshot {
    /// A component by id.
    pub fn component(&self, id: &str) -> Option<&ComponentView> {
        self.components.iter().find(|c| c.id == id)
    }

    /// Incidents that are still open.
    pub fn unresolved(&self) -> impl Iterator<Item = &IncidentView> {
        self.incidents.iter().filter(|i| i.active)
    }
}

/// Inputs of [`build`].
pub struct Inputs<'a> {
    pub config: &'a Config,
    /// Current status by component id (live, or from history); missing = no data yet.
    pub current: BTreeMap<String, CurrentStatus>,
    pub incidents: &'a [Incident],
    pub counters: Counters,
    pub now: DateTime<Utc>,
    /// The run knows nothing it shows is fresh (a merge whose every region is silent): the
    /// page is published stale at once, whatever the times of the states it keeps.
    pub stale_now: bool,
}

const BAR_DAYS: u32 = 90;

/// Computes the snapshot.
pub fn build(inputs: Inputs<'_>, history: &mut History) -> Snapshot {
    let Inputs {
        config,
        current,
        incidents,
        counters,
        now,
        stale_now,
    } = inputs;
    let ids = public_ids(incidents, history);
    let touching = by_component(incidents);
    let scope = ComponentScope {
        config,
        incidents,
        touching: &touching,
        ids: &ids,
        now,
    };
    let window_start = now - config.site.incident_window.chrono();
    let today = now.date_naive();
    let first_day = today
        .checked_sub_days(chrono::Days::new(u64::from(BAR_DAYS - 1)))
        .unwrap_or(today);
    let figures = history.figures(first_day, today);
    // Each view reads only its own memory and rollups: on every core (2,000 components' 90
    // days each were a sixth of a run's build on one).
    let components: Vec<ComponentView> =
        crate::parallel::map(&config.components, crate::parallel::threads(), |c| {
            component_view(&scope, c, current.get(&c.id).cloned(), figures)
        });
    let lists = incident_lists(incidents, &ids, now, window_start);
    let overall = roll_up_shown(components.iter().map(|c| c.state));
    let observed_at = components.iter().filter_map(|c| c.last_checked_at).max();
    let groups = group(&components);

    Snapshot {
        site: site_view(config),
        generated_at: now,
        // Counted from the newest observation, not from the build: a page rebuilt from old
        // observations (`build`, a merge whose regions fell silent) is stale at once.
        stale_after: if stale_now {
            now
        } else {
            observed_at.unwrap_or(now) + config.run.stale_after().chrono()
        },
        observed_at,
        overall,
        overall_public: crate::state::words(overall).public,
        components,
        groups,
        incidents: lists.recent,
        all_incidents: lists.all_incidents,
        maintenance: lists.maintenance,
        all_maintenance: lists.all_maintenance,
        counters,
        objectives: objectives::from_config(config),
        service_objectives: slo::compute(&config.objectives, history, incidents, now),
        version: env!("CARGO_PKG_VERSION"),
    }
}

/// What [`component_view`] reads besides the component, its status and the history.
struct ComponentScope<'a> {
    config: &'a Config,
    incidents: &'a [Incident],
    /// Which incidents name each component ([`by_component`]).
    touching: &'a HashMap<&'a str, Vec<usize>>,
    /// Each incident's (public id, aliases), in input order: see [`public_ids`].
    ids: &'a [(String, Vec<String>)],
    now: DateTime<Utc>,
}

/// For each component id, the positions of the incidents that name it, in input order. Built
/// once: each component scanning all 10,000 incidents (three times) was most of a rebuild.
fn by_component(incidents: &[Incident]) -> HashMap<&str, Vec<usize>> {
    let mut out: HashMap<&str, Vec<usize>> = HashMap::new();
    for (n, i) in incidents.iter().enumerate() {
        for c in &i.components {
            let list = out.entry(c.as_str()).or_default();
            // A file naming a component twice is listed once.
            if list.last() != Some(&n) {
                list.push(n);
            }
        }
    }
    out
}

/// One component's view: its shown state, uptime figures, daily bars and incidents.
fn component_view(
    scope: &ComponentScope<'_>,
    c: &Component,
    status: Option<CurrentStatus>,
    history: Figures<'_>,
) -> ComponentView {
    let ComponentScope {
        config,
        incidents,
        touching,
        ids,
        now,
    } = *scope;
    let mine: &[usize] = touching.get(c.id.as_str()).map_or(&[], Vec::as_slice);
    let own = || mine.iter().map(|&n| &incidents[n]);
    let (state, detail) = shown_state(&c.id, status.as_ref(), own(), now);
    let status = status.unwrap_or(CurrentStatus {
        state: ComponentState::Operational,
        detail: String::new(),
        latency_ms: None,
        last_checked_at: None,
    });
    let never_seen = ComponentMemory::default();
    let memory = history.memory(&c.id).unwrap_or(&never_seen);
    let min_coverage = config.site.uptime_min_coverage.fraction();
    let declared = declared::Declared::new(&c.id, own());
    let timelines = Timelines {
        shown: &declared.overlay(&memory.timeline),
        measured: &memory.timeline,
    };
    let days = daily_figures(&c.id, &declared, history, now, min_coverage);
    let uptime = uptime(&timelines, &days, now, min_coverage);
    ComponentView {
        id: c.id.clone(),
        label: c.label.clone(),
        group: c.group.clone(),
        description: c.description.clone(),
        kind: c.probe.kind().to_owned(),
        state,
        public_state: crate::state::words(state).public,
        detail,
        latency_ms: status.latency_ms,
        last_checked_at: status.last_checked_at,
        uptime,
        bars: days.bars,
        daily_latency: days.daily_latency,
        latency_30d: percentiles(&days.sketch_30),
        checks_30d: days.checks_30d,
        measure: c
            .probe
            .measure()
            .filter(|m| !m.starts_with("latency"))
            .map(str::to_owned),
        daily_value: days.daily_value,
        incidents: touching_incidents(mine, incidents, ids),
    }
}

/// The state shown for a component and its detail line: the observed state as open incidents
/// and maintenance windows override it, with their note in front of the probe's detail.
fn shown_state<'a>(
    id: &str,
    status: Option<&CurrentStatus>,
    incidents: impl IntoIterator<Item = &'a Incident>,
    now: DateTime<Utc>,
) -> (Option<ComponentState>, String) {
    match status {
        Some(status) => {
            let (state, note) = lifecycle::apply(id, status.state, incidents, now);
            let detail = match note {
                Some(note) if state != status.state => format!("{note} {}", status.detail),
                _ => status.detail.clone(),
            };
            (Some(state), detail)
        }
        // Never observed: no state of its own, only what an open incident or window declares.
        None => match lifecycle::apply(id, ComponentState::Operational, incidents, now) {
            (declared, Some(note)) if declared != ComponentState::Operational => {
                (Some(declared), format!("{note} Not observed yet."))
            }
            _ => (None, "Not observed yet.".to_owned()),
        },
    }
}

/// A component's exact recent timelines: as shown (incidents and windows overlaid) and as
/// measured.
struct Timelines<'a> {
    shown: &'a [Segment],
    measured: &'a [Segment],
}

impl Timelines<'_> {
    /// (shown, measured, coverage) over the last `hours`.
    fn figure(
        &self,
        hours: i64,
        now: DateTime<Utc>,
        min_coverage: f64,
    ) -> (Option<f64>, Option<f64>, f64) {
        let since = now - chrono::Duration::hours(hours);
        let window = (hours * 3600) as f64;
        let seconds = |timeline| crate::history::rollup::timeline_seconds(timeline, since, now);
        let (shown, coverage) = figure(&seconds(self.shown), window, min_coverage);
        let (measured, _) = figure(&seconds(self.measured), window, min_coverage);
        (shown, measured, coverage)
    }
}

/// Seconds in the calendar window of the last `days` (rollups are per UTC day): today so far
/// and the whole days before.
fn days_window(now: DateTime<Utc>, days: u32) -> f64 {
    let today_start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |t| t.and_utc());
    (now - today_start).num_milliseconds() as f64 / 1000.0
        + f64::from(days.saturating_sub(1)) * 86_400.0
}

/// What a component's daily rollups of the last [`BAR_DAYS`] days add up to.
struct DailyFigures {
    bars: Vec<DayBar>,
    daily_latency: Vec<(chrono::NaiveDate, Percentiles)>,
    daily_value: Vec<(chrono::NaiveDate, Option<ValueDay>)>,
    sketch_30: Sketch,
    checks_30d: u64,
    maintenance_s: f64,
    /// (shown, measured) seconds over the last 30 days.
    month_s: (StateSeconds, StateSeconds),
    /// (shown, measured) seconds over the last 90 days.
    quarter_s: (StateSeconds, StateSeconds),
}

/// Reads a component's daily rollups, oldest day first, into bars and window totals.
fn daily_figures(
    id: &str,
    declared: &declared::Declared,
    history: Figures<'_>,
    now: DateTime<Utc>,
    min_coverage: f64,
) -> DailyFigures {
    let today = now.date_naive();
    let mut f = DailyFigures {
        bars: Vec::with_capacity(BAR_DAYS as usize),
        daily_latency: Vec::with_capacity(BAR_DAYS as usize),
        daily_value: Vec::with_capacity(BAR_DAYS as usize),
        sketch_30: Sketch::default(),
        checks_30d: 0,
        maintenance_s: 0.0,
        month_s: (StateSeconds::default(), StateSeconds::default()),
        quarter_s: (StateSeconds::default(), StateSeconds::default()),
    };
    for back in (0..BAR_DAYS).rev() {
        let Some(day) = today.checked_sub_days(chrono::Days::new(u64::from(back))) else {
            continue;
        };
        let rollup = history.day_rollup(id, day);
        // A date, not its text: 90 days × every component were 180,000 formatted strings.
        let date = day;
        let (state, uptime, p) = match &rollup {
            Some(r) => {
                let shown = declared.day_seconds(r);
                f.maintenance_s += shown.under_maintenance;
                if back < 30 {
                    f.sketch_30.merge(&r.latency);
                    f.checks_30d += r.checks;
                    f.month_s.0.merge(&shown);
                    f.month_s.1.merge(&r.seconds);
                }
                f.quarter_s.0.merge(&shown);
                f.quarter_s.1.merge(&r.seconds);
                // Today is judged on its hours so far; a bar's figure obeys the same
                // minimum coverage as the windows.
                let window = if back == 0 {
                    days_window(now, 1)
                } else {
                    86_400.0
                };
                let (uptime, _) = figure(&shown, window, min_coverage);
                (declared.day_worst(r), uptime, percentiles(&r.latency))
            }
            None => (None, None, Percentiles::default()),
        };
        f.bars.push(DayBar {
            date,
            state,
            uptime,
        });
        let value = rollup.as_ref().and_then(|r| {
            r.value.mean().map(|mean| ValueDay {
                min: r.value.min,
                mean,
                max: r.value.max,
                samples: r.value.count,
            })
        });
        f.daily_value.push((date, value));
        f.daily_latency.push((date, p));
    }
    f
}

/// Uptime over the last day and week (from the exact timelines) and 30 and 90 days (from the
/// daily rollups), shown and measured.
fn uptime(
    timelines: &Timelines<'_>,
    days: &DailyFigures,
    now: DateTime<Utc>,
    min_coverage: f64,
) -> Uptime {
    let (day, day_measured, day_coverage) = timelines.figure(24, now, min_coverage);
    let (week, week_measured, week_coverage) = timelines.figure(24 * 7, now, min_coverage);
    let (month, month_coverage) = figure(&days.month_s.0, days_window(now, 30), min_coverage);
    let (month_measured, _) = figure(&days.month_s.1, days_window(now, 30), min_coverage);
    let (quarter, quarter_coverage) = figure(&days.quarter_s.0, days_window(now, 90), min_coverage);
    let (quarter_measured, _) = figure(&days.quarter_s.1, days_window(now, 90), min_coverage);
    Uptime {
        day,
        week,
        month,
        quarter,
        coverage: Coverage {
            day: day_coverage,
            week: week_coverage,
            month: month_coverage,
            quarter: quarter_coverage,
        },
        maintenance_hours_90d: (days.maintenance_s / 3600.0 * 10.0).round() / 10.0,
        measured: MeasuredUptime {
            day: day_measured,
            week: week_measured,
            month: month_measured,
            quarter: quarter_measured,
        },
    }
}

/// The public ids of the incidents that name a component, newest first.
fn touching_incidents(
    mine: &[usize],
    incidents: &[Incident],
    ids: &[(String, Vec<String>)],
) -> Vec<String> {
    let mut list: Vec<(usize, &Incident)> = mine.iter().map(|&n| (n, &incidents[n])).collect();
    list.sort_by_key(|(_, i)| std::cmp::Reverse(i.started_at()));
    list.iter().map(|(n, _)| ids[*n].0.clone()).collect()
}

/// The site's own facts from `[site]` and the rest of the config.
fn site_view(config: &Config) -> SiteView {
    SiteView {
        title: config.site.title.0.clone(),
        description: config.site.description.0.clone(),
        base_url: config.site.base_url.trim_end_matches('/').to_owned(),
        security_contact: config.site.security_contact.as_ref().map(|s| s.0.clone()),
        poll_interval_secs: config.site.poll_interval.std().as_secs().max(1),
        incident_window_days: config.site.incident_window.chrono().num_days(),
        uptime_min_coverage: config.site.uptime_min_coverage.fraction(),
        timezone: config.site.time_zone().name().to_owned(),
        live_traffic: config.snapshot.is_some(),
        on_call: config
            .components
            .iter()
            .any(|c| config.is_paged(&c.id) == Some(true)),
        logo: config.site.logo.clone(),
    }
}

/// The incident and maintenance lists of a [`Snapshot`].
struct IncidentLists {
    recent: Vec<IncidentView>,
    all_incidents: Vec<IncidentView>,
    maintenance: Vec<IncidentView>,
    all_maintenance: Vec<IncidentView>,
}

/// Every incident's view, newest first, sorted into the [`Snapshot`]'s lists: recent ones are
/// open or started or resolved since `window_start`.
fn incident_lists(
    incidents: &[Incident],
    ids: &[(String, Vec<String>)],
    now: DateTime<Utc>,
    window_start: DateTime<Utc>,
) -> IncidentLists {
    // Each view copies its incident's texts: 10,000 of them on every core.
    let pairs: Vec<_> = incidents.iter().zip(ids).collect();
    let mut views: Vec<IncidentView> =
        crate::parallel::map(&pairs, crate::parallel::threads(), |(i, (id, aliases))| {
            incident_view(i, id.clone(), aliases.clone(), now)
        });
    views.sort_by(|a, b| {
        b.started_at
            .cmp(&a.started_at)
            .then_with(|| a.slug.cmp(&b.slug))
    });
    // Moved, not cloned: 10,000 views with their bodies were a noticeable part of a build.
    let (all_incidents, all_maintenance): (Vec<IncidentView>, Vec<IncidentView>) =
        views.into_iter().partition(|i| i.kind == Kind::Incident);
    let recent: Vec<IncidentView> = all_incidents
        .iter()
        .filter(|i| {
            i.active
                || i.started_at.is_some_and(|t| t >= window_start)
                || i.resolved_at.is_some_and(|t| t >= window_start)
        })
        .cloned()
        .collect();
    let mut maintenance: Vec<IncidentView> = all_maintenance
        .iter()
        .filter(|i| {
            i.active
                || i.status == Status::Scheduled
                || i.ends_at.is_some_and(|t| t >= window_start)
        })
        .cloned()
        .collect();
    maintenance.sort_by_key(maintenance_order);
    IncidentLists {
        recent,
        all_incidents,
        maintenance,
        all_maintenance,
    }
}

/// Sort key of the maintenance list: active first, then upcoming (soonest first), then past
/// (newest first).
fn maintenance_order(i: &IncidentView) -> (u8, i64) {
    let rank = match i.status {
        Status::InProgress => 0,
        Status::Scheduled => 1,
        _ => 2,
    };
    let t = i.starts_at.map_or(0, |t| t.timestamp());
    (rank, if rank == 2 { -t } else { t })
}

fn percentiles(s: &Sketch) -> Percentiles {
    let round = |v: Option<f64>| v.map(|x| (x * 10.0).round() / 10.0);
    Percentiles {
        p50: round(s.quantile(0.5)),
        p95: round(s.quantile(0.95)),
        p99: round(s.quantile(0.99)),
        samples: s.count(),
    }
}

/// Groups in first-appearance order; inside each, failures first (seed: "sort by state so
/// failures bubble up"), config order otherwise.
///
/// Linear in components: finding each group and each member's state by scanning was quadratic
/// (a tenth of a 2,000-component run's build).
fn group(components: &[ComponentView]) -> Vec<GroupView> {
    let mut members: Vec<(Option<&str>, Vec<&ComponentView>)> = Vec::new();
    let mut position: HashMap<Option<&str>, usize> = HashMap::new();
    for c in components {
        let at = *position.entry(c.group.as_deref()).or_insert_with(|| {
            members.push((c.group.as_deref(), Vec::new()));
            members.len() - 1
        });
        members[at].1.push(c);
    }
    members
        .into_iter()
        .map(|(name, mut list)| {
            // Stable: equal severities keep config order.
            list.sort_by_key(|c| std::cmp::Reverse(c.state.map_or(1, |s| s.severity())));
            GroupView {
                name: name.map(str::to_owned),
                state: roll_up_shown(list.iter().map(|c| c.state)),
                components: list.iter().map(|c| c.id.clone()).collect(),
            }
        })
        .collect()
}

/// `private-` and 16 hex digits of HMAC-SHA256(key, file stem): stable while the file keeps its
/// name and the history store its key, and not computable from a guessed name without the key
/// (see [`History::private_id_key`]).
fn private_id(key: &[u8], stem: &str) -> String {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return String::new(); // HMAC takes keys of any length
    };
    mac.update(stem.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex = hex::encode(&digest[..8]);
    format!("private-{hex}")
}

/// Each incident's (public id, aliases: see [`IncidentView::aliases`]), in input order.
///
/// A private incident's id depends only on the key and its own file name, and a public one's
/// only on its own (already unique, see `incident::load_dir`) slug, so making one incident
/// private changes no other address. A public slug that happens to equal a private id (a file
/// named like one) gets a suffix: two pages never share an address.
pub fn public_ids(incidents: &[Incident], history: &mut History) -> Vec<(String, Vec<String>)> {
    let any_private = incidents.iter().any(|i| i.private);
    let key = if incidents.is_empty() {
        None
    } else {
        history.private_id_key(any_private)
    };
    let private_ids: Vec<Option<String>> = incidents
        .iter()
        .enumerate()
        .map(|(n, i)| match &key {
            Some(key) => Some(private_id(key, &i.file_stem())),
            // No key and no random source: an id that says nothing, for this run only.
            None if i.private => Some(format!("private-{n}")),
            None => None,
        })
        .collect();
    let taken: std::collections::HashSet<&str> = incidents
        .iter()
        .zip(&private_ids)
        .filter(|(i, _)| i.private)
        .filter_map(|(_, id)| id.as_deref())
        .collect();
    let public_slug = |i: &Incident| {
        if taken.contains(i.slug.as_str()) {
            format!(
                "{}-{}",
                i.slug,
                crate::incident::stem_suffix(&i.file_stem())
            )
        } else {
            i.slug.clone()
        }
    };
    incidents
        .iter()
        .zip(&private_ids)
        .map(|(i, private)| {
            let (id, other) = if i.private {
                (private.clone().unwrap_or_default(), Some(public_slug(i)))
            } else {
                (public_slug(i), private.clone())
            };
            let mut aliases: Vec<String> = other.into_iter().collect();
            let stem = i.file_stem();
            if stem != id && !aliases.contains(&stem) {
                aliases.push(stem);
            }
            (id, aliases)
        })
        .collect()
}

fn incident_view(
    i: &Incident,
    id: String,
    aliases: Vec<String>,
    now: DateTime<Utc>,
) -> IncidentView {
    let status = i.status_at(now);
    let started = i.started_at();
    let ended = i.ended_at(now);
    let duration_minutes = started.map(|s| (ended.unwrap_or(now) - s).num_minutes().max(0));
    let title = if i.private {
        match i.kind {
            Kind::Incident => "Private incident".to_owned(),
            Kind::Maintenance => "Private maintenance".to_owned(),
        }
    } else {
        i.title.clone()
    };
    let mut view = IncidentView {
        slug: id,
        aliases,
        kind: i.kind,
        private: i.private,
        title,
        severity: i.severity.map(|s| s.as_str()),
        status,
        active: i.is_active(now),
        impact: i.forced_state(now).or(i.impact),
        components: i.components.clone(),
        discovered_at: i.discovered_at,
        contained_at: i.contained_at,
        resolved_at: i.resolved_at,
        starts_at: i.starts_at,
        ends_at: i.ends_at,
        started_at: started,
        updated_at: i.updated_at(),
        duration_minutes,
        suppress_pages: i.suppress_pages,
        updates: i
            .updates
            .iter()
            .map(|u| UpdateView {
                at: u.at,
                status: u.status,
                // Already empty in a private incident (`incident::parse`); blanked here too.
                message_html: if i.private {
                    String::new()
                } else {
                    u.message_html.clone()
                },
            })
            .collect(),
        body_html: if i.private {
            String::new()
        } else {
            i.body_html.clone()
        },
        fingerprint: [0; 32],
    };
    view.fingerprint = IncidentView::fingerprint_of(&i.source, &view);
    view
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list that prints no incident text gets summaries: they must serialise as the views,
    /// less the texts and nothing else (a field added to the view and not to the summary would
    /// silently go missing from component and history pages).
    #[test]
    fn a_summary_serialises_as_its_view_without_the_texts() {
        let texts = [
            "---\ntitle: \"Slow <api> & co\"\nseverity: major\nstatus: resolved\ncomponents: [api, web]\nimpact: partial_outage\ndiscovered_at: 2026-01-01T10:00:00Z\ncontained_at: 2026-01-01T10:30:00Z\nresolved_at: 2026-01-01T11:00:00Z\nupdates:\n  - at: 2026-01-01T10:00:00Z\n    status: investigating\n    message: Looking *into* it.\n---\n## Root cause\nA **bad** deploy.\n",
            "---\ntitle: Upgrade\nkind: maintenance\nstatus: scheduled\ncomponents: [api]\nstarts_at: 2026-02-01T10:00:00Z\nends_at: 2026-02-01T12:00:00Z\n---\nRolling restart.\n",
            "---\ntitle: Secret\nseverity: minor\nstatus: investigating\ncomponents: [web]\ndiscovered_at: 2026-01-05T10:00:00Z\nprivate: true\n---\nInternal.\n",
        ];
        let now = "2026-01-20T00:00:00Z".parse().unwrap();
        for (n, text) in texts.iter().enumerate() {
            let path = std::path::PathBuf::from(format!("incidents/{n}.md"));
            let incident = crate::incident::parse(&path, text, &["api", "web"]).unwrap();
            let view = incident_view(&incident, format!("i-{n}"), Vec::new(), now);
            let mut full = serde_json::to_value(&view).unwrap();
            let removed = full.as_object_mut().map(|o| {
                (
                    o.remove("body_html").is_some(),
                    o.remove("updates").is_some(),
                )
            });
            assert_eq!(removed, Some((true, true)), "{full}");
            assert_eq!(
                serde_json::to_value(view.summary()).unwrap(),
                full,
                "{text}"
            );
        }
    }
}
