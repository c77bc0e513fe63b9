//! RSS 2.0 and Atom feeds of incidents and maintenance (site-wide and per component), the iCal
//! feed of maintenance, and the sitemap. Hand-written XML with strict escaping: the formats are
//! small, and a feed reader must never see a private title or an unescaped `<`.

use chrono::{DateTime, Utc};

use super::filters::iso;
use super::statuspage::html_to_text;
use crate::incident::Kind;
use crate::model::{IncidentView, Snapshot};

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

fn entries<'a>(snapshot: &'a Snapshot, component: Option<&str>) -> Vec<&'a IncidentView> {
    let mut list: Vec<&IncidentView> = snapshot
        .all_incidents
        .iter()
        .chain(&snapshot.maintenance)
        .filter(|i| component.is_none_or(|c| i.components.iter().any(|x| x == c)))
        .collect();
    list.sort_by(|a, b| {
        b.updated_at
            .cmp(&a.updated_at)
            .then_with(|| a.slug.cmp(&b.slug))
    });
    list.truncate(50);
    list
}

/// When an entry last changed. Never the build time: a feed whose bytes change on every run
/// makes every reader re-fetch and every publish re-upload it.
fn entry_time(i: &IncidentView) -> DateTime<Utc> {
    i.updated_at
        .or(i.started_at)
        .unwrap_or(DateTime::UNIX_EPOCH)
}

/// The latest change in the feed, or in the whole site when the feed is empty.
fn feed_updated(snapshot: &Snapshot, list: &[&IncidentView]) -> DateTime<Utc> {
    list.iter()
        .map(|i| entry_time(i))
        .max()
        .or_else(|| {
            snapshot
                .all_incidents
                .iter()
                .chain(&snapshot.maintenance)
                .map(entry_time)
                .max()
        })
        .unwrap_or(DateTime::UNIX_EPOCH)
}

fn summary(i: &IncidentView) -> String {
    let mut text = match i.kind {
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
    if let Some(latest) = i.updates.first()
        && !i.private
    {
        text.push(' ');
        text.push_str(&html_to_text(&latest.message_html));
    }
    text
}

fn rss(snapshot: &Snapshot, title: &str, self_path: &str, list: &[&IncidentView]) -> Vec<u8> {
    let base = &snapshot.site.base_url;
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\" xmlns:atom=\"http://www.w3.org/2005/Atom\"><channel>",
    );
    x.push_str(&format!(
        "<title>{}</title><link>{}/</link><description>{}</description><atom:link href=\"{}/{}\" rel=\"self\" type=\"application/rss+xml\"/><lastBuildDate>{}</lastBuildDate>",
        esc(title),
        esc(base),
        esc(&format!("Incidents and maintenance for {}", snapshot.site.title)),
        esc(base),
        esc(self_path),
        feed_updated(snapshot, list).to_rfc2822()
    ));
    for i in list {
        let link = format!("{base}/incidents/{}.html", i.slug);
        x.push_str(&format!(
            "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}</guid><pubDate>{}</pubDate><description>{}</description></item>",
            esc(&i.title),
            esc(&link),
            esc(&format!("{base}/incidents/{}", i.slug)),
            entry_time(i).to_rfc2822(),
            esc(&summary(i))
        ));
    }
    x.push_str("</channel></rss>\n");
    x.into_bytes()
}

fn atom(snapshot: &Snapshot, title: &str, self_path: &str, list: &[&IncidentView]) -> Vec<u8> {
    let base = &snapshot.site.base_url;
    let updated = list
        .iter()
        .filter_map(|i| i.updated_at)
        .max()
        .unwrap_or(snapshot.generated_at);
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">",
    );
    x.push_str(&format!(
        "<title>{}</title><id>{}/{}</id><link href=\"{}/\"/><link rel=\"self\" href=\"{}/{}\"/><updated>{}</updated><author><name>{}</name></author>",
        esc(title),
        esc(base),
        esc(self_path),
        esc(base),
        esc(base),
        esc(self_path),
        iso(updated),
        esc(&snapshot.site.title)
    ));
    for i in list {
        let link = format!("{base}/incidents/{}.html", i.slug);
        x.push_str(&format!(
            "<entry><title>{}</title><id>{}</id><link href=\"{}\"/><updated>{}</updated><summary>{}</summary></entry>",
            esc(&i.title),
            esc(&format!("{base}/incidents/{}", i.slug)),
            esc(&link),
            iso(entry_time(i)),
            esc(&summary(i))
        ));
    }
    x.push_str("</feed>\n");
    x.into_bytes()
}

/// iCal text escaping (RFC 5545 §3.3.11).
fn ical_text(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
        .replace('\r', "")
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
    for m in &snapshot.maintenance {
        let (Some(start), Some(end)) = (m.starts_at, m.ends_at) else {
            continue;
        };
        out.push_str(&fold("BEGIN:VEVENT"));
        out.push_str(&fold(&format!("UID:{}@{}", m.slug, host)));
        // DTSTAMP from the notice itself, not "now", so an unchanged notice yields unchanged bytes.
        out.push_str(&fold(&format!(
            "DTSTAMP:{}",
            ical_time(m.updated_at.unwrap_or(start))
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
        out.push_str(&fold(&format!(
            "URL:{}/incidents/{}.html",
            snapshot.site.base_url, m.slug
        )));
        if !m.private {
            let body = html_to_text(&m.body_html);
            if !body.is_empty() {
                out.push_str(&fold(&format!("DESCRIPTION:{}", ical_text(&body))));
            }
        }
        out.push_str(&fold("END:VEVENT"));
    }
    out.push_str(&fold("END:VCALENDAR"));
    out.into_bytes()
}

/// Feed files: site-wide RSS/Atom, per-component Atom and RSS, and the maintenance calendar.
pub fn files(snapshot: &Snapshot) -> Vec<(String, Vec<u8>)> {
    let all = entries(snapshot, None);
    let title = format!("{} status", snapshot.site.title);
    let mut out = vec![
        (
            "feed.rss".to_owned(),
            rss(snapshot, &title, "feed.rss", &all),
        ),
        (
            "feed.atom".to_owned(),
            atom(snapshot, &title, "feed.atom", &all),
        ),
        ("maintenance.ics".to_owned(), ics(snapshot)),
    ];
    for c in &snapshot.components {
        let list = entries(snapshot, Some(&c.id));
        let title = format!("{}: {}", snapshot.site.title, c.label);
        out.push((
            format!("feeds/{}.atom", c.id),
            atom(snapshot, &title, &format!("feeds/{}.atom", c.id), &list),
        ));
        out.push((
            format!("feeds/{}.rss", c.id),
            rss(snapshot, &title, &format!("feeds/{}.rss", c.id), &list),
        ));
    }
    out
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
        x.push_str(&format!("<url><loc>{}</loc></url>", esc(&loc)));
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
