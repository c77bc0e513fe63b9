//! What the front page and the header need beyond the snapshot's own fields: counts for the
//! banner and each group, which incidents are ongoing, which objective rows say something, and
//! the content pages for the navigation. Counting only; every fact comes from the snapshot.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::model::{ComponentView, IncidentView, Objective, Snapshot};
use crate::state::ComponentState;

/// Components per shown state, for "3 of 200 components down".
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    pub total: usize,
    pub operational: usize,
    /// Degraded performance or partial outage.
    pub degraded: usize,
    /// Major outage.
    pub down: usize,
    pub maintenance: usize,
    pub no_data: usize,
    /// The counts a reader should hear about, worst first, zeros left out:
    /// `[("down", 3), ("degraded", 1)]` for "3 of 200 components down, 1 degraded".
    pub attention: Vec<Part>,
}

/// One non-zero count of [`Counts::attention`]; `key` names the `count_<key>` string.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Part {
    pub key: &'static str,
    pub n: usize,
}

impl Counts {
    pub fn of<'a>(components: impl IntoIterator<Item = &'a ComponentView>) -> Self {
        let mut n = Counts::default();
        for c in components {
            n.total += 1;
            match c.state {
                Some(ComponentState::Operational) => n.operational += 1,
                Some(ComponentState::DegradedPerformance | ComponentState::PartialOutage) => {
                    n.degraded += 1
                }
                Some(ComponentState::MajorOutage) => n.down += 1,
                Some(ComponentState::UnderMaintenance) => n.maintenance += 1,
                None => n.no_data += 1,
            }
        }
        n.attention = [
            ("down", n.down),
            ("degraded", n.degraded),
            ("maintenance", n.maintenance),
            ("no_data", n.no_data),
        ]
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .map(|(key, n)| Part { key, n })
        .collect();
        n
    }

    /// Anything a reader should see without opening the group.
    fn needs_attention(&self) -> bool {
        self.operational < self.total
    }
}

/// A group of the front page, collapsible; open when anything in it is not operational.
#[derive(Serialize)]
pub struct Group<'a> {
    pub name: &'a Option<String>,
    #[serde(serialize_with = "crate::state::serialize_shown")]
    pub state: Option<ComponentState>,
    pub components: Vec<&'a ComponentView>,
    pub counts: Counts,
    pub open: bool,
}

/// The groups in page order, with their components and counts.
pub fn groups<'a>(
    snapshot: &'a Snapshot,
    by_id: &BTreeMap<&str, &'a ComponentView>,
) -> Vec<Group<'a>> {
    snapshot
        .groups
        .iter()
        .map(|g| {
            let components: Vec<&ComponentView> = g
                .components
                .iter()
                .filter_map(|id| by_id.get(id.as_str()).copied())
                .collect();
            let counts = Counts::of(components.iter().copied());
            Group {
                name: &g.name,
                state: g.state,
                open: counts.needs_attention(),
                components,
                counts,
            }
        })
        .collect()
}

/// Incidents still open, for the callout under the banner.
pub fn ongoing(snapshot: &Snapshot) -> Vec<&IncidentView> {
    snapshot.incidents.iter().filter(|i| i.active).collect()
}

/// Incidents of the window that are over, for "Recent incidents".
pub fn past(snapshot: &Snapshot) -> Vec<&IncidentView> {
    snapshot.incidents.iter().filter(|i| !i.active).collect()
}

/// Objective rows that say something: a real target ("< 200 ms"), or, where paging is
/// configured, the rule that pages for the component. A row of "—" and the probe's own failure
/// condition is filler (the "How we run" table of 200 such rows).
pub fn objectives_with_targets(snapshot: &Snapshot) -> Vec<&Objective> {
    snapshot
        .objectives
        .iter()
        .filter(|o| {
            let target = o.target != "—" && !o.target.is_empty();
            let paged = snapshot.site.on_call && !o.page_when.starts_with("Not paged");
            target || paged
        })
        .collect()
}

/// A content page in the header navigation.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct NavPage {
    pub slug: String,
    pub title: String,
}

/// The page name (`about` for `content/about.md`); `None` for names that make no page.
pub fn page_slug(path: &Path) -> Option<(String, String)> {
    let stem = path.file_stem()?.to_string_lossy().into_owned();
    let slug = crate::text::slugify(&stem);
    (!slug.is_empty() && slug != "index").then_some((slug, stem))
}

/// A content page's title (front matter `title:`, else its file name in words) and its body.
pub fn page_title<'t>(text: &'t str, stem: &str) -> (String, &'t str) {
    let (title, body) = match crate::incident::front_matter::split(text) {
        Ok(split) => {
            let title = split
                .front
                .lines()
                .find_map(|l| l.strip_prefix("title:"))
                .map(|t| t.trim().trim_matches('"').to_owned());
            (title, split.body)
        }
        Err(_) => (None, text),
    };
    (title.unwrap_or_else(|| stem.replace(['-', '_'], " ")), body)
}

/// The content pages of `dir` (`content/*.md`), by name, for the header: the same files and
/// the same refusal of links out of the folder as [`super::Renderer::content_pages`].
pub fn nav_pages(dir: &Path) -> Vec<NavPage> {
    let folder = crate::inputs::InputFolder::new(dir);
    let mut pages: Vec<NavPage> = folder
        .walk_top(dir)
        .files
        .into_iter()
        .map(|f| f.path)
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .filter_map(|path| {
            let (slug, stem) = page_slug(&path)?;
            let text = folder.read_to_string(&path).ok()??;
            let (title, _) = page_title(&text, &stem);
            Some(NavPage { slug, title })
        })
        .collect();
    pages.sort_by(|a, b| a.slug.cmp(&b.slug));
    pages
}

/// The items of a component page's 90-day strip (`<li>` per day: its state, uptime and the
/// incidents open that day), as the default theme's `partials/bars.html` prints them.
///
/// Made here rather than by a loop in the template: 90 days of lookups, filters and escaping
/// were most of the time Tera spent on a component page, and a run renders every component
/// page (each says when it was last checked). A theme that overrides the partial still has
/// `c.bars` and `page.day_incidents`. `label` gives a theme string by key.
pub fn day_strip<'a>(
    bars: &[crate::model::DayBar],
    day_incidents: &[Vec<&str>],
    label: impl Fn(&'static str) -> &'a str,
) -> String {
    // The characters Tera's autoescape replaced, replaced the same way.
    use crate::text::push_html_escaped as escaped;
    let mut out = String::with_capacity(bars.len() * 96);
    for (n, b) in bars.iter().enumerate() {
        let key = b.state.map(|s| crate::state::words(Some(s)).key);
        out.push_str("<li class=\"");
        out.push_str(super::filters::state_class(key));
        out.push_str("\" tabindex=\"0\"><span class=\"tip vh\">");
        out.push_str(&b.date.to_string());
        out.push_str(": ");
        match key {
            Some(key) => {
                escaped(&mut out, label(key));
                // As the template saw it: a figure that is not finite was `null` in JSON.
                if let Some(uptime) = b.uptime.filter(|u| u.is_finite()) {
                    out.push_str(", ");
                    escaped(&mut out, &super::filters::pct(uptime));
                }
            }
            None => escaped(&mut out, label("no_data")),
        }
        let seen = day_incidents.get(n).map_or(&[][..], Vec::as_slice);
        if !seen.is_empty() {
            out.push_str("; ");
            out.push_str(&seen.len().to_string());
            out.push(' ');
            escaped(&mut out, label("day_incidents"));
            out.push_str(": ");
            escaped(&mut out, &seen.join("; "));
        }
        out.push_str("</span></li>");
    }
    out
}

/// For each day of `bars` (oldest first), the titles of the incidents and maintenance in
/// `touching` that were open some time that day (UTC days, as the bars are), for the per-day
/// detail of the component page.
pub fn day_incidents<'a>(
    bars: &[crate::model::DayBar],
    touching: &[&'a IncidentView],
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<Vec<&'a str>> {
    bars.iter()
        .map(|b| {
            let from = b.date.and_time(chrono::NaiveTime::MIN).and_utc();
            let to = from + chrono::Duration::days(1);
            touching
                .iter()
                .filter(|i| {
                    let Some(start) = i.started_at else {
                        return false;
                    };
                    let end = i.resolved_at.or(i.ends_at).unwrap_or(now);
                    start < to && end >= from
                })
                .map(|i| i.title.as_str())
                .collect()
        })
        .collect()
}
