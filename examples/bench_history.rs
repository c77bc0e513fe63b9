//! Writes a synthetic history store: a year of one-minute runs over N components, in the real
//! on-disk format (daily rollups for the year, raw observations for the retention window, the
//! memory file), so `upstate build` can be timed on it and its bytes counted.
//! Usage: cargo run --release --example bench_history -- DIR COMPONENTS RAW_DAYS
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use upstate::history::ComponentMemory;
use upstate::history::rollup::{DayRollup, Segment};
use upstate::state::ComponentState;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = std::path::PathBuf::from(&args[1]);
    let n: usize = args[2].parse().unwrap();
    let raw_days: i64 = args[3].parse().unwrap();
    let ids: Vec<String> = (0..n).map(|i| format!("svc-{i:04}")).collect();
    let now = Utc::now();
    let mut seed: u64 = 7;
    let mut rand = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    std::fs::create_dir_all(dir.join("daily")).unwrap();
    for back in 0..365 {
        let day = (now - Duration::days(back)).date_naive();
        let mut components = BTreeMap::new();
        for id in &ids {
            let mut r = DayRollup::default();
            let down = if rand() < 0.02 {
                60.0 * (1.0 + rand() * 30.0).floor()
            } else {
                0.0
            };
            r.seconds.add(ComponentState::Operational, 86_400.0 - down);
            r.seconds.add(ComponentState::MajorOutage, down);
            r.checks = 1440;
            r.failures = (down / 60.0) as u64;
            for _ in 0..1440 {
                r.latency.add(5.0 + (-rand().max(1e-9).ln()) * 40.0);
            }
            r.worst_seen = Some(if down > 0.0 {
                ComponentState::MajorOutage
            } else {
                ComponentState::Operational
            });
            components.insert(id.clone(), r);
        }
        let doc = serde_json::json!({"version": 1, "components": components});
        std::fs::write(
            dir.join(format!("daily/{}.json", day.format("%Y-%m-%d"))),
            serde_json::to_vec(&doc).unwrap(),
        )
        .unwrap();
    }
    for back in 0..raw_days {
        for minute in 0..1440 {
            let at = now - Duration::days(back) - Duration::minutes(minute);
            let observations: Vec<_> = ids
                .iter()
                .map(|id| {
                    let ms = (5.0 + rand() * 40.0) as u64;
                    serde_json::json!({"component": id, "at": at, "health": "up", "latency_ms": ms, "detail": format!("HTTP 200 in {ms} ms"), "state": "operational"})
                })
                .collect();
            let key = dir.join(format!(
                "raw/{}/{}.json.gz",
                at.format("%Y-%m-%d"),
                at.format("%H%M%S%.6fZ")
            ));
            std::fs::create_dir_all(key.parent().unwrap()).unwrap();
            // The same encoding `History::record` writes: gzip-compressed JSON.
            let json = serde_json::to_vec(
                &serde_json::json!({"version": 1, "at": at, "observations": observations}),
            )
            .unwrap();
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut gz, &json).unwrap();
            std::fs::write(key, gz.finish().unwrap()).unwrap();
        }
    }
    let mut memory = BTreeMap::new();
    for id in &ids {
        let m = ComponentMemory {
            last_at: Some(now),
            last_state: Some(ComponentState::Operational),
            last_detail: "HTTP 200 in 12 ms".to_owned(),
            last_latency_ms: Some(12),
            timeline: vec![Segment {
                from: now - Duration::days(7),
                to: now,
                state: ComponentState::Operational,
            }],
            ..ComponentMemory::default()
        };
        memory.insert(id.clone(), m);
    }
    std::fs::write(
        dir.join("memory.json"),
        serde_json::to_vec(&serde_json::json!({"version": 1, "components": memory})).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("FORMAT"),
        r#"{"format":"upstate-history","version":1}"#,
    )
    .unwrap();
}
