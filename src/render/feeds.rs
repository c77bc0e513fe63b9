//! RSS 2.0 and Atom feeds of incidents and maintenance (site-wide and per component), the iCal
//! feed of maintenance, and the sitemap. Hand-written XML with strict escaping: the formats are
//! small, and a feed reader must never see a private title or an unescaped `<`.
//!
//! What each field carries, and so how it is encoded (readers differ, so each choice is the one
//! that is safe in every reader):
//! - RSS `<description>`, Atom `<summary type="html">`: the sanitised HTML of the incident page
//!   (the same ammonia output), escaped once for XML. A reader decodes the XML, gets HTML with
//!   nothing executable, and shows it; a message `&lt;img onerror…&gt;` stays text.
//! - RSS `<title>`: plain text, but many readers render item titles as HTML, so `<` is written
//!   as the HTML entity before XML escaping (`&amp;lt;`): a reader that renders HTML shows `<`,
//!   one that shows text shows `&lt;`, neither makes an element. (`&` is left alone: a lone `&`
//!   is text in HTML too.)
//! - Atom `<title type="html">`: the title HTML-escaped, so compliant readers show the text
//!   exactly and sloppy ones cannot make markup of it.
//! - Links and ids: built from slugs (`[a-z0-9-]`) and made valid URIs ([`text::uri`]).
//! - iCal: RFC 5545 TEXT escaping ([`text::ical_text`]); values that are URIs are encoded as
//!   URIs; nothing can start a new content line.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::filters::iso;
use super::incremental::Page;
use super::{Digest, RenderError, SiteWriter};
use crate::incident::Kind;
use crate::model::{IncidentView, Snapshot};
use crate::text;

fn esc(text: &str) -> String {
    text::xml_escape(text)
}

/// An RSS title: `<` as an HTML entity first (see the module doc), then XML-escaped.
fn rss_title(title: &str) -> String {
    esc(&title.replace('<', "&lt;"))
}

/// An Atom `type="html"` text construct: HTML-escaped, then XML-escaped.
fn atom_html_text(title: &str) -> String {
    esc(&text::html_escape(title))
}

/// How many entries a feed carries.
const FEED_ENTRIES: usize = 50;

/// The entries of every feed, newest change first, at most [`FEED_ENTRIES`] each: the site's
/// feed, and each component's by id. One sort and one pass over the incidents: each component
/// filtering all 10,000 of them was a tenth of a rebuild.
struct Entries<'a> {
    site: Vec<&'a IncidentView>,
    by_component: HashMap<&'a str, Vec<&'a IncidentView>>,
}

impl<'a> Entries<'a> {
    fn of(snapshot: &'a Snapshot) -> Self {
        let mut all: Vec<&IncidentView> = snapshot
            .all_incidents
            .iter()
            .chain(&snapshot.maintenance)
            .collect();
        all.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.slug.cmp(&b.slug))
        });
        let mut by_component: HashMap<&str, Vec<&IncidentView>> = HashMap::new();
        for i in &all {
            for c in &i.components {
                let list = by_component.entry(c.as_str()).or_default();
                let listed = list.last().is_some_and(|last| std::ptr::eq(*last, *i));
                if list.len() < FEED_ENTRIES && !listed {
                    list.push(i);
                }
            }
        }
        all.truncate(FEED_ENTRIES);
        Self {
            site: all,
            by_component,
        }
    }

    fn component(&self, id: &str) -> &[&'a IncidentView] {
        self.by_component.get(id).map_or(&[], Vec::as_slice)
    }
}

/// When an entry last changed. Never the build time: a feed whose bytes change on every run
/// makes every reader re-fetch and every publish re-upload it.
fn entry_time(i: &IncidentView) -> DateTime<Utc> {
    i.updated_at
        .or(i.started_at)
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The latest change among the feed's entries (the epoch for a feed that never had one).
fn feed_updated(list: &[&IncidentView]) -> DateTime<Utc> {
    // An empty feed never changed: the epoch, fixed, so an incident elsewhere on the site does
    // not re-publish every quiet component's feed.
    list.iter()
        .map(|i| entry_time(i))
        .max()
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The entry's summary as sanitised HTML: one line of facts, then the latest update's message
/// (already sanitised by `incident::markdown`) unless the incident is private.
fn summary_html(i: &IncidentView) -> String {
    let line = match i.kind {
        Kind::Incident => format!(
            "{} incident, {}.",
            i.severity.unwrap_or("minor"),
            i.status.as_str().replace('_', " ")
        ),
        Kind::Maintenance => format!(
            "Maintenance {} from {} to {}.",
            i.status.as_str().replace('_', " "),
            i.starts_at.map(iso).unwrap_or_default(),
            i.ends_at.map(iso).unwrap_or_default()
        ),
    };
    let mut html = format!("<p>{}</p>", text::html_escape(&line));
    if let Some(latest) = i.updates.first()
        && !i.private
    {
        html.push_str(&latest.message_html);
    }
    html
}

/// The public address of an incident page.
fn incident_link(base: &str, i: &IncidentView) -> String {
    text::uri(&format!("{base}/incidents/{}.html", i.slug))
}

/// The feed's own page: the site root, or a component's page for its feed.
struct Feed<'a> {
    title: &'a str,
    self_path: &'a str,
    home: &'a str,
}

fn rss(snapshot: &Snapshot, feed: &Feed<'_>, list: &[&IncidentView]) -> Vec<u8> {
    let (title, self_path) = (feed.title, feed.self_path);
    let base = &snapshot.site.base_url;
    let home = text::uri(&format!("{base}/{}", feed.home));
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>",
    );
    x.push_str(&format!(
        "<title>{}</title><link>{}</link><description>{}</description><atom:link href=\"{}/{}\" rel=\"self\" type=\"application/rss+xml\"/><lastBuildDate>{}</lastBuildDate>",
        rss_title(title),
        esc(&home),
        // RSS descriptions are HTML: the site title as HTML text.
        esc(&text::html_escape(&format!(
            "Incidents and maintenance for {}",
            snapshot.site.title
        ))),
        esc(&text::uri(base)),
        esc(self_path),
        feed_updated(list).to_rfc2822()
    ));
    for i in list {
        x.push_str(&format!(
            "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}</guid><pubDate>{}</pubDate><description>{}</description></item>",
            rss_title(&i.title),
            esc(&incident_link(base, i)),
            esc(&text::uri(&format!("{base}/incidents/{}", i.slug))),
            entry_time(i).to_rfc2822(),
            esc(&summary_html(i))
        ));
    }
    x.push_str("</channel></rss>\n");
    x.into_bytes()
}

fn atom(snapshot: &Snapshot, feed: &Feed<'_>, list: &[&IncidentView]) -> Vec<u8> {
    let (title, self_path) = (feed.title, feed.self_path);
    let base = &snapshot.site.base_url;
    let home = text::uri(&format!("{base}/{}", feed.home));
    // Never the build time: a feed whose entries did not change stays byte for byte the same,
    // so a publish does not re-upload one feed per component on every run.
    let updated = feed_updated(list);
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">",
    );
    x.push_str(&format!(
        "<title type=\"html\">{}</title><id>{}/{}</id><link href=\"{}\"/><link rel=\"self\" href=\"{}/{}\"/><updated>{}</updated><author><name>{}</name></author>",
        atom_html_text(title),
        esc(&text::uri(base)),
        esc(self_path),
        esc(&home),
        esc(&text::uri(base)),
        esc(self_path),
        iso(updated),
        esc(&snapshot.site.title)
    ));
    for i in list {
        x.push_str(&format!(
            "<entry><title type=\"html\">{}</title><id>{}</id><link href=\"{}\"/><updated>{}</updated><summary type=\"html\">{}</summary></entry>",
            atom_html_text(&i.title),
            esc(&text::uri(&format!("{base}/incidents/{}", i.slug))),
            esc(&incident_link(base, i)),
            iso(entry_time(i)),
            esc(&summary_html(i))
        ));
    }
    x.push_str("</feed>\n");
    x.into_bytes()
}

/// An iCal TEXT value from plain text: calendar apps (Outlook, Google) render some values as
/// HTML, so it is [`text::plain_text`] first, then RFC 5545-escaped.
fn ical_text(value: &str) -> String {
    text::ical_text(&text::plain_text(value))
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (RFC 5545 §3.1).
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
    out
}

fn ical_time(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A calendar needs at least one component (RFC 5545 §3.6): with no maintenance, a UTC
/// VTIMEZONE, as other publishers' empty calendars carry.
const EMPTY_CALENDAR_COMPONENT: [&str; 9] = [
    "BEGIN:VTIMEZONE",
    "TZID:UTC",
    "BEGIN:STANDARD",
    "DTSTART:19700101T000000",
    "TZOFFSETFROM:+0000",
    "TZOFFSETTO:+0000",
    "TZNAME:UTC",
    "END:STANDARD",
    "END:VTIMEZONE",
];

fn ics(snapshot: &Snapshot) -> Vec<u8> {
    let host = snapshot
        .site
        .base_url
        .split("://")
        .nth(1)
        .unwrap_or("upstate")
        .split('/')
        .next()
        .unwrap_or("upstate");
    let mut out = String::new();
    for line in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Upstate//Status page//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        out.push_str(&fold(line));
    }
    out.push_str(&fold(&format!(
        "X-WR-CALNAME:{}",
        ical_text(&format!("{} maintenance", snapshot.site.title))
    )));
    let mut events = 0;
    for m in &snapshot.maintenance {
        let (Some(start), Some(end)) = (m.starts_at, m.ends_at) else {
            continue;
        };
        out.push_str(&fold("BEGIN:VEVENT"));
        // UID is TEXT: the slug is `[a-z0-9-]` already; escaped anyway, like the host.
        out.push_str(&fold(&format!(
            "UID:{}",
            ical_text(&format!("{}@{host}", m.slug))
        )));
        // DTSTAMP is when this calendar was made (RFC 5545 §3.8.7.2 with METHOD): the build.
        out.push_str(&fold(&format!(
            "DTSTAMP:{}",
            ical_time(snapshot.generated_at)
        )));
        out.push_str(&fold(&format!("DTSTART:{}", ical_time(start))));
        out.push_str(&fold(&format!("DTEND:{}", ical_time(end))));
        out.push_str(&fold(&format!("SUMMARY:{}", ical_text(&m.title))));
        let status = if m.status == crate::incident::Status::Cancelled {
            "CANCELLED"
        } else {
            "CONFIRMED"
        };
        out.push_str(&fold(&format!("STATUS:{status}")));
        // URL is a URI value (no TEXT escaping applies): encoded so it holds no CR/LF, space
        // or quote.
        out.push_str(&fold(&format!(
            "URL:{}",
            incident_link(&snapshot.site.base_url, m)
        )));
        if !m.private {
            let body = text::html_to_text(&m.body_html);
            if !body.is_empty() {
                out.push_str(&fold(&format!("DESCRIPTION:{}", ical_text(&body))));
            }
        }
        out.push_str(&fold("END:VEVENT"));
        events += 1;
    }
    if events == 0 {
        EMPTY_CALENDAR_COMPONENT
            .iter()
            .for_each(|line| out.push_str(&fold(line)));
    }
    out.push_str(&fold("END:VCALENDAR"));
    out.into_bytes()
}

/// Writes every feed into `out`: the site's RSS and Atom feeds, the maintenance calendar, and
/// each component's feeds. A feed is a function of the site-wide values (`site_digest`), its
/// own title and place, and its entries, which are digested by their fingerprints: a feed whose
/// entries did not change is kept without being written out again.
pub fn write(
    snapshot: &Snapshot,
    out: &mut SiteWriter,
    site_digest: &Digest,
) -> Result<(), RenderError> {
    let entries = Entries::of(snapshot);
    let title = format!("{} status", snapshot.site.title);
    for path in ["feed.rss", "feed.atom"] {
        let feed = Feed {
            title: &title,
            self_path: path,
            home: "",
        };
        feed.write(snapshot, out, site_digest, &entries.site)?;
    }
    out.put("maintenance.ics", None, &ics(snapshot))?;
    // Two feeds per component, each a function of the component's incidents: on every core.
    let writer = &*out;
    let made = crate::parallel::map(&snapshot.components, crate::parallel::threads(), |c| {
        let title = format!("{}: {}", snapshot.site.title, c.label);
        let home = format!("components/{}.html", c.id);
        ["atom", "rss"].map(|format| {
            let feed = Feed {
                title: &title,
                self_path: &format!("feeds/{}.{format}", c.id),
                home: &home,
            };
            feed.page(snapshot, writer, site_digest, entries.component(&c.id))
        })
    });
    for page in made.into_iter().flatten() {
        out.add(page?);
    }
    Ok(())
}

impl Feed<'_> {
    /// Renders this feed (RSS or Atom, by its path) into `out`, unless it is unchanged.
    fn write(
        &self,
        snapshot: &Snapshot,
        out: &mut SiteWriter,
        site_digest: &Digest,
        list: &[&IncidentView],
    ) -> Result<(), RenderError> {
        let page = self.page(snapshot, out, site_digest, list)?;
        out.add(page);
        Ok(())
    }

    /// [`Feed::write`] without recording: the feed kept, or rendered and written (for
    /// [`SiteWriter::add`] in order, when feeds are made on several threads).
    fn page(
        &self,
        snapshot: &Snapshot,
        out: &SiteWriter,
        site_digest: &Digest,
        list: &[&IncidentView],
    ) -> Result<Page, RenderError> {
        let mut parts: Vec<&[u8]> = vec![
            b"feed/1",
            site_digest,
            self.title.as_bytes(),
            self.self_path.as_bytes(),
            self.home.as_bytes(),
        ];
        parts.extend(list.iter().map(|i| &i.fingerprint[..]));
        let input = crate::digest::of_parts(parts);
        out.make(self.self_path.to_owned(), input, || {
            Ok(if self.self_path.ends_with(".rss") {
                rss(snapshot, self, list)
            } else {
                atom(snapshot, self, list)
            })
        })
    }
}

/// `sitemap.xml` listing every HTML page.
pub fn sitemap<'a>(snapshot: &Snapshot, paths: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">",
    );
    for p in paths.filter(|p| p.ends_with(".html")) {
        let loc = if p == "index.html" {
            format!("{}/", snapshot.site.base_url)
        } else {
            format!("{}/{p}", snapshot.site.base_url)
        };
        x.push_str(&format!("<url><loc>{}</loc></url>", esc(&text::uri(&loc))));
    }
    x.push_str("</urlset>\n");
    x.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let line = format!("SUMMARY:{}", "é".repeat(60));
        let folded = fold(&line);
        for part in folded.split("\r\n") {
            assert!(part.len() <= 75, "{}", part.len());
        }
        assert_eq!(folded.replace("\r\n ", "").trim_end(), line);
        assert_eq!(esc("<a&'\">"), "&lt;a&amp;&apos;&quot;&gt;");
    }
}
