//! Tera filters: formatting only (times, percentages, durations), plus the latency chart.

use chrono::{DateTime, Utc};
use tera::{Kwargs, State, Tera, Value};

use crate::model::Percentiles;

/// Registers every filter the theme uses.
pub fn register(tera: &mut Tera) {
    register_when(tera, chrono_tz::Tz::UTC);
    tera.register_filter("iso", |v: Value, _: Kwargs, _: &State| match parse(&v) {
        Some(t) => iso(t),
        None => String::new(),
    });
    tera.register_filter("pct", |v: Value, _: Kwargs, _: &State| match v.as_f64() {
        Some(x) => pct(x),
        None => "no data".to_owned(),
    });
    tera.register_filter("ms", |v: Value, _: Kwargs, _: &State| match v.as_f64() {
        Some(x) if x >= 100.0 || x.fract() == 0.0 => format!("{x:.0} ms"),
        Some(x) => format!("{x:.1} ms"),
        None => "—".to_owned(),
    });
    tera.register_filter("minutes", |v: Value, _: Kwargs, _: &State| {
        match v.as_i64() {
            Some(m) if m >= 1440 => format!("{} d {} h", m / 1440, (m % 1440) / 60),
            Some(m) if m >= 60 => format!("{} h {} min", m / 60, m % 60),
            Some(m) => format!("{m} min"),
            None => "—".to_owned(),
        }
    });
    tera.register_filter("count", |v: Value, _: Kwargs, _: &State| match v.as_i64() {
        Some(n) => thousands(n),
        None => "—".to_owned(),
    });
    // A coverage share as a whole percentage, never rounded up to 100%: "83%".
    tera.register_filter("share", |v: Value, _: Kwargs, _: &State| match v.as_f64() {
        Some(x) => share(x),
        None => "0%".to_owned(),
    });
    tera.register_filter("state_class", |v: Value, _: Kwargs, _: &State| {
        state_class(v.as_str()).to_owned()
    });
    tera.register_filter("bar_style", |v: Value, _: Kwargs, _: &State| {
        bar_style(&day_states(&v))
    });
    tera.register_filter("day_counts", |v: Value, _: Kwargs, _: &State| {
        day_counts(&day_states(&v))
    });
    tera.register_filter("postmortem", |v: Value, _: Kwargs, _: &State| {
        Value::safe_string(&postmortem(v.as_str().unwrap_or_default()))
    });
    tera.register_filter("short_detail", |v: Value, _: Kwargs, _: &State| {
        short_detail(v.as_str().unwrap_or_default())
    });
}

/// A postmortem body as the incident page nests it: its headings two levels down (a Markdown
/// `##` sits under the page's h3 "Postmortem" as an h4), and headings with nothing under them
/// before the next heading of the same or a higher level left out, so an unfilled template
/// ("## Root cause" and nothing) is not published. The input is sanitised HTML.
pub fn postmortem(html: &str) -> String {
    // (level, start of the opening tag, end of the closing tag) of each heading, in order.
    let mut headings: Vec<(u8, usize, usize)> = Vec::new();
    let mut at = 0;
    while let Some(found) = html[at..].find("<h") {
        let start = at + found;
        let rest = &html[start + 2..];
        let level = rest.as_bytes().first().copied().unwrap_or(0);
        let next = rest.as_bytes().get(1).copied().unwrap_or(0);
        if (b'1'..=b'6').contains(&level) && (next == b'>' || next == b' ') {
            let close = format!("</h{}>", level as char);
            if let Some(end) = html[start..].find(&close) {
                let end = start + end + close.len();
                headings.push((level - b'0', start, end));
                at = end;
                continue;
            }
        }
        at = start + 2;
    }
    let mut out = String::with_capacity(html.len());
    let mut copied = 0;
    for (n, &(level, start, end)) in headings.iter().enumerate() {
        let body_end = headings
            .iter()
            .skip(n + 1)
            .find(|(l, _, _)| *l <= level)
            .map_or(html.len(), |(_, s, _)| *s);
        let next_start = headings.get(n + 1).map_or(html.len(), |(_, s, _)| *s);
        let has_body = !html[end..next_start].trim().is_empty() || next_start < body_end;
        out.push_str(&html[copied..start]);
        if has_body {
            let shifted = (level + 2).min(6);
            let tag = &html[start..end];
            out.push_str(&format!("<h{shifted}"));
            out.push_str(&tag[3..tag.len() - 5]);
            out.push_str(&format!("</h{shifted}>"));
        }
        copied = end;
    }
    out.push_str(&html[copied..]);
    out
}

/// The state key of each day of a `bars` list (`None` = no data), oldest first.
fn day_states(bars: &Value) -> Vec<Option<&str>> {
    bars.as_array()
        .map(|days| {
            days.iter()
                .map(|d| d.get_from_path("state").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// [`bar_style`] of a component's day bars, straight from the model (the front page's
/// `bar_styles`, so its context need not carry every bar).
pub fn bar_style_of(bars: &[crate::model::DayBar]) -> String {
    let days: Vec<Option<&str>> = bars.iter().map(|b| b.state.map(|s| s.as_str())).collect();
    bar_style(&days)
}

/// The inline style of a front-page day bar: one CSS gradient for the day colours (`--b`) and
/// one for the down-day notch (`--x`, the cue that does not rely on colour).
///
/// Why a gradient and not an element per day: 500 components × 90 days was 45,000 elements,
/// most of the page's weight and main-thread time; runs of equal days collapse into one stop
/// each, so a steady component costs a few bytes. Day-by-day detail is on the component page.
pub fn bar_style(days: &[Option<&str>]) -> String {
    let n = days.len().max(1) as f64;
    let at = |i: usize| {
        let p = (i as f64) * 100.0 / n;
        format!("{}%", (p * 100.0).round() / 100.0)
    };
    let mut runs: Vec<(usize, usize, &'static str)> = Vec::new();
    for (i, d) in days.iter().enumerate() {
        let class = state_class(*d);
        match runs.last_mut() {
            Some((_, end, c)) if *c == class => *end = i + 1,
            _ => runs.push((i, i + 1, class)),
        }
    }
    let stops: Vec<String> = runs
        .iter()
        .map(|(_, end, c)| format!("var(--{c}) 0 {}", at(*end)))
        .collect();
    let mut style = format!("--b:linear-gradient(90deg,{})", stops.join(","));
    let down: Vec<String> = runs
        .iter()
        .filter(|(_, _, c)| *c == "m")
        .map(|(start, end, _)| format!("#0000 {},var(--bg) 0 {},#0000 0", at(*start), at(*end)))
        .collect();
    if !down.is_empty() {
        style.push_str(&format!(";--x:linear-gradient(90deg,{})", down.join(",")));
    }
    style
}

/// How many days were in each state (`no_data` for days without observations).
fn day_counts(days: &[Option<&str>]) -> Value {
    let mut counts: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for d in days {
        *counts.entry(d.unwrap_or("no_data")).or_default() += 1;
    }
    Value::from_serializable(&counts)
}

/// A probe's detail as the public page shows it: short and human ("Connection refused.");
/// the raw text (`os error 111`, resolver internals) stays on the component page.
/// `assets/js/app.js` (`shortDetail`) applies the same rules to what it polls.
pub fn short_detail(raw: &str) -> String {
    let lower = raw.to_lowercase();
    let known = [
        ("connection refused", "Connection refused."),
        ("timed out", "Timed out."),
        ("connection reset", "Connection reset."),
        ("no route to host", "Host unreachable."),
        ("network is unreachable", "Network unreachable."),
        ("nxdomain", "Name does not resolve."),
        ("cannot resolve", "Name does not resolve."),
        ("certificate", "Certificate problem."),
    ];
    if let Some((_, short)) = known.iter().find(|(k, _)| lower.contains(k)) {
        return (*short).to_owned();
    }
    let mut text = raw.to_owned();
    while let Some(start) = text.find(" (os error ") {
        match text[start..].find(')') {
            Some(end) => text.replace_range(start..start + end + 1, ""),
            None => break,
        }
    }
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ':', ';', '.']))
}

/// `when`: a time as readers see it, in the site's zone (`2026-11-02 15:05 CET`). The
/// `datetime` attribute beside it stays UTC (`iso`), so machines never guess the zone.
pub fn register_when(tera: &mut Tera, zone: chrono_tz::Tz) {
    tera.register_filter("when", move |v: Value, _: Kwargs, _: &State| {
        match parse(&v) {
            Some(t) => when(t, zone),
            None => "—".to_owned(),
        }
    });
}

/// `2026-11-02 15:05 CET`: minutes, in `zone`, with the zone's abbreviation (what `%Z`
/// prints). Written field by field: a strftime pattern is parsed again at every call, and
/// 10,000 incident pages print several times each.
pub fn when(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    use chrono::{Datelike as _, Timelike as _};
    let local = t.with_timezone(&zone);
    if !(0..=9999).contains(&local.year()) {
        // `%Y` signs a year of five digits or before year 0.
        return local.format("%Y-%m-%d %H:%M %Z").to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} {}",
        local.year(),
        local.month(),
        local.day(),
        local.hour(),
        local.minute(),
        local.offset()
    )
}

/// One-letter CSS class per state: compact, because the front page repeats it 90 times a tile.
pub fn state_class(state: Option<&str>) -> &'static str {
    match state {
        Some("operational") => "o",
        Some("degraded_performance") | Some("degraded") => "d",
        Some("partial_outage") => "p",
        Some("major_outage") | Some("down") => "m",
        Some("under_maintenance") => "u",
        _ => "n",
    }
}

fn parse(v: &Value) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v.as_str()?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

// `2026-11-02T14:05:00Z`, as `status.json` and `<time>` want it (one definition, in text).
pub use crate::text::iso;

/// `99.95%`; never rounds a non-perfect figure up to 100%.
pub fn pct(x: f64) -> String {
    let p = x * 100.0;
    if p >= 100.0 {
        return "100%".to_owned();
    }
    let s = format!("{:.2}", (p * 100.0).floor() / 100.0);
    format!("{s}%")
}

/// `83%`: a share floored to a whole per cent, so only a full window reads 100%.
pub fn share(x: f64) -> String {
    format!("{}%", (x * 100.0).floor().clamp(0.0, 100.0))
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// The latency chart: an inline SVG of daily p50/p95/p99 (days without samples leave gaps, a
/// day with no neighbour is drawn as a dot, so one day of data is visible) and an HTML legend
/// and scale, which stay readable at any width where SVG text would shrink with the drawing.
pub fn latency_chart(days: &[(chrono::NaiveDate, Percentiles)]) -> String {
    let (w, h, pad) = (400.0_f64, 120.0_f64, 6.0_f64);
    let max = days
        .iter()
        .filter_map(|(_, p)| p.p99.or(p.p95).or(p.p50))
        .fold(0.0_f64, f64::max);
    if max <= 0.0 {
        return String::new();
    }
    let n = days.len().max(2) as f64;
    let x = |i: usize| pad + (i as f64) * (w - 2.0 * pad) / (n - 1.0);
    let y = |v: f64| h - pad - v / max * (h - 2.0 * pad);
    let mut svg = format!(
        "<figure class=\"lc\"><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" preserveAspectRatio=\"none\" role=\"img\" aria-labelledby=\"lc-t\" class=\"chart\"><title id=\"lc-t\">Daily latency, p50, p95 and p99, last {} days; highest {max:.0} ms</title><line x1=\"0\" y1=\"{b}\" x2=\"{w}\" y2=\"{b}\" class=\"axis\"/><line x1=\"0\" y1=\"{pad}\" x2=\"{w}\" y2=\"{pad}\" class=\"axis\"/>",
        days.len(),
        b = h - pad,
    );
    for (name, pick) in [("p50", 0usize), ("p95", 1), ("p99", 2)] {
        let value = |i: usize| -> Option<f64> {
            let p = &days.get(i)?.1;
            match pick {
                0 => p.p50,
                1 => p.p95,
                _ => p.p99,
            }
        };
        let mut path = String::new();
        let mut dots = String::new();
        for i in 0..days.len() {
            let Some(v) = value(i) else { continue };
            let joined_before = i > 0 && value(i - 1).is_some();
            let joined_after = value(i + 1).is_some();
            if !joined_before && !joined_after {
                // A zero-length line with round caps: a round dot at any aspect ratio.
                dots.push_str(&format!(
                    "<path d=\"M{:.1},{:.1}h0\" class=\"{name} dot\" vector-effect=\"non-scaling-stroke\"/>",
                    x(i),
                    y(v)
                ));
                continue;
            }
            let pen = if joined_before { "L" } else { "M" };
            path.push_str(&format!("{pen}{:.1},{:.1} ", x(i), y(v)));
        }
        if !path.is_empty() {
            svg.push_str(&format!(
                "<path d=\"{}\" class=\"{name}\" vector-effect=\"non-scaling-stroke\"/>",
                path.trim_end()
            ));
        }
        svg.push_str(&dots);
    }
    let day = |d: Option<&(chrono::NaiveDate, Percentiles)>| d.map(|(d, _)| d.to_string());
    let (first, last) = (
        day(days.first()).unwrap_or_default(),
        day(days.last()).unwrap_or_default(),
    );
    svg.push_str(&format!(
        "</svg><figcaption><span class=\"k p50\">p50</span> <span class=\"k p95\">p95</span> <span class=\"k p99\">p99</span> <span class=\"mut nw\">0–{max:.0} ms</span> <span class=\"mut nw\">{first} – {last}</span></figcaption></figure>"
    ));
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_never_round_up_to_perfect() {
        assert_eq!(pct(0.99999), "99.99%");
        assert_eq!(pct(1.0), "100%");
        assert_eq!(pct(0.5), "50.00%");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(share(0.999), "99%");
        assert_eq!(share(1.0), "100%");
        assert_eq!(share(0.0055), "0%");
        let t = DateTime::parse_from_rfc3339("2026-11-02T14:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(when(t, chrono_tz::Tz::UTC), "2026-11-02 14:05 UTC");
        assert_eq!(when(t, chrono_tz::Europe::Berlin), "2026-11-02 15:05 CET");
    }

    fn day(p50: Option<f64>) -> (chrono::NaiveDate, Percentiles) {
        let p = Percentiles {
            p50,
            p95: p50.map(|v| v * 2.0),
            p99: p50.map(|v| v * 3.0),
            ..Percentiles::default()
        };
        (chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(), p)
    }

    #[test]
    fn one_day_of_latency_is_drawn_as_dots_with_a_legend() {
        let mut days: Vec<_> = (0..89).map(|_| day(None)).collect();
        days.push(day(Some(40.0)));
        let chart = latency_chart(&days);
        assert_eq!(chart.matches("<path").count(), 3, "{chart}");
        assert_eq!(chart.matches("h0\" class=").count(), 3, "{chart}");
        assert!(chart.contains("<figcaption><span class=\"k p50\">p50</span>"));
        assert!(chart.contains("0–120 ms"), "{chart}");
        // Two neighbouring days make a line, not dots.
        days[88] = day(Some(20.0));
        let chart = latency_chart(&days);
        assert_eq!(chart.matches("<path").count(), 3, "{chart}");
        assert!(!chart.contains("h0\""), "{chart}");
        assert_eq!(latency_chart(&[day(None)]), "");
    }

    #[test]
    fn day_bars_merge_equal_days_and_notch_down_days() {
        let days = [None, None, Some("operational"), Some("major_outage")];
        assert_eq!(
            bar_style(&days),
            "--b:linear-gradient(90deg,var(--n) 0 50%,var(--o) 0 75%,var(--m) 0 100%);\
             --x:linear-gradient(90deg,#0000 75%,var(--bg) 0 100%,#0000 0)"
        );
        let steady = [Some("operational"); 90];
        assert_eq!(
            bar_style(&steady),
            "--b:linear-gradient(90deg,var(--o) 0 100%)"
        );
    }

    #[test]
    fn a_link_title_opens_no_heading_for_the_postmortem_filter() {
        // A title spelling a heading's start once made the filter cut a postmortem from inside
        // the attribute to a real heading's end, and the quotes that followed reopened it.
        let md = "[x](https://a.example \"<h2 \")\n\n## A\n\n## B\n\n\"onmouseover=\"alert(1)\"";
        let html = postmortem(&crate::incident::markdown::to_safe_html(md));
        assert!(html.contains(r#"title="&lt;h2 " rel="#), "{html}");
    }

    #[test]
    fn when_prints_what_strftime_prints() {
        let zones = [
            chrono_tz::UTC,
            chrono_tz::Europe::Paris,
            chrono_tz::America::Sao_Paulo,
            chrono_tz::Asia::Kolkata,
            chrono_tz::Australia::Lord_Howe,
            chrono_tz::Pacific::Chatham,
        ];
        let agrees_everywhere = |t: DateTime<Utc>| {
            for zone in zones {
                let strftime = t
                    .with_timezone(&zone)
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string();
                assert_eq!(when(t, zone), strftime);
            }
        };
        for edge in ["9999-12-31T23:30:00Z", "0000-01-01T00:10:00Z"] {
            agrees_everywhere(
                DateTime::parse_from_rfc3339(edge)
                    .unwrap()
                    .with_timezone(&Utc),
            );
        }
        let mut t = DateTime::parse_from_rfc3339("1969-12-31T23:59:59Z")
            .unwrap()
            .with_timezone(&Utc);
        for _ in 0..400 {
            agrees_everywhere(t);
            t += chrono::Duration::seconds(7_919_993);
        }
    }

    #[test]
    fn postmortem_headings_nest_under_the_page_and_empty_ones_go() {
        let html = "<p>Intro</p>\n<h2>What happened</h2>\n<p>Disk full.</p>\n<h2>Root cause</h2>\n<h2>What we changed</h2>\n<h3 id=\"a\">Alerts</h3>\n<ul><li>More</li></ul>\n<h2>Follow-up</h2>\n";
        assert_eq!(
            postmortem(html),
            "<p>Intro</p>\n<h4>What happened</h4>\n<p>Disk full.</p>\n\n<h4>What we changed</h4>\n<h5 id=\"a\">Alerts</h5>\n<ul><li>More</li></ul>\n\n"
        );
        assert_eq!(postmortem("<p>No headings</p>"), "<p>No headings</p>");
    }

    #[test]
    fn public_details_are_short_and_keep_no_os_error_codes() {
        assert_eq!(
            short_detail("Cannot connect: Connection refused (os error 111)."),
            "Connection refused."
        );
        assert_eq!(short_detail("Timed out after 3 s."), "Timed out.");
        assert_eq!(short_detail("HTTP 503 (want 200)."), "HTTP 503 (want 200).");
        assert_eq!(short_detail("Broken pipe (os error 32)."), "Broken pipe.");
        let long = "word ".repeat(40);
        let short = short_detail(&long);
        assert!(
            short.ends_with('…') && short.chars().count() <= 80,
            "{short}"
        );
    }
}
