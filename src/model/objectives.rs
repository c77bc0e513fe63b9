//! The "How we run the service" table, generated from the config so it can never drift from the
//! thresholds the probes really use, nor from what really pages (components' `page*` rules,
//! objectives' burn-rate alerts).

use serde::Serialize;

use crate::config::objective::BurnSeverity;
use crate::config::{Component, Config, ObjectiveConfig, PageWhen};
use crate::probe::ProbeSpec;

/// One row of the objectives table.
#[derive(Debug, Clone, Serialize)]
pub struct Objective {
    pub component: String,
    pub label: String,
    /// "< 200 ms", "Heartbeat < 60s", or "—".
    pub target: String,
    /// When on-call is paged (the state turns down).
    pub page_when: String,
}

/// Rows in page order: each component, then each objective with burn-rate alerts.
pub fn from_config(config: &Config) -> Vec<Objective> {
    config
        .components
        .iter()
        .map(|c| {
            let mut o = row(c);
            o.page_when = paging_rule(config, c, &o.page_when);
            o
        })
        .chain(config.objectives.iter().filter_map(burn_row))
        .collect()
}

/// An objective's row: its promise, and the burn rates that page (or file a ticket), as
/// [`crate::notify`] sends them. None without burn alerts: the objective pages no one.
fn burn_row(o: &ObjectiveConfig) -> Option<Objective> {
    if o.burn_alerts.0.is_empty() {
        return None;
    }
    let rules = |severity| {
        o.burn_alerts
            .0
            .iter()
            .filter(|r| r.severity == severity)
            .map(|r| format!("{} of the budget in {} (and {})", r.budget, r.long, r.short))
            .collect::<Vec<_>>()
            .join(", or ")
    };
    let mut page_when = match rules(BurnSeverity::Page) {
        pages if pages.is_empty() => String::new(),
        pages => format!("Error budget burns {pages}"),
    };
    let tickets = rules(BurnSeverity::Ticket);
    if !tickets.is_empty() {
        if !page_when.is_empty() {
            page_when.push_str("; ");
        }
        page_when.push_str(&format!("a ticket when it burns {tickets}"));
    }
    Some(Objective {
        component: format!("objective-{}", crate::text::slugify(&o.name)),
        label: o.name.clone(),
        target: format!("> {} over {}", o.target, o.window),
        page_when,
    })
}

/// "Page on-call when", from the component's own paging rule (`page_when`, `page_after`) and
/// the routing, the same ones `notify` pages by. `down` is the probe's condition for down.
/// Without any paging target the page says so rather than promise a page no one sends.
fn paging_rule(config: &Config, c: &Component, down: &str) -> String {
    match config.is_paged(&c.id) {
        Some(false) => return "Not paged: shown on this page only".to_owned(),
        None => return format!("Not paged: shown on this page only (down when: {down})"),
        Some(true) => {}
    }
    let mut rule = match c.page.when {
        PageWhen::Down => down.to_owned(),
        PageWhen::Degraded => {
            let mut ways = Vec::new();
            if let Some(target) = c.latency_target {
                ways.push(format!("latency > {} ms", target.as_millis()));
            }
            if c.fail_after > 1 {
                ways.push("a check fails".to_owned());
            }
            ways.push(down.to_owned());
            format!("Degraded or down: {}", ways.join(", or "))
        }
    };
    if c.page.after.std() > std::time::Duration::ZERO {
        rule.push_str(&format!(" (held for {})", c.page.after));
    }
    rule
}

fn consecutive(c: &Component) -> String {
    if c.fail_after <= 1 {
        "Probe fails".to_owned()
    } else {
        format!("Probe fails {} consecutive checks", c.fail_after)
    }
}

fn row(c: &Component) -> Objective {
    let latency = c
        .latency_target
        .map(|t| format!("< {} ms (p95)", t.as_millis()));
    let (target, page_when) = match &c.probe {
        ProbeSpec::Redis(r) => {
            let mut when = format!("{} or PING fails", consecutive(c));
            if let Some(after) = r.slow_after {
                when = format!(
                    "PING fails or RTT > {} ms for {after}",
                    r.slow_limit.as_millis()
                );
            }
            (latency, when)
        }
        ProbeSpec::Heartbeat(h) => (
            Some(format!("Heartbeat < {}", h.max_age)),
            format!("Heartbeat older than {}", h.down_after),
        ),
        ProbeSpec::Workers(w) => {
            let mut when = format!("Any worker stale > {}", w.down_after);
            if w.failed_jobs.is_some() {
                when.push_str(&format!(", or failed-job depth > {}", w.failed_jobs_above));
            }
            (Some(format!("Heartbeat < {} per worker", w.max_age)), when)
        }
        ProbeSpec::Push(p) => (
            Some("Provider config valid".to_owned()),
            format!(
                "Outbox backlog grows for {} straight",
                p.outbox_growth_window
            ),
        ),
        ProbeSpec::Tls(t) => (
            Some(format!("Certificate valid > {} days", t.warn_days)),
            "Certificate expired or invalid".to_owned(),
        ),
        ProbeSpec::Storage(_) => (
            latency.or(Some(format!("Reachability check < {}", c.timeout))),
            consecutive(c),
        ),
        _ => (latency, consecutive(c)),
    };
    // The thresholds on the kind's main value join whatever the kind itself promises.
    let limits = c
        .probe
        .measure()
        .and_then(|what| c.thresholds.describe(what));
    let target = match (target, limits) {
        (Some(t), Some(l)) => Some(format!("{t}; {l}")),
        (t, l) => t.or(l),
    };
    let page_when = match (
        c.probe.measure(),
        c.thresholds.down_above,
        c.thresholds.down_below,
    ) {
        (Some(what), Some(above), _) => format!(
            "{page_when}, or {what} > {}",
            crate::probe::thresholds::number(above)
        ),
        (Some(what), None, Some(below)) => format!(
            "{page_when}, or {what} < {}",
            crate::probe::thresholds::number(below)
        ),
        _ => page_when,
    };
    Objective {
        component: c.id.clone(),
        label: c.label.clone(),
        target: target.unwrap_or_else(|| "—".to_owned()),
        page_when,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_show_in_the_target_and_the_paging_rule() {
        let text = "[[component]]\nid = \"q\"\nlabel = \"Jobs\"\nkind = \"amqp\"\nurl = \"amqp://h\"\nqueue = \"jobs\"\ndegraded_above = 1000\ndown_above = 10000\n";
        let config =
            Config::parse(text, std::path::Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
        let rows = from_config(&config);
        assert_eq!(rows[0].target, "queue depth: degraded > 1000, down > 10000");
        assert_eq!(
            rows[0].page_when,
            "Not paged: shown on this page only (down when: Probe fails, or queue depth > 10000)"
        );
    }

    #[test]
    fn objectives_with_burn_alerts_get_a_row_saying_what_pages() {
        let text = "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"h:1\"\n\n\
            [[objective]]\nname = \"Availability\"\ncomponents = [\"api\"]\ntarget = \"99.9%\"\nburn_alerts = true\n\n\
            [[objective]]\nname = \"Quiet\"\ncomponents = [\"api\"]\ntarget = \"99%\"\n\n\
            [[notify]]\nkind = \"pagerduty\"\nrouting_key = \"k\"\n";
        let config =
            Config::parse(text, std::path::Path::new("t.toml")).unwrap_or_else(|e| panic!("{e}"));
        let rows = from_config(&config);
        assert_eq!(
            rows.len(),
            2,
            "the objective without burn alerts pages no one: no row"
        );
        assert_eq!(rows[0].page_when, "Probe fails");
        assert_eq!(rows[1].label, "Availability");
        assert_eq!(rows[1].target, "> 99.9% over 30d");
        assert_eq!(
            rows[1].page_when,
            "Error budget burns 2% of the budget in 1h (and 5m), or 5% of the budget in 6h (and 30m); \
             a ticket when it burns 10% of the budget in 3d (and 6h)"
        );
    }
}
