//! Incidents and maintenance notices: Markdown files with YAML front matter under `incidents/`.
//!
//! The contract is `../shared/reference/incident.example.md` and `maintenance.example.md`. Every
//! error names the file, the line and the field, and says how to fix it; `upstate check` reports
//! all errors of all files at once.

pub mod cache;
pub mod front_matter;
pub mod lifecycle;
pub mod markdown;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::config::closest;
use crate::state::ComponentState;

/// `incident` or `maintenance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    #[default]
    Incident,
    Maintenance,
}

/// How bad an incident is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Minor,
    Major,
    Critical,
}

impl Severity {
    /// The name in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minor => "minor",
            Self::Major => "major",
            Self::Critical => "critical",
        }
    }
}

/// Incident statuses, then maintenance statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Scheduled,
    InProgress,
    Completed,
    Cancelled,
}

impl Status {
    /// Allowed for `kind: incident`.
    pub const INCIDENT: [Status; 4] = [
        Self::Investigating,
        Self::Identified,
        Self::Monitoring,
        Self::Resolved,
    ];
    /// Allowed for `kind: maintenance`.
    pub const MAINTENANCE: [Status; 4] = [
        Self::Scheduled,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
    ];

    /// The name in files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Investigating => "investigating",
            Self::Identified => "identified",
            Self::Monitoring => "monitoring",
            Self::Resolved => "resolved",
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One entry of the public timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    pub at: DateTime<Utc>,
    pub status: Status,
    /// Markdown, untrusted.
    pub message: String,
    /// `message` as sanitised HTML ([`markdown::to_safe_html`]); empty in a private incident.
    pub message_html: String,
}

/// A parsed, validated incident or maintenance file (deserialized only from the parse cache,
/// [`cache::ParseCache`], which holds what [`parse`] returned).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// The public slug of a public incident: the file stem in `[a-z0-9-]`
    /// (`2026-11-02-api-errors`; `Zürich` becomes `zurich`), made unique by [`load_dir`].
    /// Private incidents are published under an opaque id instead (see `model`); use
    /// [`Incident::file_stem`] for the file's own name.
    pub slug: String,
    pub path: PathBuf,
    pub kind: Kind,
    pub title: String,
    pub severity: Option<Severity>,
    /// Explicit status from the file (maintenance may leave it to the clock).
    pub status: Option<Status>,
    pub components: Vec<String>,
    pub impact: Option<ComponentState>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub contained_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// Title, body and update messages never leave the repository.
    pub private: bool,
    /// While open, its components trigger no new page (on-call already works on it); a page
    /// already open still resolves when the component recovers. Additive to the contract.
    pub suppress_pages: bool,
    /// Newest first.
    pub updates: Vec<Update>,
    /// The postmortem, Markdown, untrusted.
    pub body: String,
    /// `body` as sanitised HTML ([`markdown::to_safe_html`]); empty in a private incident,
    /// whose text never leaves the repository. Rendered once, at parse time, so a parse that is
    /// remembered ([`cache::ParseCache`]) remembers its HTML too.
    pub body_html: String,
    /// What it was parsed from: [`cache::source_digest`] of (path, text, component ids). An
    /// incident is a function of these, so pages made from it are kept while it is unchanged
    /// (see `model::IncidentView::fingerprint`).
    pub source: [u8; 32],
}

/// An error in an incident file.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct IncidentError {
    pub file: PathBuf,
    pub line: usize,
    /// The front-matter field it is about, if one.
    pub field: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

/// Declares the front matter's fields once for both ways they are read: [`FrontMatter`], where
/// unknown keys are not denied but found and reported, every one of them, by
/// [`front_matter::read`] (serde would stop at the first and hide every other error); and
/// [`StrictFrontMatter`], the same fields with unknown keys denied, which reads the usual file
/// (no unknown key, no error) in one pass instead of three.
macro_rules! front_matter_types {
    ($($(#[$attr:meta])* $field:ident: $ty:ty,)*) => {
        /// The fields, typed (unknown keys ignored: see [`front_matter_types`]).
        #[derive(Debug, Deserialize)]
        struct FrontMatter {
            $($(#[$attr])* $field: $ty,)*
            #[serde(default)]
            updates: Vec<RawUpdate>,
        }

        /// [`FrontMatter`] where an unknown key, at the top or in an update, is an error.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct StrictFrontMatter {
            $($(#[$attr])* $field: $ty,)*
            #[serde(default)]
            updates: Vec<StrictUpdate>,
        }

        impl From<StrictFrontMatter> for FrontMatter {
            fn from(strict: StrictFrontMatter) -> Self {
                Self {
                    $($field: strict.$field,)*
                    updates: strict.updates.into_iter().map(RawUpdate::from).collect(),
                }
            }
        }
    };
}

front_matter_types! {
    title: Option<Spanned<String>>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
    severity: Option<Spanned<String>>,
    status: Option<Spanned<String>>,
    #[serde(default)]
    components: Option<Spanned<Vec<Spanned<String>>>>,
    impact: Option<Spanned<String>>,
    discovered_at: Option<Spanned<String>>,
    contained_at: Option<Spanned<String>>,
    resolved_at: Option<Spanned<String>>,
    starts_at: Option<Spanned<String>>,
    ends_at: Option<Spanned<String>>,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    suppress_pages: bool,
}

const FIELDS: [&str; 14] = [
    "title",
    "kind",
    "severity",
    "status",
    "components",
    "impact",
    "discovered_at",
    "contained_at",
    "resolved_at",
    "starts_at",
    "ends_at",
    "private",
    "suppress_pages",
    "updates",
];

/// The keys of one `updates` entry.
const UPDATE_FIELDS: [&str; 3] = ["at", "status", "message"];

/// One `updates` entry (unknown keys: see [`FrontMatter`]).
#[derive(Debug, Deserialize)]
struct RawUpdate {
    at: Spanned<String>,
    status: Spanned<String>,
    #[serde(default)]
    message: String,
}

/// [`RawUpdate`] where an unknown key is an error (see [`StrictFrontMatter`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrictUpdate {
    at: Spanned<String>,
    status: Spanned<String>,
    #[serde(default)]
    message: String,
}

impl From<StrictUpdate> for RawUpdate {
    fn from(
        StrictUpdate {
            at,
            status,
            message,
        }: StrictUpdate,
    ) -> Self {
        Self {
            at,
            status,
            message,
        }
    }
}

/// Collects the errors of one file.
struct FileErrors<'a> {
    file: &'a Path,
    /// Added to front-matter line numbers to get file line numbers.
    line_offset: usize,
    list: Vec<IncidentError>,
}

impl FileErrors<'_> {
    fn push(
        &mut self,
        line: usize,
        field: &str,
        message: impl Into<String>,
        help: impl Into<Option<String>>,
    ) {
        self.list.push(IncidentError {
            file: self.file.to_path_buf(),
            line,
            field: (!field.is_empty()).then(|| field.to_owned()),
            message: message.into(),
            help: help.into(),
        });
    }

    fn line_of<T>(&self, spanned: &Spanned<T>) -> usize {
        usize::try_from(spanned.referenced.line()).unwrap_or(0) + self.line_offset
    }

    fn time(&mut self, field: &str, value: &Option<Spanned<String>>) -> Option<DateTime<Utc>> {
        let spanned = value.as_ref()?;
        match DateTime::parse_from_rfc3339(spanned.value.trim()) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                let line = self.line_of(spanned);
                self.push(
                    line,
                    field,
                    format!("`{field}` is not a time: `{}`", spanned.value),
                    "write RFC 3339 in UTC, e.g. 2026-11-02T14:05:00Z".to_owned(),
                );
                None
            }
        }
    }

    fn choice<T: Copy>(
        &mut self,
        field: &str,
        value: &Spanned<String>,
        allowed: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, v)) = allowed.iter().find(|(name, _)| *name == value.value) {
            return Some(*v);
        }
        let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
        let line = self.line_of(value);
        let help = match closest(&value.value, names.iter().copied()) {
            Some(near) => format!("did you mean `{near}`? allowed: {}", names.join(", ")),
            None => format!("allowed: {}", names.join(", ")),
        };
        self.push(
            line,
            field,
            format!("`{field}` cannot be `{}`", value.value),
            help,
        );
        None
    }
}

/// Parses one file. `known` is the list of component ids from the config.
pub fn parse(path: &Path, text: &str, known: &[&str]) -> Result<Incident, Vec<IncidentError>> {
    let source = cache::source_digest(path, text, &cache::ids_digest(known));
    parse_from(path, text, known, source)
}

/// [`parse`], given the [`cache::source_digest`] of its input (a loader of many files has
/// already computed it, and the digest of the ids, once).
fn parse_from(
    path: &Path,
    text: &str,
    known: &[&str],
    source: [u8; 32],
) -> Result<Incident, Vec<IncidentError>> {
    let mut errors = FileErrors {
        file: path,
        line_offset: 0,
        list: Vec::new(),
    };
    let split = match front_matter::split(text) {
        Ok(s) => s,
        Err(e) => {
            errors.push(1, "", e, None);
            return Err(errors.list);
        }
    };
    errors.line_offset = split.first_line - 1;
    let Some((fm, removed)) = front_matter::read(split.front, &mut errors) else {
        return Err(errors.list);
    };
    let header = Header {
        fm: &fm,
        removed: &removed,
        first_line: split.first_line,
    };
    let slug = slug_of(path);
    let fields = header.fields(known, &mut errors);
    match fields.kind {
        Kind::Incident => header.check_incident(fields.status, &fields.times, &mut errors),
        Kind::Maintenance => header.check_maintenance(&fields.times, &mut errors),
    }
    if !errors.list.is_empty() {
        // In file order, whichever check found them.
        errors.list.sort_by_key(|e| e.line);
        return Err(errors.list);
    }
    let Fields {
        kind,
        title,
        severity,
        status,
        impact,
        components,
        times,
        updates,
    } = fields;
    Ok(Incident {
        slug,
        path: path.to_path_buf(),
        kind,
        title,
        severity,
        status,
        components,
        impact,
        discovered_at: times.discovered_at,
        contained_at: times.contained_at,
        resolved_at: times.resolved_at,
        starts_at: times.starts_at,
        ends_at: times.ends_at,
        private: fm.private,
        suppress_pages: fm.suppress_pages,
        updates: updates
            .into_iter()
            .map(|u| Update {
                message_html: safe_html(&u.message, fm.private),
                ..u
            })
            .collect(),
        body_html: safe_html(split.body.trim(), fm.private),
        body: split.body.trim().to_owned(),
        source,
    })
}

/// Sanitised HTML of untrusted Markdown, or nothing for a private incident's text.
fn safe_html(markdown_text: &str, private: bool) -> String {
    if private {
        String::new()
    } else {
        markdown::to_safe_html(markdown_text)
    }
}

/// A file's front matter as read, before its fields are checked.
struct Header<'a> {
    fm: &'a FrontMatter,
    /// Fields [`front_matter::read`] left out for an error of their own.
    removed: &'a [String],
    /// The front matter's first line in the file: where a missing field is reported.
    first_line: usize,
}

/// The fields of a file, parsed (`None` or empty where a value was missing or wrong).
struct Fields {
    kind: Kind,
    title: String,
    severity: Option<Severity>,
    status: Option<Status>,
    impact: Option<ComponentState>,
    components: Vec<String>,
    times: Times,
    updates: Vec<Update>,
}

/// The time fields of a file, parsed.
struct Times {
    discovered_at: Option<DateTime<Utc>>,
    contained_at: Option<DateTime<Utc>>,
    resolved_at: Option<DateTime<Utc>>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
}

impl Header<'_> {
    /// A field left out for an error of its own is not also "missing".
    fn absent(&self, field: &str) -> bool {
        !self.removed.iter().any(|r| r == field)
    }

    /// The line of a field's value, or the front matter's first line when it has none.
    fn line_of(&self, v: &Option<Spanned<String>>, errors: &FileErrors<'_>) -> usize {
        v.as_ref().map_or(self.first_line, |s| errors.line_of(s))
    }

    /// Parses each field on its own, in the order their errors have always been found.
    fn fields(&self, known: &[&str], errors: &mut FileErrors<'_>) -> Fields {
        let fm = self.fm;
        let kind = match &fm.kind {
            Some(k) => errors
                .choice(
                    "kind",
                    k,
                    &[
                        ("incident", Kind::Incident),
                        ("maintenance", Kind::Maintenance),
                    ],
                )
                .unwrap_or_default(),
            None => Kind::Incident,
        };
        let title = self.title(errors);
        let severity = fm.severity.as_ref().and_then(|s| {
            errors.choice(
                "severity",
                s,
                &[
                    ("minor", Severity::Minor),
                    ("major", Severity::Major),
                    ("critical", Severity::Critical),
                ],
            )
        });
        let allowed: &[Status] = match kind {
            Kind::Incident => &Status::INCIDENT,
            Kind::Maintenance => &Status::MAINTENANCE,
        };
        let allowed_pairs: Vec<(&str, Status)> = allowed.iter().map(|s| (s.as_str(), *s)).collect();
        let status = fm
            .status
            .as_ref()
            .and_then(|s| errors.choice("status", s, &allowed_pairs));
        let impact = fm.impact.as_ref().and_then(|s| {
            errors.choice(
                "impact",
                s,
                &[
                    ("degraded_performance", ComponentState::DegradedPerformance),
                    ("partial_outage", ComponentState::PartialOutage),
                    ("major_outage", ComponentState::MajorOutage),
                ],
            )
        });
        let components = self.components(known, errors);
        let times = Times {
            discovered_at: errors.time("discovered_at", &fm.discovered_at),
            contained_at: errors.time("contained_at", &fm.contained_at),
            resolved_at: errors.time("resolved_at", &fm.resolved_at),
            starts_at: errors.time("starts_at", &fm.starts_at),
            ends_at: errors.time("ends_at", &fm.ends_at),
        };
        let first_update = match kind {
            Kind::Incident => times.discovered_at,
            Kind::Maintenance => None,
        };
        let updates = read_updates(&fm.updates, &allowed_pairs, first_update, errors);
        Fields {
            kind,
            title,
            severity,
            status,
            impact,
            components,
            times,
            updates,
        }
    }

    /// The trimmed title; empty, and reported when not left out for another error, if missing.
    fn title(&self, errors: &mut FileErrors<'_>) -> String {
        match &self.fm.title {
            Some(t) if !t.value.trim().is_empty() => t.value.trim().to_owned(),
            _ if !self.absent("title") => String::new(),
            _ => {
                errors.push(
                    self.first_line,
                    "title",
                    "`title` is missing",
                    "add `title: What happened, in a few words`".to_owned(),
                );
                String::new()
            }
        }
    }

    /// The listed components the config knows; each unknown one is reported.
    fn components(&self, known: &[&str], errors: &mut FileErrors<'_>) -> Vec<String> {
        let mut components = Vec::new();
        let Some(list) = &self.fm.components else {
            return components;
        };
        for id in &list.value {
            if known.contains(&id.value.as_str()) {
                components.push(id.value.clone());
            } else {
                let line = errors.line_of(id);
                let help = match closest(&id.value, known.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`? known ids: {}", known.join(", ")),
                    None => format!("known ids: {}", known.join(", ")),
                };
                errors.push(
                    line,
                    "components",
                    format!("unknown component `{}`", id.value),
                    help,
                );
            }
        }
        components
    }

    /// What an incident needs beyond its fields each being valid: the required ones, a
    /// `resolved_at` when resolved, times in order, and no maintenance times.
    fn check_incident(&self, status: Option<Status>, times: &Times, errors: &mut FileErrors<'_>) {
        let fm = self.fm;
        self.require_incident_fields(errors);
        if status == Some(Status::Resolved) && fm.resolved_at.is_none() {
            let line = self.line_of(&fm.status, errors);
            errors.push(
                line,
                "resolved_at",
                "the incident is resolved but has no `resolved_at`",
                "add `resolved_at:` with the time it was resolved".to_owned(),
            );
        }
        for (field, value, raw) in [
            ("contained_at", times.contained_at, &fm.contained_at),
            ("resolved_at", times.resolved_at, &fm.resolved_at),
        ] {
            if let (Some(v), Some(d)) = (value, times.discovered_at)
                && v < d
            {
                let line = self.line_of(raw, errors);
                errors.push(line, field, format!("`{field}` is before `discovered_at`"), "an incident cannot end before it was discovered; check the date and the time zone (UTC)".to_owned());
            }
        }
        if fm.starts_at.is_some() || fm.ends_at.is_some() {
            let line = self.line_of(
                fm.starts_at.as_ref().map_or(&fm.ends_at, |_| &fm.starts_at),
                errors,
            );
            errors.push(
                line,
                "starts_at",
                "`starts_at`/`ends_at` belong to maintenance notices",
                "add `kind: maintenance`, or use discovered_at/resolved_at".to_owned(),
            );
        }
    }

    /// Reports each of `severity`, `status` and `discovered_at` that an incident lacks.
    fn require_incident_fields(&self, errors: &mut FileErrors<'_>) {
        let fm = self.fm;
        if fm.severity.is_none() && self.absent("severity") {
            errors.push(
                self.first_line,
                "severity",
                "`severity` is missing",
                "add `severity: minor`, `major` or `critical`".to_owned(),
            );
        }
        if fm.status.is_none() && self.absent("status") {
            errors.push(
                self.first_line,
                "status",
                "`status` is missing",
                "add `status: investigating` (or identified, monitoring, resolved)".to_owned(),
            );
        }
        if fm.discovered_at.is_none() && self.absent("discovered_at") {
            errors.push(
                self.first_line,
                "discovered_at",
                "`discovered_at` is missing",
                "add `discovered_at: 2026-11-02T14:05:00Z` (RFC 3339, UTC)".to_owned(),
            );
        }
    }

    /// A maintenance notice needs both its times, the end not before the start.
    fn check_maintenance(&self, times: &Times, errors: &mut FileErrors<'_>) {
        let fm = self.fm;
        if (fm.starts_at.is_none() || fm.ends_at.is_none())
            && self.absent("starts_at")
            && self.absent("ends_at")
        {
            errors.push(
                self.first_line,
                "starts_at",
                "a maintenance notice needs `starts_at` and `ends_at`",
                "add both, RFC 3339 in UTC, e.g. starts_at: 2026-12-01T02:00:00Z".to_owned(),
            );
        }
        if let (Some(s), Some(e)) = (times.starts_at, times.ends_at)
            && e < s
        {
            let line = self.line_of(&fm.ends_at, errors);
            errors.push(
                line,
                "ends_at",
                "`ends_at` is before `starts_at`",
                "swap them or fix the date".to_owned(),
            );
        }
    }
}

/// How far ahead of this machine's clock an update may be dated: an author's clock a little
/// fast is no error, an update from tomorrow is.
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// The timeline, newest first. An update must lie between `not_before` (an incident's
/// `discovered_at`: nothing can be said about it earlier) and now: a future one would show
/// readers news that has not happened, and a typo in the year is the usual cause.
fn read_updates(
    raw: &[RawUpdate],
    allowed: &[(&str, Status)],
    not_before: Option<DateTime<Utc>>,
    errors: &mut FileErrors<'_>,
) -> Vec<Update> {
    let now = Utc::now();
    let mut updates = Vec::new();
    for u in raw {
        let at = errors.time("updates", &Some(u.at.clone()));
        let status = errors.choice("updates", &u.status, allowed);
        let line = errors.line_of(&u.at);
        if let (Some(at), Some(first)) = (at, not_before)
            && at < first
        {
            errors.push(
                line,
                "updates",
                format!("an update at {} is before `discovered_at` ({})", u.at.value.trim(), first.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
                "an update cannot come before the incident was discovered; check the date and the time zone (UTC), or move `discovered_at` earlier".to_owned(),
            );
        }
        if let Some(at) = at
            && at > now + CLOCK_SKEW
        {
            errors.push(
                line,
                "updates",
                format!("an update at {} is in the future", u.at.value.trim()),
                "date each update when it was posted (RFC 3339, UTC); check the year and the time zone".to_owned(),
            );
        }
        if let (Some(at), Some(status)) = (at, status) {
            updates.push(Update {
                at,
                status,
                message: u.message.trim().to_owned(),
                message_html: String::new(), // see `parse`
            });
        }
    }
    updates.sort_by_key(|u| std::cmp::Reverse(u.at));
    updates
}

/// The longest slug: transliteration can make a name several times longer (`東` is `Dong`),
/// and the page's file name must stay under the file systems' 255 bytes.
const MAX_SLUG: usize = 120;

/// The slug of a file name: its stem in `[a-z0-9-]` (at most [`MAX_SLUG`] characters), or
/// `incident` when nothing is left.
fn slug_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::text::slug_at_most(&stem, MAX_SLUG, "incident")
}

impl Incident {
    /// The file's own stem, as it is on disk. Never published: it is the input of the private
    /// id and of the slug.
    pub fn file_stem(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// A short, deterministic suffix from a file's own stem, to tell apart files whose names make
/// the same slug.
pub fn stem_suffix(stem: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(stem.as_bytes());
    hex::encode(&digest[..3])
}

/// Two files whose names make the same slug would publish at the same address, and one would
/// silently replace the other. Each later file (in path order, private or not, so making one
/// private changes no other address) keeps its incident under `<slug>-<hash of its own stem>`
/// and gets an error naming both files, so `check` fails until one is renamed.
fn disambiguate(incidents: &mut [Incident], errors: &mut Vec<IncidentError>) {
    let mut first_of: std::collections::HashMap<String, PathBuf> =
        std::collections::HashMap::with_capacity(incidents.len());
    for i in incidents.iter_mut() {
        match first_of.get(&i.slug) {
            Some(first) => {
                errors.push(IncidentError {
                    file: i.path.clone(),
                    line: 1,
                    field: None,
                    message: format!(
                        "this file and {} both publish as `incidents/{}.html`",
                        first.display(),
                        i.slug
                    ),
                    help: Some(
                        "rename one of the two files: page addresses keep only a-z, 0-9 and `-` of the name"
                            .to_owned(),
                    ),
                });
                // Its own address, also unlike every address taken so far (a third file may be
                // named like the first one's suffixed slug); taken in turn.
                let base = format!("{}-{}", i.slug, stem_suffix(&i.file_stem()));
                let mut slug = base.clone();
                let mut n = 2;
                while first_of.contains_key(&slug) {
                    slug = format!("{base}-{n}");
                    n += 1;
                }
                i.slug = slug;
                first_of.insert(i.slug.clone(), i.path.clone());
            }
            None => {
                first_of.insert(i.slug.clone(), i.path.clone());
            }
        }
    }
}

/// Every `*.md` file in `dir` (sorted), parsed; errors of all files together. A file whose real
/// location is outside `dir` (a symbolic link out of the folder, see [`crate::inputs`]) is an
/// error and is left out, never read.
pub fn load_dir(dir: &Path, known: &[&str]) -> (Vec<Incident>, Vec<IncidentError>) {
    let loaded = load_dir_remembering(dir, known, &BTreeMap::new());
    (loaded.incidents, loaded.errors)
}

fn is_markdown(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "md")
}

/// The errors of the entries a walk of the incidents folder `dir` refused. A refused sub-folder
/// or stray file is no incident; a refused `*.md` at the top (or the folder itself) is one that
/// was left out.
fn refused_incidents(dir: &Path, refused: Vec<crate::inputs::InputError>) -> Vec<IncidentError> {
    refused
        .into_iter()
        .filter(|r| {
            let top_level = r.path().parent() == Some(dir) || r.path() == dir;
            top_level && (is_markdown(r.path()) || r.path() == dir)
        })
        .map(|r| IncidentError {
            file: r.path().to_path_buf(),
            line: 0,
            field: None,
            message: r.reason(),
            help: Some(r.help().to_owned()),
        })
        .collect()
}

/// The last valid versions of incident files, read the first time they are needed.
struct Remembered<F> {
    load: Option<F>,
    read: Option<BTreeMap<String, String>>,
}

impl<F: FnOnce() -> BTreeMap<String, String>> Remembered<F> {
    fn get(&mut self) -> &BTreeMap<String, String> {
        let load = &mut self.load;
        self.read
            .get_or_insert_with(|| load.take().map(|f| f()).unwrap_or_default())
    }
}

/// What [`load_dir_remembering`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Valid files, and the last valid version of each file that has errors now.
    pub incidents: Vec<Incident>,
    /// Every error, in files kept at their last valid version too.
    pub errors: Vec<IncidentError>,
    /// Files with errors published at their last valid version.
    pub kept: Vec<PathBuf>,
    /// What to remember for the next run: file name → text of its last valid version, for
    /// every file in the folder that has one (deleted files are forgotten). Empty when loaded
    /// without texts ([`load_dir_cached`] for `build`, which writes no history).
    pub remember: BTreeMap<String, String>,
}

/// [`load_dir`], where a file that has errors now is published at its last valid version from
/// `remembered` (file name → text), so one mistake in a file never makes a published incident
/// disappear. The errors are still reported.
pub fn load_dir_remembering(
    dir: &Path,
    known: &[&str],
    remembered: &BTreeMap<String, String>,
) -> Loaded {
    load_dir_cached(
        dir,
        known,
        || remembered.clone(),
        cache::ParseCache::open(None),
        true,
    )
}

/// How many incident files are stamped and looked up in the cache on one thread before they are
/// read and parsed together on every core (the texts of one batch are in memory at once).
const PARSE_BATCH: usize = 256;

/// One incident file, on its way: first [`Step::Unchanged`] or [`Step::ToRead`] (on this
/// thread, with the cache), then read and parsed on every core ([`Step::read`]), then
/// recorded in file order.
enum Step<'a> {
    /// The cache proves the file unchanged since an earlier build parsed it (not read).
    Unchanged(Incident),
    /// To read, with its stamp taken before.
    ToRead(&'a crate::inputs::InputFile, Option<cache::Stamp>),
}

/// What became of a file [`Step::ToRead`].
enum Outcome {
    /// Removed between the walk and the read.
    Gone,
    /// Not readable.
    Failed(Vec<IncidentError>),
    /// Read: the cache holds its parse (its source digest says so).
    Remembered(String, crate::digest::Digest),
    /// Read and parsed (the text's source digest, the parse).
    Parsed(
        String,
        crate::digest::Digest,
        Box<Result<Incident, Vec<IncidentError>>>,
    ),
}

impl Step<'_> {
    /// Reads and, unless the cache holds it, parses the file (on any thread: the cache is only
    /// asked).
    fn read(
        &self,
        folder: &crate::inputs::InputFolder,
        cache: &cache::ParseCache,
        known: &[&str],
        ids: &[u8],
    ) -> Option<Outcome> {
        let Step::ToRead(file, _) = self else {
            return None;
        };
        Some(match folder.read_to_string(&file.path) {
            Ok(Some(text)) => {
                let source = cache::source_digest(&file.path, &text, ids);
                if cache.holds(&file.path, &source) {
                    Outcome::Remembered(text, source)
                } else {
                    let parsed = parse_from(&file.path, &text, known, source);
                    Outcome::Parsed(text, source, Box::new(parsed))
                }
            }
            Ok(None) => Outcome::Gone,
            Err(e) => Outcome::Failed(vec![IncidentError {
                file: file.path.clone(),
                line: 0,
                field: None,
                message: e.reason(),
                help: Some(e.help().to_owned()),
            }]),
        })
    }
}

/// [`load_dir_remembering`], reusing what `cache` remembers of files parsed by an earlier build.
/// `remembered` is called only when a file has errors: reading every last valid version (the
/// whole text of 10,000 files) is wasted on a folder that parses. With `texts`, every file is
/// read and its text kept in [`Loaded::remember`] (a run saves them to history); without, a
/// file the cache proves unchanged is not read at all and `remember` stays empty.
pub fn load_dir_cached(
    dir: &Path,
    known: &[&str],
    remembered: impl FnOnce() -> BTreeMap<String, String>,
    mut cache: cache::ParseCache,
    texts: bool,
) -> Loaded {
    let mut remembered = Remembered {
        load: Some(remembered),
        read: None,
    };
    let ids = cache::ids_digest(known);
    let folder = crate::inputs::InputFolder::new(dir);
    let walk = folder.walk_top(dir);
    let mut loaded = Loaded {
        errors: refused_incidents(dir, walk.refused),
        ..Loaded::default()
    };
    // Only `incidents/*.md` are incidents.
    let files: Vec<_> = walk
        .files
        .into_iter()
        .filter(|file| !file.relative.contains('/') && is_markdown(&file.path))
        .collect();
    let threads = crate::parallel::threads();
    // A batch at a time: the texts of a batch are held at once, not the whole folder's.
    for batch in files.chunks(PARSE_BATCH) {
        let steps: Vec<Step<'_>> = batch
            .iter()
            .map(|file| {
                // Before reading: a change after this leaves the stamp stale, caught next time.
                let stamp = cache::Stamp::of(&file.path);
                if !texts && let Some(hit) = cache.unchanged(&file.path, stamp, &ids) {
                    Step::Unchanged(hit)
                } else {
                    Step::ToRead(file, stamp)
                }
            })
            .collect();
        // The reads and parses (YAML, Markdown, sanitising: most of a cold build's loading)
        // on every core; the cache and the results are handled in file order on this thread.
        let outcomes = crate::parallel::map(&steps, threads, |step| {
            step.read(&folder, &cache, known, &ids)
        });
        for (step, outcome) in steps.into_iter().zip(outcomes) {
            let (file, stamp) = match step {
                Step::Unchanged(hit) => {
                    loaded.incidents.push(hit);
                    continue;
                }
                Step::ToRead(file, stamp) => (file, stamp),
            };
            let read = match outcome {
                None | Some(Outcome::Gone) => continue, // removed while reading
                Some(Outcome::Failed(e)) => Err(e),
                Some(Outcome::Remembered(text, source)) => {
                    match cache.reuse(&file.path, stamp, &source, &ids) {
                        Some(reused) => Ok((reused, text)),
                        // (Held when asked; parsed here should that ever change.)
                        None => parse_from(&file.path, &text, known, source).map(|i| (i, text)),
                    }
                }
                Some(Outcome::Parsed(text, source, parsed)) => {
                    // The cache did not hold this text: this drops its entry for an older one.
                    let _ = cache.reuse(&file.path, stamp, &source, &ids);
                    if let Ok(i) = parsed.as_ref() {
                        cache.parsed(&file.path, stamp, i);
                    }
                    parsed.map(|i| (i, text))
                }
            };
            let name = file.relative.clone();
            match read {
                Ok((i, text)) => {
                    loaded.incidents.push(i);
                    if texts {
                        loaded.remember.insert(name, text);
                    }
                }
                Err(e) => {
                    loaded.errors.extend(e);
                    // The version a run last published, if it still holds (a component it
                    // names may have been removed since).
                    let last_valid = remembered.get().get(&name).and_then(|text| {
                        let source = cache::source_digest(&file.path, text, &ids);
                        Some((text, parse_from(&file.path, text, known, source).ok()?))
                    });
                    if let Some((text, i)) = last_valid {
                        loaded.incidents.push(i);
                        loaded.kept.push(file.path.clone());
                        if texts {
                            loaded.remember.insert(name, text.clone());
                        }
                    }
                }
            }
        }
    }
    cache.save(&loaded.incidents);
    disambiguate(&mut loaded.incidents, &mut loaded.errors);
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two files with one address: the later one moves to a suffixed address, which a third
    /// file may already have (named so on purpose or by chance); every page keeps its own.
    #[test]
    fn every_incident_file_gets_an_address_of_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let text = "---\ntitle: T\nseverity: minor\nstatus: resolved\ncomponents: [api]\ndiscovered_at: 2026-01-01T10:00:00Z\nresolved_at: 2026-01-01T11:00:00Z\n---\nBody.\n";
        let taken = format!("x-{}", stem_suffix("x"));
        for name in ["X.md", "x.md", &format!("{taken}.md")] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let (incidents, errors) = load_dir(dir.path(), &["api"]);
        let mut slugs: Vec<&str> = incidents.iter().map(|i| i.slug.as_str()).collect();
        assert_eq!(slugs.len(), 3);
        assert!(
            slugs.contains(&"x") && slugs.contains(&taken.as_str()),
            "{slugs:?}"
        );
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), 3, "two files share an address: {slugs:?}");
        assert_eq!(errors.len(), 1, "{errors:?}");
    }

    /// The one-pass read of a file without errors and the three-pass read of a file with one
    /// read values alike: a title `.inf` is text in both, so a second mistake in the file never
    /// turns it into an error of its own.
    #[test]
    fn a_value_reads_the_same_whether_the_file_has_another_error_or_not() {
        let text = |extra: &str| {
            format!(
                "---\ntitle: .inf\nseverity: minor\nstatus: resolved\ncomponents: [api]\ndiscovered_at: 2026-01-01T10:00:00Z\nresolved_at: 2026-01-01T11:00:00Z\n{extra}updates:\n  - at: 2026-01-01T10:00:00Z\n    status: investigating\n    message: 1e999\n---\nBody.\n"
            )
        };
        let path = Path::new("incidents/inf.md");
        let ok = parse(path, &text(""), &["api"]).unwrap();
        assert_eq!(ok.title, ".inf");
        assert_eq!(ok.updates.len(), 1);
        let errors = parse(path, &text("colour: red\n"), &["api"]).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field.as_deref(), Some("colour"), "{errors:?}");
        assert_eq!(errors[0].line, 8, "{errors:?}");
    }

    #[test]
    fn slugs_of_file_names_are_safe_short_and_never_empty() {
        assert_eq!(
            slug_of(Path::new("incidents/2026-12-02-Zürich.md")),
            "2026-12-02-zurich"
        );
        assert_eq!(slug_of(Path::new("incidents/!!!.md")), "incident");
        let long = format!("incidents/{}.md", "東".repeat(80));
        let slug = slug_of(Path::new(&long));
        assert!(slug.len() <= MAX_SLUG && !slug.ends_with('-'), "{slug}");
        assert!(
            slug_of(Path::new("incidents/a\r\nb<!channel>.md"))
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }
}
