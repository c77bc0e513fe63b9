//! When a component pages whom: each component's `page`, `page_when` and `page_after`, and the
//! routing rule for targets no component names. Kept here, beside the config, because both
//! notifications (who gets an event) and the page's "How we run the service" table (what it
//! promises) read the same rule: the table cannot drift from what really pages.

use serde::Deserialize;

use super::objective::BurnSeverity;
use super::{Config, Duration};

/// When a component pages its targets.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PageWhen {
    /// Major outage only.
    #[default]
    Down,
    /// Degraded performance, partial or major outage.
    Degraded,
}

/// A component's paging rule: `page`, `page_when`, `page_after`.
#[derive(Debug, Clone, Default)]
pub struct PageRule {
    /// Names of `[[notify]]` targets this component pages; when empty, only paging targets
    /// that no component names page for it (see [`Config::notify_route`]).
    pub targets: Vec<String>,
    pub when: PageWhen,
    /// How long the condition must hold before the page goes out.
    pub after: Duration,
}

/// Which events a `[[notify]]` target gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Every state change and incident update (a chat target no component names).
    Everything,
    /// Pages (trigger, resolve) for these component ids, by their rules.
    Pages(Vec<String>),
}

impl Config {
    /// Whether some component's `page` or some objective's `page`/`ticket` names `name`.
    fn is_named(&self, name: &str) -> bool {
        self.components
            .iter()
            .any(|c| c.page.targets.iter().any(|t| t == name))
            || self
                .objectives
                .iter()
                .any(|o| o.page.iter().chain(&o.ticket).any(|t| t == name))
    }

    /// Whether `self.notify[index]` takes the pages no one routes: a paging kind that no
    /// component or objective names.
    fn is_default_pager(&self, index: usize) -> bool {
        self.notify.get(index).is_some_and(|t| {
            t.target.notifier().pages() && t.name.as_deref().is_none_or(|n| !self.is_named(n))
        })
    }

    /// Whether any target takes the pages no one routes (see [`Config::burn_route`]).
    pub fn has_default_pager(&self) -> bool {
        (0..self.notify.len()).any(|i| self.is_default_pager(i))
    }

    /// The burn alerts `self.notify[index]` gets, as (objective index, rule index): an
    /// objective's `ticket` targets get its ticket rules when it names some, its `page` targets
    /// get the others (all of them without `ticket`), and an objective naming no target sends
    /// them to every paging kind that nothing names.
    pub fn burn_route(&self, index: usize) -> Vec<(usize, usize)> {
        let Some(target) = self.notify.get(index) else {
            return Vec::new();
        };
        let default = self.is_default_pager(index);
        let mut out = Vec::new();
        for (o_index, o) in self.objectives.iter().enumerate() {
            for (r_index, rule) in o.burn_alerts.0.iter().enumerate() {
                let named = if rule.severity == BurnSeverity::Ticket && !o.ticket.is_empty() {
                    &o.ticket
                } else {
                    &o.page
                };
                let routed = if named.is_empty() {
                    default
                } else {
                    target.name.as_ref().is_some_and(|n| named.contains(n))
                };
                if routed {
                    out.push((o_index, r_index));
                }
            }
        }
        out
    }

    /// The route of `self.notify[index]`:
    /// - named in some component's `page`: pages for exactly those components, any kind;
    /// - else named only by objectives: no component pages (burn alerts only, any kind);
    /// - else a paging kind (PagerDuty, Opsgenie, Alertmanager): pages for every component;
    /// - else (chat): every event.
    pub fn notify_route(&self, index: usize) -> Route {
        let Some(target) = self.notify.get(index) else {
            return Route::Pages(Vec::new());
        };
        let naming: Vec<String> = match &target.name {
            Some(name) => self
                .components
                .iter()
                .filter(|c| c.page.targets.iter().any(|t| t == name))
                .map(|c| c.id.clone())
                .collect(),
            None => Vec::new(),
        };
        if !naming.is_empty() {
            Route::Pages(naming)
        } else if target.name.as_deref().is_some_and(|n| self.is_named(n)) {
            Route::Pages(Vec::new())
        } else if target.target.notifier().pages() {
            Route::Pages(self.components.iter().map(|c| c.id.clone()).collect())
        } else {
            Route::Everything
        }
    }

    /// Whether any target pages for `component`; `None` when no target pages at all (on-call
    /// is then paged by something outside Upstate, and the page cannot say).
    pub fn is_paged(&self, component: &str) -> Option<bool> {
        let routes: Vec<Route> = (0..self.notify.len())
            .map(|i| self.notify_route(i))
            .filter(|r| matches!(r, Route::Pages(ids) if !ids.is_empty()))
            .collect();
        if routes.is_empty() {
            return None;
        }
        Some(
            routes
                .iter()
                .any(|r| matches!(r, Route::Pages(ids) if ids.iter().any(|id| id == component))),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_targets_page_their_components_and_unnamed_ones_follow_their_kind() {
        let config = Config::parse(
            "[[component]]\nid = \"api\"\nlabel = \"API\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\npage = [\"chat\"]\n\n\
             [[component]]\nid = \"docs\"\nlabel = \"Docs\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\n\n\
             [[notify]]\nname = \"chat\"\nkind = \"slack\"\nurl = \"http://127.0.0.1:9/a\"\n\n\
             [[notify]]\nkind = \"slack\"\nurl = \"http://127.0.0.1:9/b\"\n\n\
             [[notify]]\nname = \"pd\"\nkind = \"pagerduty\"\nrouting_key = \"k\"\n",
            std::path::Path::new("upstate.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.notify_route(0), Route::Pages(vec!["api".to_owned()]));
        assert_eq!(config.notify_route(1), Route::Everything);
        assert_eq!(
            config.notify_route(2),
            Route::Pages(vec!["api".to_owned(), "docs".to_owned()])
        );
        assert_eq!(config.is_paged("docs"), Some(true));
        let chat_only = Config::parse(
            "[[component]]\nid = \"docs\"\nlabel = \"Docs\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\n\n\
             [[notify]]\nkind = \"slack\"\nurl = \"http://127.0.0.1:9/b\"\n",
            std::path::Path::new("upstate.toml"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            chat_only.is_paged("docs"),
            None,
            "nothing pages: the page cannot say"
        );
    }
}
