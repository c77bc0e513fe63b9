//! The "How we run the service" table, generated from the config so it can never drift from the
//! thresholds the probes really use.

use serde::Serialize;

use crate::config::{Component, Config, PageWhen};
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

/// Rows in page order.
pub fn from_config(config: &Config) -> Vec<Objective> {
    config
        .components
        .iter()
        .map(|c| {
            let mut o = row(c);
            o.page_when = paging_rule(config, c, &o.page_when);
            o
        })
        .collect()
}

/// "Page on-call when", from the component's own paging rule (`page_when`, `page_after`) and
/// the routing, the same ones `notify` pages by. `down` is the probe's condition for down.
fn paging_rule(config: &Config, c: &Component, down: &str) -> String {
    if config.is_paged(&c.id) == Some(false) {
        return "Not paged: shown on this page only".to_owned();
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
        assert_eq!(rows[0].page_when, "Probe fails, or queue depth > 10000");
    }
}
