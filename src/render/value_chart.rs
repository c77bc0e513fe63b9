//! The component page's chart of the kind's main measured value (queue depth, consumer lag,
//! loss %, a query's number): daily lowest, mean and highest, so a threshold's history can be
//! seen beside the latency chart. Days without a value leave gaps; the scale holds negative
//! values too (a PromQL expression can be below zero).

use crate::model::ValueDay;
use crate::probe::thresholds::number;

/// An inline SVG of the daily values; `None` when no day has one (nothing to draw).
#[allow(clippy::cast_precision_loss)] // at most a few hundred days
pub fn value_chart(
    days: &[(chrono::NaiveDate, Option<ValueDay>)],
    measure: &str,
) -> Option<String> {
    let values = days.iter().filter_map(|(_, v)| v.as_ref());
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v.min), hi.max(v.max))
    });
    if !low.is_finite() || !high.is_finite() {
        return None;
    }
    // A flat line still needs a scale; zero stays on it when every value is positive.
    let low = low.min(0.0);
    let high = if high > low { high } else { low + 1.0 };
    let (w, h, pad) = (720.0_f64, 180.0_f64, 28.0_f64);
    let n = days.len().max(2) as f64;
    let x = |i: usize| pad + (i as f64) * (w - 2.0 * pad) / (n - 1.0);
    let y = |v: f64| h - pad - (v - low) / (high - low) * (h - 2.0 * pad);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"vc-t\" class=\"chart\"><title id=\"vc-t\">Daily {measure}, lowest, mean and highest, last {} days; highest {}</title>",
        days.len(),
        number(high)
    );
    svg.push_str(&format!(
        "<line x1=\"{pad}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\" class=\"axis\"/><text x=\"2\" y=\"{t}\" class=\"lbl\">{}</text><text x=\"2\" y=\"{b}\" class=\"lbl\">{}</text>",
        number(high),
        number(low),
        b = h - pad,
        r = w - pad,
        t = pad + 4.0
    ));
    // The latency chart's line styles: mean solid, lowest and highest lighter and dashed.
    for (class, pick) in [("p50", 0usize), ("p95", 1), ("p99", 2)] {
        let mut path = String::new();
        let mut pen_down = false;
        for (i, (_, day)) in days.iter().enumerate() {
            let Some(day) = day else {
                pen_down = false;
                continue;
            };
            let v = match pick {
                0 => day.mean,
                1 => day.min,
                _ => day.max,
            };
            path.push_str(&format!(
                "{}{:.1},{:.1} ",
                if pen_down { "L" } else { "M" },
                x(i),
                y(v)
            ));
            pen_down = true;
        }
        if !path.is_empty() {
            svg.push_str(&format!(
                "<path d=\"{}\" class=\"{class}\"/>",
                path.trim_end()
            ));
        }
    }
    svg.push_str("</svg>");
    Some(svg)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn d(day: u32) -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 1, day).unwrap()
    }

    fn day(min: f64, mean: f64, max: f64) -> Option<ValueDay> {
        Some(ValueDay {
            min,
            mean,
            max,
            samples: 3,
        })
    }

    #[test]
    fn no_value_on_any_day_draws_nothing() {
        let days = vec![(d(1), None), (d(2), None)];
        assert_eq!(value_chart(&days, "queue depth"), None);
    }

    #[test]
    fn a_gap_day_breaks_the_line_and_the_scale_shows_the_highest() {
        let days = vec![
            (d(1), day(1.0, 2.0, 4.0)),
            (d(2), None),
            (d(3), day(0.0, 10.0, 40.0)),
        ];
        let svg = value_chart(&days, "queue depth").unwrap();
        assert!(
            svg.contains("Daily queue depth, lowest, mean and highest, last 3 days; highest 40"),
            "{svg}"
        );
        // Two pen-downs per line: the gap day lifts the pen.
        let mean = svg.split("class=\"p50\"").next().unwrap();
        assert_eq!(
            mean.rsplit("<path d=\"")
                .next()
                .unwrap()
                .matches('M')
                .count(),
            2,
            "{svg}"
        );
    }

    #[test]
    fn negative_values_stay_on_the_scale() {
        let days = vec![(d(1), day(-5.0, -1.0, 2.0))];
        let svg = value_chart(&days, "query value").unwrap();
        assert!(svg.contains(">-5</text>"), "{svg}");
    }
}
