//! Renders a [`Snapshot`] into a site folder: Tera pages, JSON outputs, feeds, badges, assets.
//!
//! The default theme is embedded in the binary (`themes/default`), so `upstate` is one file; a
//! site overrides it file by file in `./themes/<name>/templates/` (Zola/mdBook style). Strings
//! the theme shows live in one place (`strings.toml`) so a site can translate them. Renderers only
//! format: every fact comes from the snapshot.

mod feeds;
mod filters;
mod front;
mod incremental;
mod items;
mod json;
mod statuspage;
mod value_chart;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{ComponentView, IncidentSummary, IncidentView, Snapshot};

use incremental::{Digest, Hasher, Page};
pub use incremental::{SiteWriter, WriteStats};
use items::{ITEM_PARTIAL, ItemHtml};

/// Rendering failures.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("template `{name}`: {reason}")]
    Template { name: String, reason: String },
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
    #[error("theme strings {path}: {reason}")]
    Strings { path: String, reason: String },
    #[error("{file} could not be serialized ({reason}); nothing was published")]
    Serialize { file: String, reason: String },
}

macro_rules! theme_file {
    ($path:literal) => {
        ($path, include_str!(concat!("../../themes/default/", $path)))
    };
}

/// The embedded default theme: (path inside the theme, content).
const DEFAULT_THEME: [(&str, &str); 12] = [
    theme_file!("templates/base.html"),
    theme_file!("templates/index.html"),
    theme_file!("templates/component.html"),
    theme_file!("templates/incident.html"),
    theme_file!("templates/history.html"),
    theme_file!("templates/objectives.html"),
    theme_file!("templates/partials/incident_item.html"),
    theme_file!("templates/partials/bars.html"),
    theme_file!("templates/partials/service_objectives.html"),
    theme_file!("templates/badge.svg"),
    theme_file!("templates/page.html"),
    theme_file!("strings.toml"),
];

/// Files copied as they are.
const STATIC_FILES: [(&str, &str); 2] = [
    (
        "assets/js/app.js",
        include_str!("../../themes/default/static/assets/js/app.js"),
    ),
    (
        "favicon.svg",
        include_str!("../../themes/default/static/favicon.svg"),
    ),
];

/// Site-wide values that change on every build (the clock, the banner). A page's digest covers
/// those its template (with what it extends and includes) names, and no others: most pages never
/// print the build time, and re-rendering them all because it moved would defeat incremental
/// builds. `__tera_context` prints them all.
const VOLATILE: [&str; 5] = [
    "generated_at",
    "observed_at",
    "stale_after",
    "overall",
    "overall_public",
];

/// A loaded theme, ready to render.
pub struct Renderer {
    tera: tera::Tera,
    strings: toml::Table,
    /// Every template and the merged strings, as loaded.
    theme_digest: Digest,
    /// Per template: the [`VOLATILE`] values it may print.
    uses: BTreeMap<String, Vec<&'static str>>,
    /// Whether the front page's template (or one it names) reads a component's `bars`. The
    /// default one reads `bar_styles` instead: 90 days of bars for each of 2,000 components, as
    /// Tera values, were 50 MB of the front page's context.
    front_page_uses_bars: bool,
    /// Whether the component page's templates read `c.bars` or `page.day_incidents`. The
    /// default theme's do not (it prints `page.day_strip`): serialising 90 days twice (for
    /// the page's digest and for Tera) was a fifth of every component page. Found by name
    /// (see [`names`]): a theme that reaches the days without naming them (`c | pairs`, a
    /// computed `get`) finds them empty; its pages still follow every change, as the strip
    /// stands for the days in their digest.
    component_page_uses_days: bool,
    /// Whether the component page's and the history page's templates name an incident's
    /// texts (`body_html`, `updates`). The default theme's lists print titles and times: the
    /// incidents they list are serialised as [`IncidentSummary`]s, without their postmortems.
    /// Found by name, as the days are above, or by a filter or loop that reaches every field
    /// (`pairs`, `values`, `str`, `for key, value in`); a theme that reaches the texts some
    /// other way (a computed `get`) finds them absent from these lists (the incident's own
    /// page always has them).
    component_page_lists_texts: bool,
    history_page_lists_texts: bool,
    /// Whether the component page's and the history page's templates print `i.item_html`:
    /// `partials/incident_item.html` rendered once per incident and build (see [`ItemHtml`]).
    /// Only while that partial is the embedded one: it reads nothing but `i`, `root` and the
    /// site-wide values, so rendered on its own it writes what an include would.
    component_page_uses_items: bool,
    history_page_uses_items: bool,
    /// The theme plus the site-wide values that change only with the config (set by
    /// [`Renderer::set_globals`]).
    globals_digest: Digest,
    /// The [`VOLATILE`] values of this build, serialized.
    volatile: BTreeMap<&'static str, Vec<u8>>,
}

impl Renderer {
    /// Loads the embedded theme and the site's overrides from `site_dir/themes/<theme>/`.
    pub fn new(site_dir: &Path, theme: &str) -> Result<Self, RenderError> {
        let override_dir = site_dir.join("themes").join(theme);
        if theme != "default" && !override_dir.is_dir() {
            return Err(RenderError::Io {
                path: override_dir.display().to_string(),
                reason: format!(
                    "theme `{theme}` not found; create that folder or use theme = \"default\""
                ),
            });
        }
        let mut tera = tera::Tera::new();
        tera.autoescape_on(vec![".html", ".svg", ".xml"]);
        filters::register(&mut tera);
        let mut strings = toml::Table::new();
        let mut templates = Vec::new();
        // Theme files arrive by pull request: a link out of themes/ (to /proc/self/environ, the
        // config, ...) is never rendered; the embedded file stands in and `check`, `build`
        // and `run` report the link (crate::inputs::refused).
        let themes = crate::inputs::InputFolder::new(&site_dir.join("themes"));
        for (path, embedded) in DEFAULT_THEME {
            let local = override_dir.join(path);
            let content = match themes.read_to_string(&local) {
                Ok(Some(text)) => text,
                Ok(None) | Err(_) => embedded.to_owned(),
            };
            if let Some(name) = path.strip_prefix("templates/") {
                templates.push((name, content));
            } else if path == "strings.toml" {
                // The site's strings override the default ones key by key.
                let defaults: toml::Table =
                    toml::from_str(embedded).map_err(|e| RenderError::Strings {
                        path: path.to_owned(),
                        reason: e.to_string(),
                    })?;
                let local: toml::Table =
                    toml::from_str(&content).map_err(|e| RenderError::Strings {
                        path: local.display().to_string(),
                        reason: e.to_string(),
                    })?;
                strings = defaults;
                strings.extend(local);
            }
        }
        let mut hasher = Hasher::new();
        for (name, content) in &templates {
            hasher.part(name.as_bytes());
            hasher.part(content.as_bytes());
        }
        hasher.json("strings.toml", &strings)?;
        let theme_digest = hasher.finish();
        let uses = volatile_uses(&templates);
        let front_page_uses_bars = closure(&templates, "index.html")
            .iter()
            .any(|t| names_bars(t));
        let component_page_uses_days = closure(&templates, "component.html")
            .iter()
            .any(|t| names_bars(t) || names(t, "day_incidents"));
        let lists_texts = |template: &str| {
            closure(&templates, template)
                .iter()
                .any(|t| names(t, "body_html") || names(t, "updates") || reaches_every_field(t))
        };
        let component_page_lists_texts = lists_texts("component.html");
        let history_page_lists_texts = lists_texts("history.html");
        let item_partial_is_embedded = templates.iter().any(|(name, text)| {
            *name == ITEM_PARTIAL
                && DEFAULT_THEME.iter().any(|(path, embedded)| {
                    path.strip_prefix("templates/") == Some(name) && text == embedded
                })
        });
        let uses_items = |template: &str| {
            item_partial_is_embedded
                && closure(&templates, template)
                    .iter()
                    .any(|t| names(t, "item_html"))
        };
        let component_page_uses_items = uses_items("component.html");
        let history_page_uses_items = uses_items("history.html");
        // All at once: templates include and extend each other.
        tera.add_raw_templates(templates)
            .map_err(|e| RenderError::Template {
                name: override_dir.display().to_string(),
                reason: format!("{e:#}"),
            })?;
        // The header links the content pages (content/*.md) on every page.
        let nav = front::nav_pages(&site_dir.join("content"));
        let mut hasher = Hasher::new();
        hasher.part(&theme_digest);
        hasher.json("nav", &nav)?;
        let theme_digest = hasher.finish();
        tera.global_context().insert("nav", &nav);
        Ok(Self {
            tera,
            strings,
            theme_digest,
            uses,
            front_page_uses_bars,
            component_page_uses_days,
            component_page_lists_texts,
            history_page_lists_texts,
            component_page_uses_items,
            history_page_uses_items,
            globals_digest: theme_digest,
            volatile: BTreeMap::new(),
        })
    }

    /// Renders `template` with `ctx` as `page` into `path`, unless the build folder already has
    /// it made from the same inputs (see [`incremental`]).
    fn emit<T: Serialize>(
        &self,
        out: &mut SiteWriter,
        path: &str,
        template: &str,
        root: &str,
        ctx: &T,
    ) -> Result<(), RenderError> {
        // A page that prints the build time changes on every build: digesting its context
        // (the whole front page) could never keep it.
        if self.prints_build_time(template) {
            out.stats.rendered += 1;
            let bytes = self.page(template, ctx, root)?;
            return out.put(path, None, &bytes);
        }
        let input = self.digest(path, template, root, ctx)?;
        let page = out.make(path.to_owned(), input, || self.page(template, ctx, root))?;
        out.add(page);
        Ok(())
    }

    /// Whether `template` (or a template it names) prints `generated_at`.
    fn prints_build_time(&self, template: &str) -> bool {
        self.uses
            .get(template)
            .is_some_and(|uses| uses.contains(&"generated_at"))
    }

    /// [`Renderer::emit`] for a typed context whose inputs `own` digests (with the page's
    /// path): a page that is kept costs that digest, no serialisation and no JSON value.
    /// `own` must cover everything in `ctx` that the site-wide values do not. The page is
    /// kept, or rendered and written, and not recorded: pages are made on several threads and
    /// [`SiteWriter::add`]ed in order on one.
    fn digested_page<T: Serialize>(
        &self,
        out: &SiteWriter,
        (path, template, root): (String, &str, &str),
        own: &[&[u8]],
        ctx: impl FnOnce() -> Result<T, RenderError>,
    ) -> Result<Page, RenderError> {
        let input = self.input_digest(&path, template, root, own);
        out.make(path.clone(), input, || {
            self.render_page(&path, template, root, &ctx()?)
        })
    }

    /// The digest of a page's inputs: what its template shares with every page (see
    /// [`Renderer::page_hasher`]), its path and its `own` parts.
    fn input_digest(&self, path: &str, template: &str, root: &str, own: &[&[u8]]) -> Digest {
        let mut hasher = self.page_hasher(template, root);
        hasher.part(path.as_bytes());
        for part in own {
            hasher.part(part);
        }
        hasher.finish()
    }

    /// `incidents` as a page lists them: in full when `texts`, else as summaries; with their
    /// entries from `items` when given.
    fn listed<'a>(
        &self,
        incidents: &[&'a IncidentView],
        texts: bool,
        items: Option<&'a ItemHtml>,
    ) -> Vec<Listed<'a>> {
        incidents
            .iter()
            .map(|&i| Listed {
                incident: if texts {
                    ListedIncident::Full(i)
                } else {
                    ListedIncident::Summary(i.summary())
                },
                item_html: items.and_then(|items| items.get(i, || self.item_html(i))),
            })
            .collect()
    }

    /// The embedded [`ITEM_PARTIAL`] of `i` at `root = "../"`, its context made as a list's
    /// (through a JSON value); `None` if it fails (the page's own include then reports why).
    fn item_html(&self, i: &IncidentView) -> Option<String> {
        let value = serde_json::to_value(i.summary()).ok()?;
        let mut ctx = tera::Context::new();
        ctx.insert("root", "../");
        ctx.insert("i", &value);
        self.tera.render(ITEM_PARTIAL, &ctx).ok()
    }

    /// A page's bytes from its typed context.
    fn render_page<T: Serialize>(
        &self,
        path: &str,
        template: &str,
        root: &str,
        ctx: &T,
    ) -> Result<Vec<u8>, RenderError> {
        // Through a JSON value, as every context goes, so templates see the same values.
        let value = serde_json::to_value(ctx).map_err(|e| RenderError::Serialize {
            file: path.to_owned(),
            reason: e.to_string(),
        })?;
        self.page(template, &value, root)
    }

    /// Everything a page is a function of: the theme and site-wide values, the volatile values
    /// its template can print, where it sits (`root`), and its own context.
    fn digest<T: Serialize>(
        &self,
        path: &str,
        template: &str,
        root: &str,
        ctx: &T,
    ) -> Result<Digest, RenderError> {
        let mut hasher = self.page_hasher(template, root);
        hasher.json(path, ctx)?;
        Ok(hasher.finish())
    }

    /// A digest under way of what every page of `template` at `root` shares.
    fn page_hasher(&self, template: &str, root: &str) -> Hasher {
        let mut hasher = Hasher::new();
        hasher.part(&self.globals_digest);
        hasher.part(template.as_bytes());
        hasher.part(root.as_bytes());
        for name in self.uses.get(template).into_iter().flatten() {
            hasher.part(name.as_bytes());
            hasher.part(self.volatile.get(name).map_or(&[][..], Vec::as_slice));
        }
        hasher
    }

    fn page<T: Serialize>(
        &self,
        name: &str,
        extra: &T,
        root: &str,
    ) -> Result<Vec<u8>, RenderError> {
        // Site-wide values live in Tera's global context (see `set_globals`): serialising them
        // again for each of 10,000 pages showed up in the profile.
        let mut ctx = tera::Context::new();
        ctx.insert("root", root);
        ctx.insert("page", extra);
        self.tera
            .render(name, &ctx)
            .map(String::into_bytes)
            .map_err(|e| RenderError::Template {
                name: name.to_owned(),
                reason: format!("{e:#}"),
            })
    }

    /// Puts what every page shares into the global context, once per build, and digests it.
    pub fn set_globals(&mut self, snapshot: &Snapshot) -> Result<(), RenderError> {
        let labels: BTreeMap<&str, &str> = snapshot
            .components
            .iter()
            .map(|c| (c.id.as_str(), c.label.as_str()))
            .collect();
        filters::register_when(
            &mut self.tera,
            snapshot.site.timezone.parse().unwrap_or(chrono_tz::Tz::UTC),
        );
        let globals = self.tera.global_context();
        globals.insert("site", &snapshot.site);
        globals.insert("s", &self.strings);
        globals.insert("generated_at", &snapshot.generated_at);
        globals.insert("stale_after", &snapshot.stale_after);
        globals.insert(
            "observed_at",
            &snapshot.observed_at.unwrap_or(snapshot.generated_at),
        );
        globals.insert("overall", &crate::state::words(snapshot.overall).key);
        globals.insert("overall_public", &snapshot.overall_public);
        globals.insert("version", &snapshot.version);
        globals.insert("labels", &labels);

        let mut hasher = Hasher::new();
        hasher.part(&self.theme_digest);
        hasher.json("site", &snapshot.site)?;
        hasher.json("version", &snapshot.version)?;
        hasher.json("labels", &labels)?;
        self.globals_digest = hasher.finish();
        let observed_at = snapshot.observed_at.unwrap_or(snapshot.generated_at);
        let overall = crate::state::words(snapshot.overall).key;
        self.volatile = BTreeMap::from([
            (
                "generated_at",
                json("generated_at", &snapshot.generated_at)?,
            ),
            ("observed_at", json("observed_at", &observed_at)?),
            ("stale_after", json("stale_after", &snapshot.stale_after)?),
            ("overall", json("overall", &overall)?),
            (
                "overall_public",
                json("overall_public", &snapshot.overall_public)?,
            ),
        ]);
        Ok(())
    }

    /// Renders every output of the site into `out`, file by file. Call
    /// [`Renderer::set_globals`] first; content pages, `static/` and the sitemap follow.
    pub fn render(&self, snapshot: &Snapshot, out: &mut SiteWriter) -> Result<(), RenderError> {
        // Shared by the component and history pages (see `items`).
        let items = ItemHtml::new(
            snapshot
                .all_incidents
                .iter()
                .chain(&snapshot.all_maintenance),
        );
        self.index(snapshot, out)?;
        self.components(snapshot, out, &items)?;
        self.badge(
            out,
            "badges/status.svg",
            &snapshot.site.title,
            snapshot.overall,
        )?;
        self.incidents(snapshot, out)?;
        self.history(snapshot, out, &items)?;
        self.emit(
            out,
            "objectives.html",
            "objectives.html",
            "",
            // The full reference, every row (the front page shows only rows that say something).
            &serde_json::json!({"objectives": snapshot.objectives}),
        )?;
        self.generated(snapshot, out)
    }

    /// The poller's words, as JSON inside a <script>: `<` is escaped so no string can close it.
    fn poller_strings(&self) -> Result<String, RenderError> {
        let poller_keys = [
            "operational",
            "degraded_performance",
            "partial_outage",
            "major_outage",
            "under_maintenance",
            "degraded",
            "down",
            "banner_operational",
            "banner_degraded",
            "banner_down",
            "banner_no_data",
            "no_data",
            "of",
            "components_word",
            "component_one",
            "count_down",
            "count_degraded",
            "count_maintenance",
            "count_no_data",
            "count_all",
            "count_operational",
        ];
        let poller_strings: BTreeMap<&str, &toml::Value> = poller_keys
            .iter()
            .filter_map(|k| Some((*k, self.strings.get(*k)?)))
            .collect();
        let text = serde_json::to_string(&poller_strings).map_err(|e| RenderError::Serialize {
            file: "index.html".to_owned(),
            reason: e.to_string(),
        })?;
        Ok(text.replace('<', "\\u003c"))
    }

    fn index(&self, snapshot: &Snapshot, out: &mut SiteWriter) -> Result<(), RenderError> {
        // Each component's 90 days as one CSS value; the bars themselves only for a theme
        // whose front page reads them.
        let bar_styles: BTreeMap<&str, String> = snapshot
            .components
            .iter()
            .map(|c| (c.id.as_str(), filters::bar_style_of(&c.bars)))
            .collect();
        let without_series: Vec<ComponentView>;
        let components = if self.front_page_uses_bars {
            &snapshot.components
        } else {
            without_series = snapshot
                .components
                .iter()
                .map(ComponentView::without_series)
                .collect();
            &without_series
        };
        let by_id: BTreeMap<&str, &ComponentView> =
            components.iter().map(|c| (c.id.as_str(), c)).collect();
        let groups = front::groups(snapshot, &by_id);
        let open_maintenance: Vec<&IncidentView> = snapshot
            .maintenance
            .iter()
            .filter(|m| {
                matches!(
                    m.status,
                    crate::incident::Status::InProgress | crate::incident::Status::Scheduled
                )
            })
            .collect();
        // Typed, not a JSON value: with 2,000 components the front page's context as a JSON value
        // and again as Tera's value was most of a run's time and hundreds of megabytes.
        #[derive(Serialize)]
        struct IndexPage<'a> {
            groups: Vec<front::Group<'a>>,
            bar_styles: BTreeMap<&'a str, String>,
            counts: front::Counts,
            ongoing: Vec<&'a IncidentView>,
            incidents: Vec<&'a IncidentView>,
            maintenance: &'a [IncidentView],
            open_maintenance: Vec<&'a IncidentView>,
            strings_json: String,
            counters: &'a crate::model::Counters,
            objectives: Vec<&'a crate::model::Objective>,
            service_objectives: &'a [crate::model::ServiceObjective],
        }
        self.emit(
            out,
            "index.html",
            "index.html",
            "",
            &IndexPage {
                groups,
                bar_styles,
                counts: front::Counts::of(&snapshot.components),
                ongoing: front::ongoing(snapshot),
                incidents: front::past(snapshot),
                maintenance: &snapshot.maintenance,
                open_maintenance,
                strings_json: self.poller_strings()?,
                counters: &snapshot.counters,
                objectives: front::objectives_with_targets(snapshot),
                service_objectives: &snapshot.service_objectives,
            },
        )
    }

    /// A page and a badge per component. Pages are digested, rendered and written on every
    /// core, a batch at a time, and recorded in order on this thread: with 2,000 components,
    /// each page's own history and charts, a run that follows every component's latest check
    /// renders them all (each says when it was last checked), and that was most of a run's
    /// build.
    fn components(
        &self,
        snapshot: &Snapshot,
        out: &mut SiteWriter,
        items: &ItemHtml,
    ) -> Result<(), RenderError> {
        // By slug, once: looking each one up in the list made 10,000 incidents quadratic.
        let by_slug: std::collections::HashMap<&str, &IncidentView> = snapshot
            .all_incidents
            .iter()
            .chain(&snapshot.all_maintenance)
            .map(|i| (i.slug.as_str(), i))
            .collect();
        let threads = crate::parallel::threads();
        // A batch bounds the pages held in memory at once.
        for batch in snapshot.components.chunks(64) {
            let writer = &*out;
            let made = crate::parallel::map(batch, threads, |c| {
                self.component_page(snapshot, &by_slug, c, writer, items)
            });
            for (c, page) in batch.iter().zip(made) {
                out.add(page?);
                self.badge(out, &format!("badges/{}.svg", c.id), &c.label, c.state)?;
            }
        }
        Ok(())
    }

    /// A component's page: kept when its inputs did not change, else rendered and written
    /// (to be recorded in order by the caller).
    fn component_page(
        &self,
        snapshot: &Snapshot,
        by_slug: &std::collections::HashMap<&str, &IncidentView>,
        c: &ComponentView,
        out: &SiteWriter,
        items: &ItemHtml,
    ) -> Result<Page, RenderError> {
        #[derive(Serialize)]
        struct ComponentPage<'a> {
            component: &'a ComponentView,
            incidents: Vec<Listed<'a>>,
            chart: &'a str,
            value_chart: Option<&'a str>,
            day_incidents: &'a [Vec<&'a str>],
            day_strip: &'a str,
        }
        let touching: Vec<&IncidentView> = c
            .incidents
            .iter()
            .filter_map(|slug| by_slug.get(slug.as_str()).copied())
            .collect();
        let chart = filters::latency_chart(&c.daily_latency);
        let value_chart = c
            .measure
            .as_deref()
            .and_then(|m| value_chart::value_chart(&c.daily_value, m));
        let day_incidents = front::day_incidents(&c.bars, &touching, snapshot.generated_at);
        let day_strip = front::day_strip(&c.bars, &day_incidents, |key| self.theme_string(key));
        // A theme that does not read the days gets (and digests) them as the strip only.
        let slim;
        let (component, days_shown): (&ComponentView, &[Vec<&str>]) =
            if self.component_page_uses_days {
                (c, &day_incidents)
            } else {
                slim = c.without_series();
                (&slim, &[])
            };
        // The charts are drawn from series the view does not serialise, so they are digested
        // as drawn; its incidents are digested by their fingerprints, not serialised (a
        // component can have hundreds).
        let path = format!("components/{}.html", c.id);
        let (view, days) = (json(&path, component)?, json(&path, days_shown)?);
        let mut own: Vec<&[u8]> = vec![
            &view,
            &days,
            day_strip.as_bytes(),
            chart.as_bytes(),
            value_chart.as_deref().unwrap_or("\u{0}none").as_bytes(),
        ];
        own.extend(touching.iter().map(|i| &i.fingerprint[..]));
        self.digested_page(out, (path, "component.html", "../"), &own, || {
            Ok(ComponentPage {
                component,
                incidents: self.listed(
                    &touching,
                    self.component_page_lists_texts,
                    self.component_page_uses_items.then_some(items),
                ),
                chart: &chart,
                value_chart: value_chart.as_deref(),
                day_incidents: days_shown,
                day_strip: &day_strip,
            })
        })
    }

    /// A page per incident and maintenance window.
    fn incidents(&self, snapshot: &Snapshot, out: &mut SiteWriter) -> Result<(), RenderError> {
        /// Typed, so a page that is kept costs a digest of its view's fingerprint and no JSON.
        #[derive(Serialize)]
        struct IncidentPage<'a> {
            incident: &'a IncidentView,
            component_names: Vec<&'a str>,
        }
        let labels: BTreeMap<&str, &str> = snapshot
            .components
            .iter()
            .map(|c| (c.id.as_str(), c.label.as_str()))
            .collect();
        let all: Vec<&IncidentView> = snapshot
            .all_incidents
            .iter()
            .chain(&snapshot.all_maintenance)
            .collect();
        // One page per address, the last view's as when they were written in turn (addresses
        // are unique, see `incident::disambiguate`; two threads must never write one path).
        let last: std::collections::HashMap<&str, usize> = all
            .iter()
            .enumerate()
            .map(|(n, i)| (i.slug.as_str(), n))
            .collect();
        let pages: Vec<&IncidentView> = all
            .iter()
            .enumerate()
            .filter(|(n, i)| last.get(i.slug.as_str()) == Some(n))
            .map(|(_, i)| *i)
            .collect();
        let threads = crate::parallel::threads();
        // 10,000 incident pages were most of a cold build's rendering: on every core, a batch
        // at a time, recorded in order.
        for batch in pages.chunks(256) {
            let writer = &*out;
            let made = crate::parallel::map(batch, threads, |i| {
                // The component names come from the labels, which the site-wide digest covers.
                self.digested_page(
                    writer,
                    (format!("incidents/{}.html", i.slug), "incident.html", "../"),
                    &[&i.fingerprint],
                    || {
                        let component_names = i
                            .components
                            .iter()
                            .map(|id| labels.get(id.as_str()).copied().unwrap_or(id.as_str()))
                            .collect();
                        Ok(IncidentPage {
                            incident: i,
                            component_names,
                        })
                    },
                )
            });
            for page in made {
                out.add(page?);
            }
        }
        Ok(())
    }

    /// Incident history, one page per month, so 10,000 incidents stay quick to load. Past
    /// maintenance windows belong to the record too (upcoming ones are on the front page).
    fn history(
        &self,
        snapshot: &Snapshot,
        out: &mut SiteWriter,
        items: &ItemHtml,
    ) -> Result<(), RenderError> {
        #[derive(Serialize)]
        struct HistoryPage<'a> {
            month: Option<&'a String>,
            months: &'a [&'a String],
            incidents: Vec<Listed<'a>>,
        }
        let mut months: BTreeMap<String, Vec<&IncidentView>> = BTreeMap::new();
        let past_maintenance = snapshot.all_maintenance.iter().filter(|m| {
            matches!(
                m.status,
                crate::incident::Status::Completed | crate::incident::Status::Cancelled
            )
        });
        for i in snapshot.all_incidents.iter().chain(past_maintenance) {
            let month = i
                .started_at
                .map_or_else(|| "undated".to_owned(), |t| t.format("%Y-%m").to_string());
            months.entry(month).or_default().push(i);
        }
        for list in months.values_mut() {
            list.sort_by(|a, b| {
                b.started_at
                    .cmp(&a.started_at)
                    .then_with(|| a.slug.cmp(&b.slug))
            });
        }
        let month_names: Vec<&String> = months.keys().rev().collect();
        // A month page is a function of its month, the list of months and its views.
        let month_count = month_names.len().to_le_bytes();
        let latest = months
            .iter()
            .next_back()
            .map(|(m, list)| (m, list.as_slice()));
        let pages = months
            .iter()
            .map(|(month, list)| {
                (
                    format!("history/{month}.html"),
                    Some(month),
                    list.as_slice(),
                )
            })
            .chain(std::iter::once((
                "history/index.html".to_owned(),
                latest.map(|(m, _)| m),
                latest.map_or(&[][..], |(_, list)| list),
            )));
        let pages: Vec<_> = pages.collect();
        // Months of a large record are independent pages of similar cost: on every core.
        let writer = &*out;
        let made =
            crate::parallel::map(&pages, crate::parallel::threads(), |(path, month, list)| {
                let mut parts: Vec<&[u8]> =
                    vec![month.map_or(&[][..], |m| m.as_bytes()), &month_count];
                parts.extend(month_names.iter().map(|m| m.as_bytes()));
                parts.extend(list.iter().map(|i| &i.fingerprint[..]));
                self.digested_page(
                    writer,
                    (path.clone(), "history.html", "../"),
                    &parts,
                    || {
                        Ok(HistoryPage {
                            month: *month,
                            months: &month_names,
                            incidents: self.listed(
                                list,
                                self.history_page_lists_texts,
                                self.history_page_uses_items.then_some(items),
                            ),
                        })
                    },
                )
            });
        for page in made {
            out.add(page?);
        }
        Ok(())
    }

    /// What is made without a template: JSON, feeds, static assets, `robots.txt`, `_headers`.
    fn generated(&self, snapshot: &Snapshot, out: &mut SiteWriter) -> Result<(), RenderError> {
        out.put("status.json", None, &json::status_json(snapshot)?)?;
        for (path, bytes) in statuspage::files(snapshot)? {
            out.put(&path, None, &bytes)?;
        }
        for (path, bytes) in json::shields(snapshot, |key| self.label(key))? {
            out.put(&path, None, &bytes)?;
        }
        feeds::write(snapshot, out, &self.globals_digest)?;
        for (path, content) in STATIC_FILES {
            out.put(path, None, content.as_bytes())?;
        }
        let robots = format!(
            "User-agent: *\nAllow: /\nSitemap: {}\n",
            // A URI, so a line break in the configured base_url cannot add a rule.
            crate::text::uri(&format!("{}/sitemap.xml", snapshot.site.base_url))
        );
        out.put("robots.txt", None, robots.as_bytes())?;
        out.put("_headers", None, crate::site::headers_file().as_bytes())
    }

    /// `sitemap.xml` over every HTML page written so far (call last, after content pages).
    pub fn sitemap(&self, snapshot: &Snapshot, out: &mut SiteWriter) -> Result<(), RenderError> {
        let bytes = feeds::sitemap(snapshot, out.paths().iter().map(String::as_str));
        out.put("sitemap.xml", None, &bytes)
    }

    /// `content/*.md` as pages (`content/about.md` => `about.html`); front matter may set `title`.
    ///
    /// A file whose real location is outside `content/` (a symbolic link to
    /// `/proc/self/environ`, say) is left out, never read; `crate::inputs::refused` reports it.
    pub fn content_pages(&self, dir: &Path, out: &mut SiteWriter) -> Result<(), RenderError> {
        let folder = crate::inputs::InputFolder::new(dir);
        let paths: Vec<PathBuf> = folder
            .walk_top(dir)
            .files
            .into_iter()
            .map(|f| f.path)
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        for path in paths {
            let text = match folder.read_to_string(&path) {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(e) => {
                    return Err(RenderError::Io {
                        path: path.display().to_string(),
                        reason: e.reason(),
                    });
                }
            };
            let Some((slug, stem)) = front::page_slug(&path) else {
                continue;
            };
            let (title, body) = front::page_title(&text, &stem);
            let html = crate::incident::markdown::to_safe_html(body);
            self.emit(
                out,
                &format!("{slug}.html"),
                "page.html",
                "",
                &serde_json::json!({"title": title, "html": html, "slug": slug}),
            )?;
        }
        Ok(())
    }

    /// The theme's label for a state key (`major_outage` => "Major outage", `no_data`).
    fn label(&self, key: &str) -> String {
        self.theme_string(key).to_owned()
    }

    /// The theme's string for `key` (`strings.toml`), or the key itself when it has none.
    fn theme_string<'a>(&'a self, key: &'a str) -> &'a str {
        self.strings
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or(key)
    }

    fn badge(
        &self,
        out: &mut SiteWriter,
        path: &str,
        label: &str,
        state: Option<crate::state::ComponentState>,
    ) -> Result<(), RenderError> {
        let state = crate::state::words(state).key;
        // Width from character count: no font metrics at build time, so be generous.
        let text = self.label(state);
        let lw = 10 + label.chars().count() * 7;
        let rw = 10 + text.chars().count() * 7;
        self.emit(
            out,
            path,
            "badge.svg",
            "",
            &serde_json::json!({"label": label, "text": text, "state": state, "lw": lw, "rw": rw, "w": lw + rw}),
        )
    }
}

/// `value` as JSON bytes, for a digest.
fn json<T: Serialize + ?Sized>(name: &str, value: &T) -> Result<Vec<u8>, RenderError> {
    serde_json::to_vec(value).map_err(|e| RenderError::Serialize {
        file: name.to_owned(),
        reason: e.to_string(),
    })
}

/// For each template, the [`VOLATILE`] names that appear in it or in any template it names
/// (extends, includes, imports), which is what it can print. Over-approximates on purpose: a
/// name in a comment only costs a render.
fn volatile_uses(templates: &[(&str, String)]) -> BTreeMap<String, Vec<&'static str>> {
    let mut out = BTreeMap::new();
    for (name, _) in templates {
        let texts = closure(templates, name);
        let uses = VOLATILE
            .into_iter()
            .filter(|v| {
                texts
                    .iter()
                    .any(|t| t.contains(v) || t.contains("__tera_context"))
            })
            .collect();
        out.insert((*name).to_owned(), uses);
    }
    out
}

/// The texts of the template `name` and of every template it names (extends, includes,
/// imports), found by their quoted names. Over-approximates on purpose.
fn closure<'a>(templates: &'a [(&str, String)], name: &str) -> Vec<&'a str> {
    let named = |text: &str, other: &str| {
        ['"', '\'', '`']
            .iter()
            .any(|q| text.contains(&format!("{q}{other}{q}")))
    };
    let mut seen = vec![name];
    let mut todo = vec![name];
    while let Some(current) = todo.pop() {
        let Some((_, text)) = templates.iter().find(|(n, _)| *n == current) else {
            continue;
        };
        for (other, _) in templates {
            if !seen.contains(other) && named(text, other) {
                seen.push(other);
                todo.push(other);
            }
        }
    }
    templates
        .iter()
        .filter(|(n, _)| seen.contains(n))
        .map(|(_, t)| t.as_str())
        .collect()
}

/// An incident in a list: the incident, and its entry when the page's templates print it.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    incident: ListedIncident<'a>,
    /// `partials/incident_item.html` of it, rendered once per build (see [`items`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    item_html: Option<&'a str>,
}

/// An incident in a list: in full, or as its [`IncidentSummary`] when the page's templates
/// print no incident text (see `Renderer::component_page_lists_texts`). Serialised as the one
/// it holds.
#[derive(Serialize)]
#[serde(untagged)]
enum ListedIncident<'a> {
    Full(&'a IncidentView),
    Summary(IncidentSummary<'a>),
}

/// Whether a template walks or prints a whole value, which reaches fields it does not name:
/// Tera's `pairs`, `values` or `str` filters, or a `for key, value in` loop over a map.
fn reaches_every_field(text: &str) -> bool {
    ["pairs", "values", "str"].iter().any(|f| names(text, f))
        || text.match_indices("for ").any(|(at, _)| {
            let head = text[at + 4..].split(" in ").next().unwrap_or_default();
            head.len() < 64 && head.contains(',')
        })
}

/// Whether a template's text names `bars` as a whole word (`c.bars`, `bars`), or the whole
/// context, which holds them. `bars_90` and `bar_styles` are other names, and so is the
/// partial `bars.html` that a template includes.
fn names_bars(text: &str) -> bool {
    names(text, "bars")
}

/// Whether a template's text names `name` as a whole word (not followed by `.html`: that is a
/// template's file name), or the whole context. Over-approximates on purpose (a comment
/// counts).
fn names(text: &str, name: &str) -> bool {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    text.contains("__tera_context")
        || text.match_indices(name).any(|(at, _)| {
            let after = &text[at + name.len()..];
            !text[..at].chars().next_back().is_some_and(word)
                && !after.chars().next().is_some_and(word)
                && !after.starts_with(".html")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loop `partials/bars.html` had before the strip was made in Rust, kept here as the
    /// reference `front::day_strip` must print byte for byte, escaping included.
    const BARS_LOOP: &str = r#"{% for b in c.bars %}{% set seen = page.day_incidents[loop.index0] %}<li class="{{ b.state | state_class }}" tabindex="0"><span class="tip vh">{{ b.date }}: {% if b.state %}{{ s[b.state] }}{% if b.uptime is not none %}, {{ b.uptime | pct }}{% endif %}{% else %}{{ s.no_data }}{% endif %}{% if seen %}; {{ seen | length }} {{ s.day_incidents }}: {{ seen | join(sep="; ") }}{% endif %}</span></li>{% endfor %}"#;

    #[test]
    fn the_day_strip_prints_what_the_template_loop_printed() {
        use crate::model::DayBar;
        use crate::state::ComponentState;
        let day = |n| chrono::NaiveDate::from_ymd_opt(2026, 11, n).unwrap();
        let bars = vec![
            DayBar {
                date: day(1),
                state: None,
                uptime: None,
            },
            DayBar {
                date: day(2),
                state: Some(ComponentState::Operational),
                uptime: Some(1.0),
            },
            DayBar {
                date: day(3),
                state: Some(ComponentState::MajorOutage),
                uptime: Some(0.4567),
            },
            DayBar {
                date: day(4),
                state: Some(ComponentState::UnderMaintenance),
                uptime: None,
            },
            DayBar {
                date: day(5),
                state: Some(ComponentState::DegradedPerformance),
                uptime: Some(0.99999),
            },
            DayBar {
                date: day(6),
                state: Some(ComponentState::PartialOutage),
                uptime: Some(0.0),
            },
            // Not finite (a tampered day file): no figure, as `null` printed none.
            DayBar {
                date: day(7),
                state: Some(ComponentState::MajorOutage),
                uptime: Some(f64::NAN),
            },
        ];
        let day_incidents: Vec<Vec<&str>> = vec![
            vec![],
            vec!["<script>alert('x')</script> & \"quotes\""],
            vec!["First", "Second; with a semicolon"],
            vec![],
            vec!["Ünïcode ✓ > less"],
            vec![],
            vec![],
        ];
        let mut strings: toml::Table = toml::from_str(
            DEFAULT_THEME
                .iter()
                .find(|(path, _)| *path == "strings.toml")
                .unwrap()
                .1,
        )
        .unwrap();
        // A translation with markup characters is escaped the same way.
        strings.insert("no_data".into(), "<no> \"data\" & 'more'".into());
        let mut tera = tera::Tera::new();
        tera.autoescape_on(vec![".html"]);
        filters::register(&mut tera);
        tera.add_raw_template("loop.html", BARS_LOOP).unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("c", &serde_json::json!({ "bars": bars }));
        ctx.insert(
            "page",
            &serde_json::json!({ "day_incidents": day_incidents }),
        );
        ctx.insert("s", &strings);
        let expected = tera.render("loop.html", &ctx).unwrap();
        let strip = front::day_strip(&bars, &day_incidents, |key| {
            strings.get(key).and_then(|v| v.as_str()).unwrap_or(key)
        });
        assert_eq!(strip, expected);
        assert!(
            strip.contains("&lt;script&gt;alert(&#39;x&#39;)"),
            "{strip}"
        );
    }

    #[test]
    fn bars_are_named_as_a_whole_word_only() {
        assert!(names_bars("{{ c.bars | bar_style }}"));
        assert!(names_bars("{% for b in bars %}"));
        assert!(
            names_bars("{{ __tera_context }}"),
            "the whole context holds them"
        );
        assert!(!names_bars(
            "{{ s.bars_90 }} {{ bar_styles[c.id] }} {{ crowbars }}"
        ));
        assert!(
            !names_bars(r#"{% include "partials/bars.html" %}"#),
            "a partial's file name is not the field"
        );
    }

    /// The default front page reads `bar_styles`, so its context carries no bars (50 MB for
    /// 2,000 components); a theme whose front page reads `c.bars` still gets them.
    #[test]
    fn the_front_page_context_carries_bars_only_for_a_theme_that_reads_them() {
        let site = tempfile::tempdir().unwrap();
        assert!(
            !Renderer::new(site.path(), "default")
                .unwrap()
                .front_page_uses_bars
        );
        let theme = site.path().join("themes/default/templates");
        std::fs::create_dir_all(&theme).unwrap();
        std::fs::write(
            theme.join("index.html"),
            "{% for g in groups %}{% for c in g.components %}{{ c.bars | length }}{% endfor %}{% endfor %}",
        )
        .unwrap();
        assert!(
            Renderer::new(site.path(), "default")
                .unwrap()
                .front_page_uses_bars
        );
    }

    #[test]
    fn list_entries_are_rendered_once_only_from_the_embedded_partial() {
        let site = tempfile::tempdir().unwrap();
        let uses = |site: &Path| {
            let r = Renderer::new(site, "default").unwrap();
            (r.component_page_uses_items, r.history_page_uses_items)
        };
        assert_eq!(uses(site.path()), (true, true));
        let templates = site.path().join("themes/default/templates");
        std::fs::create_dir_all(templates.join("partials")).unwrap();
        // A page that prints no entry renders none.
        std::fs::write(
            templates.join("history.html"),
            "{% for i in page.incidents %}{{ i.title }}{% endfor %}",
        )
        .unwrap();
        assert_eq!(uses(site.path()), (true, false));
        // An overridden partial may read the page: it is included, as it always was.
        std::fs::write(
            templates.join("partials/incident_item.html"),
            "{{ page.component.id }} {{ i.title }}",
        )
        .unwrap();
        assert_eq!(uses(site.path()), (false, false));
    }

    #[test]
    fn lists_carry_incident_texts_only_for_a_theme_that_prints_them() {
        let site = tempfile::tempdir().unwrap();
        let lists = |site: &Path| {
            let r = Renderer::new(site, "default").unwrap();
            (r.component_page_lists_texts, r.history_page_lists_texts)
        };
        assert_eq!(lists(site.path()), (false, false));
        let partials = site.path().join("themes/default/templates/partials");
        std::fs::create_dir_all(&partials).unwrap();
        // Through the partial both pages include: both lists carry the texts.
        std::fs::write(
            partials.join("incident_item.html"),
            "{{ i.title }}{% for u in i.updates %}{{ u.message_html | safe }}{% endfor %}",
        )
        .unwrap();
        assert_eq!(lists(site.path()), (true, true));
        std::fs::remove_file(partials.join("incident_item.html")).unwrap();
        std::fs::write(
            site.path().join("themes/default/templates/history.html"),
            "{% for i in page.incidents %}{{ i.body_html | safe }}{% endfor %}",
        )
        .unwrap();
        assert_eq!(lists(site.path()), (false, true));
        std::fs::write(
            site.path().join("themes/default/templates/history.html"),
            "{% for i in page.incidents %}{% for key, value in i %}{{ key }}{% endfor %}{% endfor %}",
        )
        .unwrap();
        assert_eq!(lists(site.path()), (false, true));
        std::fs::write(
            site.path().join("themes/default/templates/history.html"),
            "{% for i in page.incidents %}{{ i | values | length }}{% endfor %}",
        )
        .unwrap();
        assert_eq!(lists(site.path()), (false, true));
    }
}
