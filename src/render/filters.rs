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

/// `2026-11-02 15:05 CET`: minutes, in `zone`, with the zone's abbreviation.
pub fn when(t: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    t.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
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

/// An inline SVG of daily p50/p95/p99 latency; days without samples leave gaps.
pub fn latency_chart(days: &[(String, Percentiles)]) -> String {
    let (w, h, pad) = (720.0_f64, 180.0_f64, 28.0_f64);
    let max = days
        .iter()
        .filter_map(|(_, p)| p.p99)
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let n = days.len().max(2) as f64;
    let x = |i: usize| pad + (i as f64) * (w - 2.0 * pad) / (n - 1.0);
    let y = |v: f64| h - pad - v / max * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"lc-t\" class=\"chart\"><title id=\"lc-t\">Daily latency, p50, p95 and p99, last {} days; highest p99 {max:.0} ms</title>",
        days.len()
    );
    svg.push_str(&format!(
        "<line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"axis\"/><text x=\"2\" y=\"{t}\" class=\"lbl\">{max:.0} ms</text><text x=\"2\" y=\"{b}\" class=\"lbl\">0</text>",
        b = h - pad,
        r = w - pad,
        t = pad + 4.0
    ));
    for (name, pick) in [("p50", 0usize), ("p95", 1), ("p99", 2)] {
        let mut path = String::new();
        let mut pen_down = false;
        for (i, (_, p)) in days.iter().enumerate() {
            let v = match pick {
                0 => p.p50,
                1 => p.p95,
                _ => p.p99,
            };
            match v {
                Some(v) => {
                    path.push_str(&format!(
                        "{}{:.1},{:.1} ",
                        if pen_down { "L" } else { "M" },
                        x(i),
                        y(v)
                    ));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        if !path.is_empty() {
            svg.push_str(&format!(
                "<path d=\"{}\" class=\"{name}\"/>",
                path.trim_end()
            ));
        }
    }
    svg.push_str("</svg>");
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
}
