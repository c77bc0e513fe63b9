//! Objectives' multi-window burn-rate alerts as pages (Google SRE workbook, "Alerting on SLOs").
//!
//! The rates are measured in the model ([`crate::model::BurnRate`]); this file only decides, per
//! target, which alerts open (`trigger`) and close (`resolve`) this run. An alert triggers once
//! when both its windows burn at or over its threshold, and resolves, with the same `dedup_key`,
//! on the first run they no longer do: the short window makes that soon after the burn stops.
//! What a target acknowledged is remembered in history ([`super::NotifyMemory::burning`]), so
//! two runs never page twice for the same burn.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Event, NotifyMemory, OpenPage, Page, PageAction, Plan};
use crate::config::Config;
use crate::config::objective::BurnSeverity;
use crate::model::{BurnRate, ServiceObjective};
use crate::state::ComponentState;

/// What a burn alert carries beyond a page (webhook bodies and templates see it as `burn`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BurnFacts {
    pub objective: String,
    /// `1h/5m`.
    pub rule: String,
    pub severity: BurnSeverity,
    /// The share of the window's budget the rule is about (0.02).
    pub budget: f64,
    pub threshold: f64,
    pub long_rate: Option<f64>,
    pub short_rate: Option<f64>,
    pub window_days: u32,
}

/// The id of one rule of one objective: `objective:availability:1h/5m`.
fn alert_id(objective: &ServiceObjective, rate: &BurnRate) -> String {
    format!(
        "objective:{}:{}",
        crate::text::slugify(&objective.name),
        rate.rule
    )
}

/// "15.2× over 1h and 20.0× over 5m (alert at 14.4×: 2% of the 30-day budget in 1h)".
fn detail(objective: &ServiceObjective, rate: &BurnRate) -> String {
    let shown = |r: Option<f64>| r.map_or_else(|| "no data".to_owned(), |r| format!("{r:.1}×"));
    let (long, short) = rate.rule.split_once('/').unwrap_or((&rate.rule, ""));
    format!(
        "{} over {long} and {} over {short} (alert at {:.1}×: {}% of the {}-day budget in {long})",
        shown(rate.long_rate),
        shown(rate.short_rate),
        rate.threshold,
        (rate.budget * 1000.0).round() / 10.0,
        objective.window_days
    )
}

/// The burn-alert page events the target keyed `key` needs this run; `routes` are its
/// (objective, rule) pairs from [`Config::burn_route`].
pub(super) fn pages_due(
    config: &Config,
    routes: &[(usize, usize)],
    plan: &Plan,
    memory: &NotifyMemory,
    key: &str,
    renews: bool,
) -> Vec<Event> {
    let open = memory.burning.get(key).cloned().unwrap_or_default();
    let stamp = Stamp {
        at: plan.now,
        valid_until: plan.now + super::validity(config),
        url: crate::text::uri(&format!("{}/", plan.base_url)),
    };
    let mut events = Vec::new();
    let mut routed = Vec::new();
    for &(o, r) in routes {
        let Some(alert) = Alert::routed(config, plan, o, r) else {
            continue;
        };
        routed.push(alert.id.clone());
        // On-call already works on an incident that asked not to be paged again.
        let suppressed = alert
            .objective
            .components
            .iter()
            .any(|c| plan.suppressed.contains(c));
        events.extend(alert.due(&open, suppressed, renews, &stamp));
    }
    // An alert left open for an objective or rule that is gone or routed elsewhere is closed.
    for (id, p) in open.iter().filter(|(id, _)| !routed.contains(id)) {
        events.push(unrouted_resolve(id, p, &stamp));
    }
    events
}

/// What every page of one target's run shares: when it was decided, until when a receiver
/// should keep it firing, and the status page's address.
struct Stamp {
    at: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    url: String,
}

/// One burn-alert rule of one objective, as routed to a target.
struct Alert<'a> {
    /// See [`alert_id`].
    id: String,
    objective: &'a ServiceObjective,
    rate: &'a BurnRate,
    /// Its severity: a page opens as a major outage (critical), a ticket as degraded (warning).
    opened: ComponentState,
}

impl<'a> Alert<'a> {
    /// Rule `r` of objective `o`; `None` if either is gone from the config or the model.
    fn routed(config: &Config, plan: &'a Plan, o: usize, r: usize) -> Option<Self> {
        let (Some(objective), Some(rule)) = (
            plan.objectives.get(o),
            config
                .objectives
                .get(o)
                .and_then(|c| c.burn_alerts.0.get(r)),
        ) else {
            return None;
        };
        let rate = objective.burn.get(r)?;
        Some(Self {
            id: alert_id(objective, rate),
            objective,
            rate,
            opened: match rule.severity {
                BurnSeverity::Page => ComponentState::MajorOutage,
                BurnSeverity::Ticket => ComponentState::DegradedPerformance,
            },
        })
    }

    /// The event this alert needs this run, if any: a trigger when it starts firing (unless
    /// `suppressed`), again while firing when the target `renews`, a resolve when it stops.
    fn due(
        &self,
        open: &BTreeMap<String, OpenPage>,
        suppressed: bool,
        renews: bool,
        stamp: &Stamp,
    ) -> Option<Event> {
        match (open.get(&self.id), self.rate.firing) {
            (None, true) if !suppressed => {
                let dedup_key = format!(
                    "upstate-burn-{}-{}",
                    self.id
                        .trim_start_matches("objective:")
                        .replace([':', '/'], "-"),
                    stamp.at.timestamp_millis()
                );
                Some(self.page(stamp, PageAction::Trigger, dedup_key, stamp.at))
            }
            (None, _) => None,
            (Some(p), true) if renews => {
                Some(self.page(stamp, PageAction::Trigger, p.dedup_key.clone(), p.since))
            }
            (Some(_), true) => None,
            (Some(p), false) => {
                Some(self.page(stamp, PageAction::Resolve, p.dedup_key.clone(), p.since))
            }
        }
    }

    /// The alert's page event.
    fn page(
        &self,
        stamp: &Stamp,
        action: PageAction,
        dedup_key: String,
        since: DateTime<Utc>,
    ) -> Event {
        let (objective, rate) = (self.objective, self.rate);
        Event::Page(Page {
            action,
            dedup_key,
            component: self.id.clone(),
            label: objective.name.clone(),
            state: match action {
                PageAction::Trigger => self.opened,
                PageAction::Resolve => ComponentState::Operational,
            },
            opened: self.opened,
            detail: detail(objective, rate),
            since,
            at: stamp.at,
            valid_until: stamp.valid_until,
            url: stamp.url.clone(),
            test: false,
            burn: Some(BurnFacts {
                objective: objective.name.clone(),
                rule: rate.rule.clone(),
                severity: rate.severity,
                budget: rate.budget,
                threshold: rate.threshold,
                long_rate: rate.long_rate,
                short_rate: rate.short_rate,
                window_days: objective.window_days,
            }),
        })
    }
}

/// The resolve of an alert `id` still open at the target but no longer routed to it.
fn unrouted_resolve(id: &str, p: &OpenPage, stamp: &Stamp) -> Event {
    Event::Page(Page {
        action: PageAction::Resolve,
        dedup_key: p.dedup_key.clone(),
        component: id.to_owned(),
        label: id.to_owned(),
        state: ComponentState::Operational,
        opened: p.opened,
        detail: "no longer alerted on".to_owned(),
        since: p.since,
        at: stamp.at,
        valid_until: stamp.valid_until,
        url: stamp.url.clone(),
        test: false,
        burn: Some(BurnFacts {
            objective: id.to_owned(),
            rule: id.rsplit(':').next().unwrap_or_default().to_owned(),
            severity: BurnSeverity::Page,
            budget: 0.0,
            threshold: 0.0,
            long_rate: None,
            short_rate: None,
            window_days: 0,
        }),
    })
}
