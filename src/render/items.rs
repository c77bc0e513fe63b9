//! An incident's list entry (`partials/incident_item.html`), rendered at most once per build
//! however many lists print it, as Hugo's `partialCached` does.
//!
//! Why: an incident appears on the page of every component it touched and on its month's
//! history page; with 10,000 incidents over 200 components that is some 30,000 entries, and
//! rendering each through Tera again was a sixth of a cold build. An entry is rendered the
//! first time a page that must be rendered lists it (a build that keeps every page renders
//! none), on whichever thread gets there first; the others wait for it and share it.
//!
//! Only for the embedded partial (see `Renderer::component_page_uses_items`): it reads `i`,
//! `root` and the site-wide values, all the same on every page that lists the incident at
//! `root = "../"`, so rendering it on its own writes what an `include` would. `i.item_html`
//! is that entry at `root = "../"`: a theme's page that sets another `root` or other strings
//! before its list includes the partial instead.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::model::IncidentView;

/// The partial, by its name among the theme's templates.
pub const ITEM_PARTIAL: &str = "partials/incident_item.html";

/// The entries of one build's incidents, each made once on first use.
pub struct ItemHtml {
    /// Position of each incident's view, by its address in the snapshot: two views can share
    /// a slug (an incident and a maintenance window), never an address.
    position: HashMap<usize, usize>,
    html: Vec<OnceLock<Option<String>>>,
}

impl ItemHtml {
    /// Room for the entries of `incidents` (the snapshot's, which every list borrows from).
    pub fn new<'a>(incidents: impl Iterator<Item = &'a IncidentView>) -> Self {
        let position: HashMap<usize, usize> = incidents
            .enumerate()
            .map(|(n, i)| (address(i), n))
            .collect();
        let html = std::iter::repeat_with(OnceLock::new)
            .take(position.len())
            .collect();
        Self { position, html }
    }

    /// The entry of `i`, made by `render` if no thread has made it yet; `None` when `i` is not
    /// one of the incidents this was made for, or `render` failed (the page then includes the
    /// partial itself, and reports the error where it always did).
    pub fn get(&self, i: &IncidentView, render: impl FnOnce() -> Option<String>) -> Option<&str> {
        let slot = self.html.get(*self.position.get(&address(i))?)?;
        slot.get_or_init(render).as_deref()
    }
}

fn address(i: &IncidentView) -> usize {
    std::ptr::from_ref(i) as usize
}
