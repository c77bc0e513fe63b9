//! `upstate.toml`: types, loading, and errors that name the file, line and key.
//!
//! The contract is `../shared/reference/upstate.example.toml`; every key there is accepted here.
//! Tables use `deny_unknown_fields`: a typo is an error with the closest known key, never a
//! silently ignored setting. Strings go through `${NAME}` interpolation (see [`secret`]).
//!
//! ```toml
//! [site]
//! title = "Example"
//! base_url = "https://status.example.com"
//!
//! [[component]]
//! id = "api"
//! label = "API"
//! kind = "http"
//! url = "https://api.example.com/health"
//! ```

pub mod notify;
pub mod objective;
pub mod paging;
pub mod percent;
pub mod places;
mod table;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;

// The leaf modules these once were, re-exported so `config::secret::…` paths keep working.
pub use crate::{duration, secret};

pub use crate::probe::counters::SnapshotConfig;
pub use crate::s3::S3Config;
pub use document::closest;
pub use duration::Duration;
pub use objective::ObjectiveConfig;
pub use paging::{PageRule, PageWhen, Route};
pub use percent::Percent;
pub use secret::{EnvString, Secret};

use crate::document::{self, Positioned, Section};
use crate::probe::ProbeSpec;

/// The whole configuration, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the file was read from; relative paths in the config are relative to its folder.
    pub path: PathBuf,
    pub site: SiteConfig,
    pub run: RunConfig,
    pub history: HistoryConfig,
    pub publish: PublishConfig,
    pub s3: Option<S3Config>,
    pub snapshot: Option<SnapshotConfig>,
    pub components: Vec<Component>,
    pub notify: Vec<NotifyConfig>,
    /// `[[objective]]`: service objectives published with their actuals.
    pub objectives: Vec<ObjectiveConfig>,
    /// Ids of `[[component]]` sections left out for errors of their own (only in a file with
    /// errors, which `check` reads on): an incident naming one is not told the id is unknown
    /// on top of the error that says what is wrong with the component.
    pub broken_component_ids: Vec<String>,
}

/// `[site]`: what the page says about itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// The page title and the name in feeds and the Statuspage API.
    pub title: EnvString,
    /// One line under the title; also the meta description.
    pub description: EnvString,
    /// Absolute URL the site is served from: links in feeds, badges and the Statuspage API.
    pub base_url: EnvString,
    /// `themes/<name>`; a site-local `./themes/<name>/templates/*` overrides the embedded one.
    pub theme: String,
    /// The IANA zone times are shown in on the page (`"Europe/Berlin"`); data, `datetime`
    /// attributes and every JSON output stay UTC. Also the Statuspage API's `time_zone`.
    pub timezone: String,
    /// Shown in the footer and "Incident response"; where to report a security problem.
    pub security_contact: Option<EnvString>,
    /// The cadence advertised to pollers and used by the page's own poller.
    pub poll_interval: Duration,
    /// How far back "Recent incidents" and `status.json` reach.
    pub incident_window: Duration,
    /// The share of a window that must have been observed before its uptime figure is shown;
    /// below it the page says "no data" (a 90-day figure from 8 minutes misleads). Every
    /// figure shown carries its coverage either way.
    pub uptime_min_coverage: Percent,
    /// An image shown beside the title in the header, as a path inside the published site
    /// (put the file in `static/`: `logo = "logo.svg"` for `static/logo.svg`). A path, never a
    /// URL: the page makes no request to another host.
    pub logo: Option<String>,
}

impl SiteConfig {
    /// The zone times are shown in; `timezone` was validated when the config was loaded.
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Tz::UTC)
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            title: EnvString::from("Status"),
            description: EnvString::default(),
            base_url: EnvString::from("http://localhost"),
            theme: "default".to_owned(),
            timezone: "UTC".to_owned(),
            security_contact: None,
            poll_interval: Duration::from_secs(30),
            incident_window: Duration::from_secs(90 * 86_400),
            uptime_min_coverage: Percent::from_percent(50.0),
            logo: None,
        }
    }
}

/// `[run]`: how probes are run.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Probes in flight at once.
    pub concurrency: usize,
    /// Default per-probe deadline; a component may set its own `timeout`.
    pub timeout: Duration,
    /// Immediate re-tries inside one run before a failure counts.
    pub retries: u32,
    /// How often the schedule runs `upstate run` (the cron's period). The page is distrusted
    /// once it is `stale_after` old: by then several runs have been missed.
    pub interval: Duration,
    /// How old the page may grow before readers are told the checks may have stopped
    /// (`status.json` `stale_after`, the page's banner). Default: three intervals.
    pub stale_after: Option<Duration>,
    /// A dead-man switch (healthchecks.io style): requested after every successful publish, so
    /// the team learns when the schedule stops. A secret: such URLs carry the check's key.
    pub heartbeat_url: Option<Secret>,
}

impl RunConfig {
    /// How old the published page may grow before it is distrusted.
    pub fn stale_after(&self) -> Duration {
        self.stale_after
            .unwrap_or_else(|| Duration::from_secs(self.interval.std().as_secs().saturating_mul(3)))
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            concurrency: 64,
            timeout: Duration::from_secs(5),
            retries: 0,
            interval: Duration::from_secs(5 * 60),
            stale_after: None,
            heartbeat_url: None,
        }
    }
}

/// `[history]`: where observations are remembered.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// A folder (relative to the config file), `s3://bucket/prefix`, or
    /// `git+<repo-url>#<branch>` (a branch kept at one commit, for ephemeral CI runners).
    pub store: EnvString,
    /// How long raw observations are kept; daily rollups are kept for good.
    pub raw_retention: Duration,
    /// The longest gap between two runs still counted as observed time. Beyond it, time is
    /// "no data" rather than assumed up (a cron that silently stopped must not look like uptime).
    pub max_gap: Duration,
    /// A region whose latest report is older than this does not vote in `run --merge` and is
    /// shown as stale.
    pub stale_after: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            store: EnvString::from(".upstate/history"),
            raw_retention: Duration::from_secs(7 * 86_400),
            max_gap: Duration::from_secs(15 * 60),
            stale_after: Duration::from_secs(15 * 60),
        }
    }
}

/// `[publish]`: where the built site goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishConfig {
    /// A folder, `s3://bucket/prefix`, or `git+<repo-url>#<branch>`.
    pub target: Secret,
    /// Where `build` writes the site before publishing (relative to the config file).
    pub output: EnvString,
}

impl Default for PublishConfig {
    fn default() -> Self {
        Self {
            target: Secret::new("public"),
            output: EnvString::from(".upstate/site"),
        }
    }
}

/// `[[notify]]`: where state changes and pages are sent. The kind's own keys are its type in
/// `config::notify` (see [`notify::TargetSpec`]); its sending lives under `src/notify/`.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// What components' `page = [...]` and `upstate notify test NAME` call it.
    pub name: Option<String>,
    /// Each attempt's deadline.
    pub timeout: Duration,
    pub target: notify::TargetSpec,
    /// Line of the `[[notify]]` header, for later errors.
    pub line: usize,
}

/// Keys every `[[notify]]` accepts, whatever its kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyCommonKeys {
    kind: String,
    name: Option<String>,
    timeout: Option<Duration>,
}

const NOTIFY_COMMON_KEYS: [&str; 3] = ["kind", "name", "timeout"];

const fn default_notify_timeout() -> Duration {
    Duration::from_secs(5)
}

/// Keys every `[[component]]` accepts, whatever its kind.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonKeys {
    id: String,
    label: EnvString,
    kind: String,
    group: Option<EnvString>,
    description: Option<EnvString>,
    timeout: Option<Duration>,
    latency_target: Option<Duration>,
    fail_after: Option<u32>,
    degraded_above: Option<f64>,
    down_above: Option<f64>,
    degraded_below: Option<f64>,
    down_below: Option<f64>,
    page: Option<Vec<String>>,
    page_when: Option<PageWhen>,
    page_after: Option<Duration>,
}

const COMMON_KEYS: [&str; 15] = [
    "id",
    "label",
    "kind",
    "group",
    "description",
    "timeout",
    "latency_target",
    "fail_after",
    crate::probe::thresholds::KEYS[0],
    crate::probe::thresholds::KEYS[1],
    crate::probe::thresholds::KEYS[2],
    crate::probe::thresholds::KEYS[3],
    "page",
    "page_when",
    "page_after",
];

/// One `[[component]]`: a tile on the page and the probe behind it.
#[derive(Debug, Clone)]
pub struct Component {
    /// Stable id (`[a-z0-9_-]+`): file names, URLs, incident references.
    pub id: String,
    pub label: String,
    pub group: Option<String>,
    pub description: Option<String>,
    /// This component's deadline; `[run] timeout` when unset.
    pub timeout: Duration,
    /// Latency above it => degraded.
    pub latency_target: Option<Duration>,
    /// Consecutive failed runs before the component is down; fewer => degraded.
    pub fail_after: u32,
    /// Limits on the probe's main value (latency, queue depth, lag…), one rule for every kind.
    pub thresholds: crate::probe::Thresholds,
    pub probe: ProbeSpec,
    /// Who is paged, when.
    pub page: PageRule,
    /// Line of the `[[component]]` header, for later errors.
    pub line: usize,
}

impl crate::probe::Target for Component {
    fn id(&self) -> &str {
        &self.id
    }
    fn spec(&self) -> &ProbeSpec {
        &self.probe
    }
    fn timeout(&self) -> Duration {
        self.timeout
    }
    fn thresholds(&self) -> &crate::probe::Thresholds {
        &self.thresholds
    }
}

/// A config error pinned to a place in a file.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", place(.file, .line, .column))]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Byte span in the file, for source snippets.
    pub span: Option<Range<usize>>,
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// `file:line:column`, or only `file` for an error with no place in it (line 0: unreadable).
fn place(file: &Path, line: &usize, column: &usize) -> String {
    if *line == 0 {
        file.display().to_string()
    } else {
        format!("{}:{line}:{column}", file.display())
    }
}

/// A `${NAME}` in the config whose variable is not set where `check` runs.
#[derive(Debug, Clone)]
pub struct UnsetVariable {
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    pub span: Range<usize>,
}

/// Every place `text` writes `${NAME}` for one of `names`.
fn unset_uses(text: &str, path: &Path, names: &[String]) -> Vec<UnsetVariable> {
    let mut uses = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue; // a comment: nothing in it was read
        }
        for name in names {
            let needle = format!("${{{name}}}");
            for (at, _) in line.match_indices(&needle) {
                let start = line.as_ptr() as usize - text.as_ptr() as usize + at;
                uses.push(UnsetVariable {
                    name: name.clone(),
                    file: path.to_path_buf(),
                    line: index + 1,
                    column: line[..at].chars().count() + 1,
                    span: start..start + needle.len(),
                });
            }
        }
    }
    uses
}

/// Every error found in one file.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors {
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
            if let Some(help) = &e.help {
                write!(f, "\n  help: {help}")?;
            }
        }
        Ok(())
    }
}

/// Collects errors while one file is read.
struct Errors<'a> {
    file: &'a Path,
    text: &'a str,
    lines: document::LineIndex,
    list: Vec<ConfigError>,
}

impl Errors<'_> {
    fn push(
        &mut self,
        offset: usize,
        span: Option<Range<usize>>,
        message: String,
        help: Option<String>,
    ) {
        // Columns count characters, so a line with "é" before the error still points right.
        let (line, byte_column) = self.lines.line_col(offset);
        let line_start = offset.saturating_sub(byte_column - 1);
        let column = self
            .text
            .get(line_start..offset)
            .map_or(byte_column, |s| s.chars().count() + 1);
        // Messages from our own deserializers carry their help after a `= help:` line.
        let (message, help) = match message.split_once("\n= help: ") {
            Some((m, h)) => (m.to_owned(), Some(h.to_owned())),
            None => (message, help),
        };
        self.list.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            span,
            message,
            help,
        });
    }

    /// Records a deserialization error of `section`, with a suggestion for unknown keys.
    fn push_positioned(&mut self, section: &Section, err: Positioned, extra_keys: &[&str]) {
        // Missing fields have no useful span: point at the section header instead.
        let offset = match &err.span {
            Some(span)
                if span.start >= section.header
                    && !(span.start == 0 && span.end >= self.text.len()) =>
            {
                span.start
            }
            _ => section.header,
        };
        let mut help = None;
        let mut message = err.message.clone();
        if let Some((field, mut expected)) = document::unknown_field(&err.message) {
            expected.extend(extra_keys.iter().map(|k| (*k).to_owned()));
            message = format!(
                "unknown key `{field}` in [{}{}]",
                if section.is_array { "[" } else { "" },
                section_title(section)
            );
            help = Some(match closest(&field, expected.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!("known keys here: {}", expected.join(", ")),
            });
        } else if let Some(field) = err
            .message
            .strip_prefix("missing field `")
            .and_then(|r| r.split('`').next())
        {
            help = Some(format!("add `{field} = ...` to this section"));
        }
        self.push(offset, err.span, message, help);
    }
}

fn section_title(section: &Section) -> String {
    if section.is_array {
        format!("{}]", section.name)
    } else {
        section.name.clone()
    }
}

impl Config {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors {
            errors: vec![ConfigError {
                file: path.to_path_buf(),
                line: 0,
                column: 0,
                span: None,
                message: format!("cannot read the config file: {e}"),
                help: Some(
                    "pass the file with --config PATH, or create one with `upstate init`"
                        .to_owned(),
                ),
            }],
        })?;
        Self::parse(&text, path)
    }

    /// Reads the file at `path` as [`Config::load`] does, but with every unset `${NAME}` read as
    /// empty text; for `check`, which must judge a file without the secrets a run has (a pull
    /// request from a fork gets none). A value that uses an unset variable cannot be judged, so
    /// errors on its line are left out; every use is returned, with its place, for the caller
    /// to print as a note (or as an error with `--strict`). The config comes back whenever the
    /// file could be read at all, so incident files can still be checked against its components.
    pub fn load_allowing_unset(
        path: &Path,
    ) -> (Option<Self>, Vec<ConfigError>, Vec<UnsetVariable>) {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(_) => {
                let errors = Self::load(path).err().map(|e| e.errors).unwrap_or_default();
                return (None, errors, Vec::new());
            }
        };
        let (parsed, names) = secret::allowing_unset(|| Self::parse_collecting(&text, path));
        let uses = unset_uses(&text, path, &names);
        match parsed {
            Ok((config, mut errors)) => {
                errors.retain(|e| !uses.iter().any(|u| u.line == e.line));
                (Some(config), errors, uses)
            }
            Err(errors) => (None, errors.errors, uses),
        }
    }

    /// Parses `text` as if read from `path`, collecting every error it can find.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigErrors> {
        let (config, errors) = Self::parse_collecting(text, path)?;
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors { errors })
        }
    }

    /// Parses `text`: `Err` when it is not TOML at all; otherwise the config as far as it could
    /// be read, with every error found in it.
    fn parse_collecting(text: &str, path: &Path) -> Result<(Self, Vec<ConfigError>), ConfigErrors> {
        let mut errors = Errors {
            file: path,
            text,
            lines: document::LineIndex::new(text),
            list: Vec::new(),
        };
        // Syntax and unknown top-level tables first: nothing else can be trusted without them.
        if !check_top_level(text, &mut errors) {
            return Err(ConfigErrors {
                errors: errors.list,
            });
        }
        let all = document::sections(text);
        let mut config = Config::empty(path);
        for section in &all {
            config.read_section(text, section, &mut errors);
        }
        config.validate(&mut errors, &all);
        // In file order, whichever pass found them: read top to bottom, fixed top to bottom.
        errors.list.sort_by_key(|e| (e.line, e.column));
        Ok((config, errors.list))
    }

    /// A config read from `path` with every section at its default and no list entries yet.
    fn empty(path: &Path) -> Self {
        Config {
            path: path.to_path_buf(),
            site: SiteConfig::default(),
            run: RunConfig::default(),
            history: HistoryConfig::default(),
            publish: PublishConfig::default(),
            s3: None,
            snapshot: None,
            components: Vec::new(),
            notify: Vec::new(),
            objectives: Vec::new(),
            broken_component_ids: Vec::new(),
        }
    }

    /// Reads one `[table]` or `[[array]]` entry into its field, pushing its errors; a
    /// component that cannot be read leaves its id in `broken_component_ids`.
    fn read_section(&mut self, text: &str, section: &Section, errors: &mut Errors<'_>) {
        let masked = document::Masked::section(text, section, std::slice::from_ref(&section.body));
        macro_rules! table {
            ($field:expr) => {
                match masked.parse() {
                    Ok(value) => $field = value,
                    // Read again key by key, so one error hides no other.
                    Err(_) => {
                        if let Some(value) = read_table(text, section, errors) {
                            $field = value;
                        }
                    }
                }
            };
        }
        match (section.name.as_str(), section.is_array) {
            ("site", false) => table!(self.site),
            ("run", false) => table!(self.run),
            ("history", false) => table!(self.history),
            ("publish", false) => table!(self.publish),
            ("s3", false) => table!(self.s3),
            ("snapshot", false) => table!(self.snapshot),
            ("notify", true) => {
                if let Some(n) = parse_notify(text, section, errors) {
                    self.notify.push(n);
                }
            }
            ("objective", true) => {
                let mut one: Option<ObjectiveConfig> = None;
                table!(one);
                self.objectives.extend(one.map(|mut o| {
                    o.line = errors.lines.line_col(section.header).0;
                    o
                }));
            }
            ("component", true) => match parse_component(text, section, errors) {
                Some(c) => self.components.push(c),
                None => self.broken_component_ids.extend(
                    masked
                        .parse::<table::KeyMap>()
                        .ok()
                        .and_then(|keys| string_key(&keys, "id").map(str::to_owned)),
                ),
            },
            _ => {} // nested sub-tables; TopLevel already refused unknown names
        }
    }

    /// Checks what serde cannot, section by section, and completes what other sections lend.
    /// Every problem is pushed to `errors`; the config is only usable when there are none.
    fn validate(&mut self, errors: &mut Errors<'_>, sections: &[Section]) {
        self.check_site(errors, sections);
        self.check_locations(errors, sections);
        if self.run.concurrency == 0 {
            let run = sections
                .iter()
                .find(|s| s.name == "run")
                .map_or(0, |s| s.header);
            errors.push(
                run,
                None,
                "`concurrency` must be at least 1".to_owned(),
                None,
            );
        }
        self.lend_settings(errors);
        // Where the build writes, judged on the paths as written (again on the real paths
        // before anything is written: publish::guard).
        for problem in places::problems(self, places::lexical) {
            let offset = sections
                .iter()
                .find(|s| s.name == "publish")
                .map_or(0, |s| key_offset(errors.text, s, problem.key));
            errors.push(offset, None, problem.message, Some(problem.help));
        }
        self.validate_paging(errors);
        self.validate_objectives(errors);
        self.complete_components(errors);
    }

    /// `[site]`: an absolute base URL and an IANA time zone.
    fn check_site(&self, errors: &mut Errors<'_>, sections: &[Section]) {
        let header_of = |name: &str| {
            sections
                .iter()
                .find(|s| s.name == name)
                .map_or(0, |s| s.header)
        };
        if !(self.site.base_url.starts_with("https://")
            || self.site.base_url.starts_with("http://"))
        {
            errors.push(
                key_value_offset(errors.text, sections, "site", "base_url")
                    .unwrap_or_else(|| header_of("site")),
                None,
                format!(
                    "`base_url` must be an absolute http(s) URL, not `{}`",
                    self.site.base_url
                ),
                Some("write e.g. base_url = \"https://status.example.com\"".to_owned()),
            );
        }
        if self.site.timezone.parse::<chrono_tz::Tz>().is_err() {
            let offset = key_value_offset(errors.text, sections, "site", "timezone")
                .unwrap_or_else(|| header_of("site"));
            let near = closest(
                &self.site.timezone,
                chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()),
            );
            errors.push(
                offset,
                None,
                format!(
                    "`timezone` `{}` is not an IANA time zone",
                    self.site.timezone
                ),
                Some(match near {
                    Some(near) => format!("did you mean `{near}`? (IANA names, e.g. \"Europe/Berlin\", \"America/New_York\", \"UTC\")"),
                    None => "write an IANA zone name, e.g. \"Europe/Berlin\", \"America/New_York\" or \"UTC\"".to_owned(),
                }),
            );
        }
        self.check_logo(errors, sections);
    }

    /// `[site] logo` is a path inside the published site: never a URL (no request to another
    /// host) and never a way out of the folder.
    fn check_logo(&self, errors: &mut Errors<'_>, sections: &[Section]) {
        if let Some(logo) = &self.site.logo {
            let bad = logo.is_empty()
                || logo.contains(':')
                || logo.starts_with('/')
                || logo.contains('\\')
                || logo.split('/').any(|part| part == ".." || part.is_empty());
            if bad {
                let offset = key_value_offset(errors.text, sections, "site", "logo")
                    .unwrap_or_else(|| {
                        sections
                            .iter()
                            .find(|s| s.name == "site")
                            .map_or(0, |s| s.header)
                    });
                errors.push(
                    offset,
                    None,
                    format!("`logo` `{logo}` is not a path inside the site"),
                    Some(
                        "put the image in static/ and write e.g. logo = \"logo.svg\" (no URL: the page makes no request to another host)"
                            .to_owned(),
                    ),
                );
            }
        }
    }

    /// `[history] store` and `[publish] target` name a place upstate can use.
    fn check_locations(&self, errors: &mut Errors<'_>, sections: &[Section]) {
        for (section, key, value) in [
            ("history", "store", self.history.store.as_str()),
            ("publish", "target", self.publish.target.expose()),
        ] {
            if let Err((message, help)) = check_location(value, &self.base_dir(), key == "store") {
                let offset = sections
                    .iter()
                    .find(|s| s.name == section && !s.is_array)
                    .map_or(0, |s| key_offset(errors.text, s, key));
                errors.push(
                    offset,
                    None,
                    format!("[{section}] `{key}`: {message}"),
                    Some(help),
                );
            }
        }
    }

    /// Kinds that borrow settings from elsewhere in the file get them now, so a probe never
    /// needs the whole config: the push outbox runs on `[snapshot] dsn` unless it has its own,
    /// a storage bucket uses `[s3]` (its location is parsed here, its client made when probed).
    fn lend_settings(&mut self, errors: &mut Errors<'_>) {
        let snapshot_dsn = self.snapshot.as_ref().map(|s| s.dsn.clone());
        let s3 = self.s3.clone();
        for c in &mut self.components {
            let line = c.line;
            if let ProbeSpec::Storage(s) = &mut c.probe
                && let Some(bucket) = &s.bucket
            {
                match crate::s3::S3Location::parse(bucket) {
                    Ok(loc) => s.s3 = Some((loc, s3.clone())),
                    Err(e) => {
                        let offset = line_offset(errors.text, line);
                        errors.push(
                            offset,
                            None,
                            format!("`bucket`: {e}"),
                            Some("write bucket = \"s3://bucket/prefix\" and set [s3]".to_owned()),
                        );
                    }
                }
            }
        }
        for c in &mut self.components {
            if let ProbeSpec::Push(p) = &mut c.probe
                && p.outbox.is_some()
                && p.dsn.is_none()
            {
                match &snapshot_dsn {
                    Some(dsn) => p.dsn = Some(dsn.clone()),
                    None => {
                        let offset = line_offset(errors.text, c.line);
                        errors.push(
                            offset,
                            None,
                            "the push `outbox` query needs a database".to_owned(),
                            Some("add `dsn = ...` to this component, or a [snapshot] section with `dsn`".to_owned()),
                        );
                    }
                }
            }
        }
    }

    /// Gives components without a `timeout` the `[run]` one, and refuses an id used twice.
    fn complete_components(&mut self, errors: &mut Errors<'_>) {
        let mut seen = BTreeMap::new();
        for c in &mut self.components {
            if c.timeout == Duration::default() {
                c.timeout = self.run.timeout;
            }
            if let Some(first) = seen.insert(c.id.clone(), c.line) {
                let offset = line_offset(errors.text, c.line);
                errors.push(
                    offset,
                    None,
                    format!(
                        "component id `{}` is used twice (first on line {first})",
                        c.id
                    ),
                    Some("ids must be unique: they name files and URLs".to_owned()),
                );
            }
        }
    }

    /// `[[notify]]` names are unique; every name a component's `page` lists exists.
    fn validate_paging(&mut self, errors: &mut Errors<'_>) {
        let mut names = BTreeMap::new();
        for n in &self.notify {
            if let Some(name) = &n.name
                && let Some(first) = names.insert(name.clone(), n.line)
            {
                errors.push(
                    line_offset(errors.text, n.line),
                    None,
                    format!("notify name `{name}` is used twice (first on line {first})"),
                    Some(
                        "names are how components' `page` lists find a target: make them unique"
                            .to_owned(),
                    ),
                );
            }
        }
        let known: Vec<&str> = names.keys().map(String::as_str).collect();
        for c in &self.components {
            for target in &c.page.targets {
                if names.contains_key(target) {
                    continue;
                }
                let offset = page_key_offset(errors.text, c.line);
                let help = match closest(target, known.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None if known.is_empty() => {
                        "give the target a name: add `name = \"oncall\"` to its [[notify]] section"
                            .to_owned()
                    }
                    None => format!("known names: {}", known.join(", ")),
                };
                errors.push(
                    offset,
                    None,
                    format!(
                        "component `{}` pages `{target}`, but no [[notify]] has that name",
                        c.id
                    ),
                    Some(help),
                );
            }
        }
    }

    /// Every `[[objective]]` names known components, at least one.
    fn validate_objectives(&self, errors: &mut Errors<'_>) {
        let ids: Vec<&str> = self.components.iter().map(|c| c.id.as_str()).collect();
        for o in &self.objectives {
            let offset = line_offset(errors.text, o.line);
            if o.components.is_empty() {
                errors.push(
                    offset,
                    None,
                    format!("objective `{}` names no components", o.name),
                    Some("write components = [\"api\", ...] with ids of [[component]]s".to_owned()),
                );
            }
            for id in o.components.iter().filter(|id| !ids.contains(&id.as_str())) {
                errors.push(
                    offset,
                    None,
                    format!("objective `{}` names unknown component `{id}`", o.name),
                    closest(id, ids.iter().copied()).map(|near| format!("did you mean `{near}`?")),
                );
            }
            let names: Vec<&str> = self
                .notify
                .iter()
                .filter_map(|n| n.name.as_deref())
                .collect();
            for (message, help) in o.burn_problems(&names, self.has_default_pager()) {
                errors.push(offset, None, message, Some(help));
            }
        }
    }

    /// The folder relative paths in the config are resolved against.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }

    /// The site's incidents folder (`incidents/` beside the config file).
    pub fn incidents_dir(&self) -> PathBuf {
        self.base_dir().join("incidents")
    }

    /// `path` resolved against the config file's folder.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir().join(p)
        }
    }

    /// Ids of all components, in page order.
    pub fn component_ids(&self) -> Vec<&str> {
        self.components.iter().map(|c| c.id.as_str()).collect()
    }
}

/// Offset of the `page = ` key of the section starting on `line` (else the header).
fn page_key_offset(text: &str, line: usize) -> usize {
    let start = line_offset(text, line);
    let mut offset = start;
    for (i, l) in text[start..].split_inclusive('\n').enumerate() {
        if i > 0 && l.trim_start().starts_with('[') {
            break;
        }
        let key = l.trim_start();
        if key.starts_with("page") && key[4..].trim_start().starts_with('=') {
            return offset + (l.len() - key.len());
        }
        offset += l.len();
    }
    start
}

/// Judges a `[history] store` or `[publish] target`: a folder, `s3://…` or `git+<url>#<branch>`.
/// Anything else shaped like a URL is refused rather than taken as a folder named `ftp:`.
/// Messages name the scheme only: the value may carry a token.
fn check_location(value: &str, base: &Path, is_store: bool) -> Result<(), (String, String)> {
    const SUPPORTED: &str = "use a folder path, `s3://bucket/prefix`, or `git+<repo-url>#<branch>`";
    if let Some(rest) = value.strip_prefix("git+") {
        if rest.is_empty() {
            return Err((
                "`git+` needs a repository URL".to_owned(),
                "write `git+<repo-url>#<branch>`".to_owned(),
            ));
        }
        return crate::git::Remote::parse(value, base, "main")
            .map_err(|e| {
                let (message, help) = e
                    .reason
                    .split_once("\n= help: ")
                    .map_or((e.reason.as_str(), SUPPORTED), |(m, h)| (m, h));
                (message.to_owned(), help.to_owned())
            })
            .and_then(|(_, options)| match options.as_str() {
                // The publish target's `?mode=` is judged where the target is built.
                _ if !is_store => Ok(()),
                "" => Ok(()),
                _ => Err((
                    format!(
                        "a history store takes no `?{options}`: its branch always holds one commit"
                    ),
                    "write `git+<repo-url>#<branch>`".to_owned(),
                )),
            });
    }
    match crate::git::url_scheme(value) {
        Some((scheme, _)) if scheme != "s3" => Err((
            format!("the `{scheme}://` scheme is not supported"),
            SUPPORTED.to_owned(),
        )),
        _ => Ok(()),
    }
}

/// Offset of the line setting `key` in `section` (the header when the key is not written).
fn key_offset(text: &str, section: &Section, key: &str) -> usize {
    let body = section.body.start.min(text.len())..section.body.end.min(text.len());
    let mut offset = body.start;
    for line in text[body].split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return offset + (line.len() - trimmed.len());
        }
        offset += line.len();
    }
    section.header
}

/// The byte offset of `key`'s value in the first `[section]`, for errors that point at it.
fn key_value_offset(text: &str, sections: &[Section], section: &str, key: &str) -> Option<usize> {
    let body = sections
        .iter()
        .find(|s| s.name == section && !s.is_array)?
        .body
        .clone();
    let mut offset = body.start;
    for line in text.get(body)?.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            let after_eq = line.len() - rest.trim_start().len() + 1;
            let value = line[after_eq..].len() - line[after_eq..].trim_start().len();
            return Some(offset + after_eq + value);
        }
        offset += line.len();
    }
    None
}

fn line_offset(text: &str, line: usize) -> usize {
    text.split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum()
}

/// The top level: syntax and table names only; sections are read one by one afterwards.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read only for its errors
struct TopLevel {
    site: Option<serde::de::IgnoredAny>,
    run: Option<serde::de::IgnoredAny>,
    history: Option<serde::de::IgnoredAny>,
    publish: Option<serde::de::IgnoredAny>,
    s3: Option<serde::de::IgnoredAny>,
    snapshot: Option<serde::de::IgnoredAny>,
    component: Option<serde::de::IgnoredAny>,
    notify: Option<serde::de::IgnoredAny>,
    objective: Option<serde::de::IgnoredAny>,
}

/// A `[[component]]` or `[[notify]]` section read as keys: the keys every kind shares and the
/// kind's own, each with its bytes (each half is then parsed by its own struct, which denies
/// unknown keys), the key map, and the masked section that positions are relative to.
struct SplitSection {
    masked: document::Masked,
    keys: table::KeyMap,
    common: Vec<(String, Range<usize>)>,
    specific: Vec<(String, Range<usize>)>,
}

fn split_section(
    text: &str,
    section: &Section,
    errors: &mut Errors<'_>,
    common_keys: &[&str],
) -> Option<SplitSection> {
    let masked = document::Masked::section(text, section, std::slice::from_ref(&section.body));
    let keys: table::KeyMap = match masked.parse() {
        Ok(k) => k,
        Err(e) => {
            errors.push_positioned(section, e, &[]);
            return None;
        }
    };
    let (common, specific) = table::key_ranges(&keys, &masked)
        .into_iter()
        .partition(|(k, _)| common_keys.contains(&k.as_str()));
    Some(SplitSection {
        masked,
        keys,
        common,
        specific,
    })
}

/// Whether `text` is TOML whose top-level tables are all known; if not, pushes the one error
/// (with the nearest known table's name as help when one is unknown).
fn check_top_level(text: &str, errors: &mut Errors<'_>) -> bool {
    let Err(e) = toml::from_str::<TopLevel>(text) else {
        return true;
    };
    let offset = e.span().map_or(0, |s| s.start);
    let mut help = None;
    let mut message = e.message().to_owned();
    if let Some((field, expected)) = document::unknown_field(e.message()) {
        message = format!("unknown table `{field}`");
        help = closest(&field, expected.iter().map(String::as_str))
            .map(|near| format!("did you mean `[{near}]`?"));
    }
    errors.push(offset, e.span(), message, help);
    false
}

/// Reads a plain table (`[site]`, `[[objective]]`, ...) key by key, reporting every error.
fn read_table<T: serde::de::DeserializeOwned>(
    text: &str,
    section: &Section,
    errors: &mut Errors<'_>,
) -> Option<T> {
    let masked = document::Masked::section(text, section, std::slice::from_ref(&section.body));
    let keys: table::KeyMap = match masked.parse() {
        Ok(k) => k,
        Err(e) => {
            errors.push_positioned(section, e, &[]);
            return None;
        }
    };
    let keep = table::key_ranges(&keys, &masked);
    table::read_all(text, section, keep, &[], errors, |m| m.parse())
}

/// The value of a string key of the section, if it has one (a kind when the rest failed).
fn string_key<'k>(keys: &'k table::KeyMap, name: &str) -> Option<&'k str> {
    keys.iter()
        .find(|(k, _)| k.get_ref() == name)
        .and_then(|(_, v)| v.get_ref().as_str())
}

/// Reads one `[[component]]`: the common keys, then the kind's own (each struct denies unknown
/// keys; every error of each half is reported, see [`table`]), then what serde cannot check;
/// `None` after reporting what is wrong.
fn parse_component(text: &str, section: &Section, errors: &mut Errors<'_>) -> Option<Component> {
    let split = split_section(text, section, errors, &COMMON_KEYS)?;
    let Some(common) = table::read_all(text, section, split.common.clone(), &[], errors, |m| {
        m.parse::<CommonKeys>()
    }) else {
        // The kind's own keys can still be judged: a bad `timeout` hides no unknown key.
        if let Some(kind) = string_key(&split.keys, "kind").filter(|k| ProbeSpec::KINDS.contains(k))
        {
            parse_kind_keys(text, kind, &split, section, errors);
        }
        return None;
    };
    let (line, _) = errors.lines.line_col(section.header);
    check_component_id(&common.id, &split, section, errors);
    let probe = parse_probe(text, &common.kind, &split, section, errors)?;
    if common.fail_after == Some(0) {
        errors.push(
            split.value_offset("fail_after").unwrap_or(section.header),
            None,
            "`fail_after` must be at least 1".to_owned(),
            Some("fail_after = 1 shows the component down on its first failed check; 2 waits for a second one in a row".to_owned()),
        );
        return None;
    }
    let thresholds = parse_thresholds(&common, &probe, &split, section, errors)?;
    Some(Component {
        id: common.id,
        label: common.label.0,
        group: common.group.map(|g| g.0),
        description: common.description.map(|d| d.0),
        timeout: common.timeout.unwrap_or_default(),
        latency_target: common.latency_target,
        fail_after: common.fail_after.unwrap_or(1).max(1),
        thresholds,
        probe,
        page: PageRule {
            targets: common.page.unwrap_or_default(),
            when: common.page_when.unwrap_or_default(),
            after: common.page_after.unwrap_or_default(),
        },
        line,
    })
}

impl SplitSection {
    /// Where `key`'s value starts in the file, if the section has the key.
    fn value_offset(&self, key: &str) -> Option<usize> {
        self.keys
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v.span().start + self.masked.offset)
    }
}

/// Ids appear in URLs and file names: `[a-z0-9_-]+` only.
fn check_component_id(id: &str, split: &SplitSection, section: &Section, errors: &mut Errors<'_>) {
    let ok = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        let offset = split
            .keys
            .keys()
            .find(|k| k.get_ref() == "id")
            .map_or(section.header, |k| k.span().start + split.masked.offset);
        errors.push(
            offset,
            None,
            format!("component id `{id}` must match [a-z0-9_-]+"),
            Some(
                "ids appear in URLs and file names: use lowercase letters, digits, `-` and `_`"
                    .to_owned(),
            ),
        );
    }
}

/// A kind's own keys, parsed by its struct, every error reported.
fn parse_kind_keys(
    text: &str,
    kind: &str,
    split: &SplitSection,
    section: &Section,
    errors: &mut Errors<'_>,
) -> Option<ProbeSpec> {
    table::read_all(
        text,
        section,
        split.specific.clone(),
        &COMMON_KEYS,
        errors,
        |m| ProbeSpec::parse(kind, m).map_err(Positioned::from),
    )
}

/// A known kind, its own keys parsed by its struct, and what its `validate` checks.
fn parse_probe(
    text: &str,
    kind: &str,
    split: &SplitSection,
    section: &Section,
    errors: &mut Errors<'_>,
) -> Option<ProbeSpec> {
    let kind_offset = split.value_offset("kind").unwrap_or(section.header);
    if !ProbeSpec::KINDS.contains(&kind) {
        let help = match closest(kind, ProbeSpec::KINDS) {
            Some(near) => format!(
                "did you mean `{near}`? known kinds: {}",
                ProbeSpec::KINDS.join(", ")
            ),
            None => format!("known kinds: {}", ProbeSpec::KINDS.join(", ")),
        };
        errors.push(
            kind_offset,
            None,
            format!("unknown component kind `{kind}`"),
            Some(help),
        );
        return None;
    }
    let probe = parse_kind_keys(text, kind, split, section, errors)?;
    if let Err(message) = probe.validate() {
        // Messages name their key first (`address` ...): point at that key's value.
        let offset = message
            .strip_prefix('`')
            .and_then(|m| m.split('`').next())
            .and_then(|key| split.value_offset(key))
            .unwrap_or(kind_offset);
        errors.push(offset, None, message, None);
        return None;
    }
    Some(probe)
}

/// The `_above` / `_below` keys: consistent, and only on a kind that measures a number.
fn parse_thresholds(
    common: &CommonKeys,
    probe: &ProbeSpec,
    split: &SplitSection,
    section: &Section,
    errors: &mut Errors<'_>,
) -> Option<crate::probe::Thresholds> {
    let thresholds = crate::probe::Thresholds {
        degraded_above: common.degraded_above,
        down_above: common.down_above,
        degraded_below: common.degraded_below,
        down_below: common.down_below,
    };
    let threshold_offset = split
        .keys
        .keys()
        .find(|k| crate::probe::thresholds::KEYS.contains(&k.get_ref().as_str()))
        .map_or(section.header, |k| k.span().start + split.masked.offset);
    if let Err(message) = thresholds.validate() {
        errors.push(threshold_offset, None, message, None);
        return None;
    }
    if !thresholds.is_empty() && probe.measure().is_none() {
        errors.push(
            threshold_offset,
            None,
            format!("kind `{}` measures no number to hold a threshold against", common.kind),
            Some("remove the `_above`/`_below` keys, or use `latency_target` / the kind's own limits".to_owned()),
        );
        return None;
    }
    Some(thresholds)
}

/// Reads one `[[notify]]`: the common keys, then the kind's own (each struct denies unknown keys).
fn parse_notify(text: &str, section: &Section, errors: &mut Errors<'_>) -> Option<NotifyConfig> {
    use notify::TargetSpec;
    let SplitSection {
        masked,
        keys,
        common,
        specific,
    } = split_section(text, section, errors, &NOTIFY_COMMON_KEYS)?;
    let specific_errors = |errors: &mut Errors<'_>, kind: &str| {
        table::read_all(
            text,
            section,
            specific.clone(),
            &NOTIFY_COMMON_KEYS,
            errors,
            |m| TargetSpec::parse(kind, m).map_err(Positioned::from),
        )
    };
    let Some(common) = table::read_all(text, section, common, &[], errors, |m| {
        m.parse::<NotifyCommonKeys>()
    }) else {
        // The kind's own keys can still be judged, as for components.
        if let Some(kind) = string_key(&keys, "kind").filter(|k| TargetSpec::KINDS.contains(k)) {
            specific_errors(errors, kind);
        }
        return None;
    };
    let (line, _) = errors.lines.line_col(section.header);
    let offset_of = |name: &str| {
        keys.iter()
            .find(|(k, _)| k.get_ref() == name)
            .map_or(section.header, |(_, v)| v.span().start + masked.offset)
    };
    if let Some(name) = &common.name {
        check_notify_name(name, offset_of("name"), errors);
    }
    if !check_notify_kind(&common.kind, offset_of("kind"), errors) {
        return None;
    }
    let mut target = specific_errors(errors, &common.kind)?;
    let base_dir = errors
        .file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    if let Err((key, message)) = target.validate(&base_dir) {
        // Kept (the file is invalid anyway), so components' `page` lists still find its name:
        // `check` without secrets must not report a missing target for a missing variable.
        errors.push(offset_of(key), None, message, None);
    }
    Some(NotifyConfig {
        name: common.name,
        timeout: common.timeout.unwrap_or_else(default_notify_timeout),
        target,
        line,
    })
}

/// A `[[notify]] name` must be usable in components' `page` lists and in file names:
/// `[a-z0-9_-]+`. Pushes an error at `offset` otherwise.
fn check_notify_name(name: &str, offset: usize, errors: &mut Errors<'_>) {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !ok {
        errors.push(
            offset,
            None,
            format!("notify name `{name}` must match [a-z0-9_-]+"),
            Some("write e.g. name = \"oncall-pd\"".to_owned()),
        );
    }
}

/// Whether `kind` is a known notifier kind; pushes an error at `offset`, with the nearest
/// kind as help, if not.
fn check_notify_kind(kind: &str, offset: usize, errors: &mut Errors<'_>) -> bool {
    use notify::TargetSpec;
    if TargetSpec::KINDS.contains(&kind) {
        return true;
    }
    let help = match closest(kind, TargetSpec::KINDS) {
        Some(near) => format!(
            "did you mean `{near}`? known kinds: {}",
            TargetSpec::KINDS.join(", ")
        ),
        None => format!("known kinds: {}", TargetSpec::KINDS.join(", ")),
    };
    errors.push(
        offset,
        None,
        format!("unknown notify kind `{kind}`"),
        Some(help),
    );
    false
}
