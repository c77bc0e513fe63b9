//! `${NAME}` interpolation and the [`Secret`] type.
//!
//! Interpolation happens while deserializing, so a missing variable is reported with the file, line
//! and key of the value that needs it. Every secret value is also recorded in a process-wide
//! registry so that [`scrub`] can remove it from any text that leaves the process (probe details,
//! logs, errors coming back from libraries that like to echo URLs).

use std::cell::RefCell;
use std::fmt;
use std::sync::{OnceLock, RwLock};

use serde::{Deserialize, Deserializer};

/// Replaces `${NAME}` with the environment variable `NAME`; `$$` is a literal `$`.
///
/// `${NAME:-default}` reads `default` when `NAME` is unset or empty (the shell's rule), so one
/// file serves a laptop and CI: `store = "${UPSTATE_HISTORY:-.upstate/history}"` keeps history
/// in a folder here and in the git branch the workflow names.
pub fn interpolate(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('{') {
            let end = tail.find('}').ok_or_else(|| {
                format!("unclosed `${{` in `{raw}`\n= help: write `${{NAME}}`, or `$$` for a literal `$`")
            })?;
            let (name, default) = match tail[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&tail[..end], None),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!(
                    "`${{{name}}}` is not a valid variable name\n= help: names use A-Z, 0-9 and _"
                ));
            }
            match (std::env::var(name), default) {
                (Ok(value), Some(default)) if value.is_empty() => out.push_str(default),
                (Ok(value), _) => out.push_str(&value),
                (Err(_), Some(default)) => out.push_str(default),
                (Err(_), None) if note_unset(name) => {}
                (Err(_), None) => {
                    return Err(format!(
                        "environment variable `{name}` is not set\n= help: export {name}=... before running upstate, or write the value in the file"
                    ));
                }
            }
            rest = &tail[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

thread_local! {
    /// `Some` while [`allowing_unset`] runs on this thread: the names of unset variables read.
    static UNSET: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Records `name` as unset when [`allowing_unset`] is in force here; false otherwise.
fn note_unset(name: &str) -> bool {
    UNSET.with(|unset| match unset.borrow_mut().as_mut() {
        Some(names) => {
            if !names.iter().any(|n| n == name) {
                names.push(name.to_owned());
            }
            true
        }
        None => false,
    })
}

/// Runs `f` (a config parse) with unset `${NAME}`s read as empty text, and returns the names it
/// met. `check` needs this: a pull request from a fork runs without the repository's secrets,
/// and the file can still be judged on everything else. `run` never uses it, so a missing
/// secret still stops a real run before it probes anything.
pub fn allowing_unset<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let previous = UNSET.with(|unset| unset.replace(Some(Vec::new())));
    let value = f();
    let names = UNSET
        .with(|unset| unset.replace(previous))
        .unwrap_or_default();
    (value, names)
}

/// A config string after `${NAME}` interpolation; not secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct EnvString(pub String);

impl EnvString {
    /// The interpolated text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for EnvString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EnvString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for EnvString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl<'de> Deserialize<'de> for EnvString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        interpolate(&raw)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// A value that must never be printed: DSNs, URLs with credentials, header values, keys.
///
/// `Debug` and `Display` print `***`; the only way to the content is [`Secret::expose`], used at
/// the single place that hands it to a client library.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value and records it for [`scrub`].
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Self(value)
    }

    /// The secret itself. Call only to hand it to the client that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        interpolate(&raw)
            .map(Secret::new)
            .map_err(serde::de::Error::custom)
    }
}

fn registry() -> &'static RwLock<Vec<String>> {
    static REGISTRY: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(Vec::new()))
}

/// Records `value` and the credential parts inside it, so that [`scrub`] can remove them from
/// any text, including text from libraries that show only a piece of the value.
fn register(value: &str) {
    let mut parts = credential_parts(value);
    // Very short values would scrub ordinary words; they are still never printed directly.
    parts.retain(|p| p.len() >= 4);
    if let Ok(mut list) = registry().write() {
        for part in parts {
            if !list.contains(&part) {
                list.push(part);
            }
        }
        // Longest first, so a whole DSN is replaced before the password inside it.
        list.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// `value` and the pieces of it that text may show alone:
/// - a URL's password (`scheme://user:password@host`), and a DSN's `password=`;
/// - a URL's path and query, and its query alone: a WebSocket library logs its request line
///   (`GET /socket?token=… HTTP/1.1`), and Slack and Discord webhook tokens live in the path;
///   both as written and as a URL parser writes them back (percent-encoded), which is what an
///   HTTP client logs;
/// - the credential of an `Authorization`-style value (`Bearer <token>`);
/// - the value as `{:?}` prints it, which libraries use to log strings.
fn credential_parts(value: &str) -> Vec<String> {
    let mut parts = vec![value.to_owned()];
    if let Some(password) = url_password(value) {
        parts.push(password);
    }
    for pair in value.split_whitespace() {
        if let Some(password) = pair.strip_prefix("password=") {
            parts.push(password.trim_matches('\'').to_owned());
        }
    }
    // A path such as `/health` is no secret and would scrub ordinary text; real tokens in a
    // path or query make it longer than this.
    const MIN_URL_PIECE: usize = 8;
    let mut url_pieces = Vec::new();
    if let Some(tail) = path_and_query(value) {
        url_pieces.push(tail.to_owned());
    }
    if let Ok(parsed) = reqwest::Url::parse(value)
        && parsed.has_host()
        && path_and_query(value).is_some()
    {
        parts.push(parsed.to_string());
        let mut tail = parsed.path().to_owned();
        if let Some(query) = parsed.query() {
            tail.push('?');
            tail.push_str(query);
        }
        url_pieces.push(tail);
    }
    for piece in url_pieces {
        if let Some((_, query)) = piece.split_once('?')
            && query.len() >= MIN_URL_PIECE
        {
            parts.push(query.to_owned());
        }
        if piece.len() >= MIN_URL_PIECE {
            parts.push(piece);
        }
    }
    if let Some((scheme, credential)) = value.split_once(' ')
        && !scheme.is_empty()
        && scheme.chars().all(|c| c.is_ascii_alphabetic())
        && credential.len() >= MIN_URL_PIECE
    {
        parts.push(credential.trim().to_owned());
    }
    let debug = format!("{value:?}");
    let debug = debug.trim_matches('"');
    if debug != value {
        parts.push(debug.to_owned());
    }
    parts
}

/// `/path?query` of `scheme://authority/path?query#fragment` as written, if any. None for
/// `file:` (and `git+file:`) URLs: they name a local folder, no secret, and are shown whole.
fn path_and_query(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once("://")?;
    if scheme == "file" || scheme.ends_with("+file") {
        return None;
    }
    let start = rest.find(['/', '?'])?;
    let tail = rest.get(start..)?;
    Some(tail.split('#').next().unwrap_or(tail))
}

/// The password of `scheme://user:password@host/...`, if any.
fn url_password(value: &str) -> Option<String> {
    let (_, rest) = value.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

/// Replaces every registered secret in `text` with `***`.
pub fn scrub(text: &str) -> String {
    let mut out = text.to_owned();
    if let Ok(list) = registry().read() {
        for secret in list.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
    }
    out
}

/// A URL fit for display: scheme, host and port only.
///
/// Userinfo, path, query and fragment can each carry a credential (a token in the query, Slack
/// and Discord webhook tokens in the path), so none of them is shown. A `file:` URL names a
/// local folder and carries no credential: it is shown whole, without query or fragment.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return scrub(url);
    };
    if scheme == "file" {
        return scrub(url.split(['?', '#']).next().unwrap_or_default());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    scrub(&format!("{scheme}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolates_and_escapes() {
        // SAFETY: tests in this module use a variable name no other test touches.
        unsafe { std::env::set_var("UPSTATE_TEST_SECRET_MODULE", "v4lue") };
        assert_eq!(
            interpolate("a ${UPSTATE_TEST_SECRET_MODULE} $$x").unwrap(),
            "a v4lue $x"
        );
        assert_eq!(
            interpolate(
                "${UPSTATE_TEST_SECRET_MODULE:-other}/${UPSTATE_SURELY_UNSET_C:-.upstate/h}"
            )
            .unwrap(),
            "v4lue/.upstate/h"
        );
        let err = interpolate("${UPSTATE_SURELY_UNSET_VAR}").unwrap_err();
        assert!(
            err.contains("`UPSTATE_SURELY_UNSET_VAR` is not set"),
            "{err}"
        );
    }

    #[test]
    fn unset_variables_are_named_only_where_allowed() {
        let (value, names) = allowing_unset(|| interpolate("x${UPSTATE_SURELY_UNSET_B}y"));
        assert_eq!(value.unwrap(), "xy");
        assert_eq!(names, ["UPSTATE_SURELY_UNSET_B"]);
        assert!(interpolate("${UPSTATE_SURELY_UNSET_B}").is_err());
    }

    #[test]
    fn secrets_never_print_and_are_scrubbed() {
        let s = Secret::new("postgres://app:hunter2-pw@db/prod");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(scrub("auth failed for hunter2-pw"), "auth failed for ***");
        assert_eq!(
            redact_url("https://u:p@h.example:8443/x?token=1#f"),
            "https://h.example:8443"
        );
        assert_eq!(
            redact_url("https://hooks.slack.test/services/T0/B0/tok"),
            "https://hooks.slack.test"
        );
        assert_eq!(
            redact_url("file:///srv/site.git?x#y"),
            "file:///srv/site.git"
        );
    }

    #[test]
    fn pieces_of_a_secret_url_are_scrubbed_where_a_library_shows_them_alone() {
        let _ = Secret::new("wss://h.example/socket?token=piece-tok-61c2");
        let _ = Secret::new("https://hooks.example/services/T0/B0/piece-path-9d3e");
        let _ = Secret::new("Bearer piece-bearer-47aa");
        let _ = Secret::new("https://h.example/with space?q=piece-enc-5b1f");
        for (text, expected) in [
            (
                "GET /socket?token=piece-tok-61c2 HTTP/1.1",
                "GET *** HTTP/1.1",
            ),
            ("query token=piece-tok-61c2", "query ***"),
            ("POST /services/T0/B0/piece-path-9d3e", "POST ***"),
            ("token piece-bearer-47aa", "token ***"),
            ("GET /with%20space?q=piece-enc-5b1f", "GET ***"),
        ] {
            assert_eq!(scrub(text), expected);
        }
        assert_eq!(scrub("GET /health HTTP/1.1"), "GET /health HTTP/1.1");
    }
}
