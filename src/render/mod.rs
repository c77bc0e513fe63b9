//! Renders a [`Snapshot`] into a site folder: Tera pages, JSON outputs, feeds, badges, assets.
//!
//! The default theme is embedded in the binary (`themes/default`), so `upstate` is one file; a
//! site overrides it file by file in `./themes/<name>/templates/` (Zola/mdBook style). Strings
//! the theme shows live in one place (`strings.toml`) so a site can translate them. Renderers only
//! format: every fact comes from the snapshot.

mod feeds;
mod filters;
mod front;
mod json;
mod statuspage;
mod value_chart;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{ComponentView, IncidentView, Snapshot};

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

/// A loaded theme, ready to render.
pub struct Renderer {
    tera: tera::Tera,
    strings: toml::Table,
}

/// A file of the built site.
#[derive(Debug, Clone)]
pub struct OutputFile {
    pub path: String,
    pub bytes: Vec<u8>,
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
        // All at once: templates include and extend each other.
        tera.add_raw_templates(templates)
            .map_err(|e| RenderError::Template {
                name: override_dir.display().to_string(),
                reason: format!("{e:#}"),
            })?;
        // The header links the content pages (content/*.md) on every page.
        tera.global_context()
            .insert("nav", &front::nav_pages(&site_dir.join("content")));
        Ok(Self { tera, strings })
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

    /// Puts what every page shares into the global context, once per build.
    pub fn set_globals(&mut self, snapshot: &Snapshot) {
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
    }

    /// Renders every output of the site into memory. Call [`Renderer::set_globals`] first.
    pub fn render(&self, snapshot: &Snapshot) -> Result<Vec<OutputFile>, RenderError> {
        let mut out = Vec::new();
        let mut add = |path: String, bytes: Vec<u8>| out.push(OutputFile { path, bytes });
        let by_id: BTreeMap<&str, &ComponentView> = snapshot
            .components
            .iter()
            .map(|c| (c.id.as_str(), c))
            .collect();
        let label_of = |id: &str| {
            by_id
                .get(id)
                .map_or_else(|| id.to_owned(), |c| c.label.clone())
        };

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
        // The poller's words, as JSON inside a <script>: `<` is escaped so no string can close it.
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
        let strings_json = serde_json::to_string(&poller_strings)
            .unwrap_or_default()
            .replace('<', "\\u003c");

        add(
            "index.html".to_owned(),
            self.page(
                "index.html",
                &serde_json::json!({
                    "groups": groups,
                    "counts": front::Counts::of(&snapshot.components),
                    "ongoing": front::ongoing(snapshot),
                    "incidents": front::past(snapshot),
                    "maintenance": snapshot.maintenance,
                    "open_maintenance": open_maintenance,
                    "strings_json": strings_json,
                    "counters": snapshot.counters,
                    "objectives": front::objectives_with_targets(snapshot),
                    "service_objectives": snapshot.service_objectives,
                }),
                "",
            )?,
        );
        // By slug, once: looking each one up in the list made 10,000 incidents quadratic.
        let by_slug: std::collections::HashMap<&str, &IncidentView> = snapshot
            .all_incidents
            .iter()
            .chain(&snapshot.all_maintenance)
            .map(|i| (i.slug.as_str(), i))
            .collect();
        for c in &snapshot.components {
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
            add(
                format!("components/{}.html", c.id),
                self.page(
                    "component.html",
                    &serde_json::json!({"component": c, "incidents": touching, "chart": chart, "value_chart": value_chart, "day_incidents": day_incidents}),
                    "../",
                )?,
            );
            add(
                format!("badges/{}.svg", c.id),
                self.badge(&c.label, c.state)?,
            );
        }
        add(
            "badges/status.svg".to_owned(),
            self.badge(&snapshot.site.title, snapshot.overall)?,
        );
        for i in snapshot
            .all_incidents
            .iter()
            .chain(&snapshot.all_maintenance)
        {
            let names: Vec<String> = i.components.iter().map(|id| label_of(id)).collect();
            add(
                format!("incidents/{}.html", i.slug),
                self.page(
                    "incident.html",
                    &serde_json::json!({"incident": i, "component_names": names}),
                    "../",
                )?,
            );
        }
        // Incident history, one page per month, so 10,000 incidents stay quick to load.
        // Past maintenance windows belong to the record too (upcoming ones are on the front page).
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
        for (month, list) in &months {
            add(
                format!("history/{month}.html"),
                self.page(
                    "history.html",
                    &serde_json::json!({"month": month, "months": month_names, "incidents": list}),
                    "../",
                )?,
            );
        }
        let latest: Vec<&IncidentView> = months
            .values()
            .next_back()
            .map(|v| v.to_vec())
            .unwrap_or_default();
        add(
            "history/index.html".to_owned(),
            self.page(
                "history.html",
                &serde_json::json!({"month": months.keys().next_back(), "months": month_names, "incidents": latest}),
                "../",
            )?,
        );
        add(
            "objectives.html".to_owned(),
            self.page(
                "objectives.html",
                // The full reference, every row (the front page shows only rows that say something).
                &serde_json::json!({"objectives": snapshot.objectives}),
                "",
            )?,
        );

        add("status.json".to_owned(), json::status_json(snapshot)?);
        for (path, bytes) in statuspage::files(snapshot)? {
            add(path, bytes);
        }
        for (path, bytes) in json::shields(snapshot, |key| self.label(key))? {
            add(path, bytes);
        }
        for (path, bytes) in feeds::files(snapshot) {
            add(path, bytes);
        }
        for (path, content) in STATIC_FILES {
            add(path.to_owned(), content.as_bytes().to_vec());
        }
        add(
            "robots.txt".to_owned(),
            format!(
                "User-agent: *\nAllow: /\nSitemap: {}\n",
                // A URI, so a line break in the configured base_url cannot add a rule.
                crate::text::uri(&format!("{}/sitemap.xml", snapshot.site.base_url))
            )
            .into_bytes(),
        );
        add(
            "_headers".to_owned(),
            crate::site::headers_file().into_bytes(),
        );
        Ok(out)
    }

    /// `sitemap.xml` over every HTML page of `files` (call last, after content pages).
    pub fn sitemap(&self, snapshot: &Snapshot, files: &[OutputFile]) -> OutputFile {
        OutputFile {
            path: "sitemap.xml".to_owned(),
            bytes: feeds::sitemap(snapshot, files.iter().map(|f| f.path.as_str())),
        }
    }

    /// `content/*.md` as pages (`content/about.md` => `about.html`); front matter may set `title`.
    ///
    /// A file whose real location is outside `content/` (a symbolic link to
    /// `/proc/self/environ`, say) is left out, never read; `crate::inputs::refused` reports it.
    pub fn content_pages(&self, dir: &Path) -> Result<Vec<OutputFile>, RenderError> {
        let folder = crate::inputs::InputFolder::new(dir);
        let paths: Vec<PathBuf> = folder
            .walk_top(dir)
            .files
            .into_iter()
            .map(|f| f.path)
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        let mut out = Vec::new();
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
            out.push(OutputFile {
                path: format!("{slug}.html"),
                bytes: self.page(
                    "page.html",
                    &serde_json::json!({"title": title, "html": html, "slug": slug}),
                    "",
                )?,
            });
        }
        Ok(out)
    }

    /// The theme's label for a state key (`major_outage` => "Major outage", `no_data`).
    fn label(&self, key: &str) -> String {
        self.strings
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or(key)
            .to_owned()
    }

    fn badge(
        &self,
        label: &str,
        state: Option<crate::state::ComponentState>,
    ) -> Result<Vec<u8>, RenderError> {
        let state = crate::state::words(state).key;
        // Width from character count: no font metrics at build time, so be generous.
        let text = self.label(state);
        let lw = 10 + label.chars().count() * 7;
        let rw = 10 + text.chars().count() * 7;
        self.page(
            "badge.svg",
            &serde_json::json!({"label": label, "text": text, "state": state, "lw": lw, "rw": rw, "w": lw + rw}),
            "",
        )
    }
}

/// Brings the build folder `dir` to exactly `files`: only files whose bytes changed are
/// written (each to a temporary file renamed into place, so a new inode: a published hard link
/// to the old one is never modified), and files the site no longer has are removed.
///
/// The build folder is private to upstate; readers see the published target, which the folder
/// publisher swaps in whole. Rewriting only what changed keeps a 10,000-incident site from
/// paying for 10,000 file creations and deletions on every run (the kernel's inode work
/// dominated the profile).
pub fn write_site(files: &[OutputFile], dir: &Path) -> Result<(), RenderError> {
    let io = |path: &Path, e: std::io::Error| RenderError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut wanted = std::collections::HashSet::with_capacity(files.len());
    for f in files {
        wanted.insert(f.path.as_str());
        let path: PathBuf = dir.join(&f.path);
        match std::fs::read(&path) {
            Ok(old) if old == f.bytes => continue,
            Ok(_) => {}
            Err(_) => {
                // A new file is a new inode anyway: write it directly (a crash leaves a partial
                // file that the next build sees differ and rewrites).
                let parent = path.parent().unwrap_or(dir);
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
                std::fs::write(&path, &f.bytes).map_err(|e| io(&path, e))?;
                continue;
            }
        }
        let parent = path.parent().unwrap_or(dir);
        let mut tmp = tempfile::Builder::new()
            .prefix(".upstate-")
            .tempfile_in(parent)
            .map_err(|e| io(parent, e))?;
        std::io::Write::write_all(&mut tmp, &f.bytes).map_err(|e| io(&path, e))?;
        tmp.persist(&path).map_err(|e| io(&path, e.error))?;
    }
    let existing = crate::site::files_list(dir).map_err(|e| io(dir, e))?;
    let marker = crate::site::MARKER;
    for stale in existing
        .iter()
        .filter(|p| !wanted.contains(p.as_str()) && p.as_str() != marker)
    {
        let path = dir.join(stale);
        std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
    }
    Ok(())
}
