//! The hot inner pieces found in profiles of `upstate build` and `upstate check`:
//! config reading, the latency sketch, Markdown sanitising, and rendering a whole site.
//! `cargo bench` (divan); figures go to the README beside `scripts/bench.sh`'s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use divan::{Bencher, black_box};

fn main() {
    divan::main();
}

fn config_text(components: usize) -> String {
    let mut text =
        String::from("[site]\ntitle = \"Bench\"\nbase_url = \"https://status.bench\"\n\n");
    for i in 0..components {
        text.push_str(&format!(
            "[[component]]\nid = \"svc-{i}\"\nlabel = \"Service {i}\"\ngroup = \"G{}\"\nkind = \"http\"\nurl = \"http://127.0.0.1:9/ok\"\nlatency_target = \"200ms\"\nfail_after = 2\n\n",
            i % 10
        ));
    }
    text
}

#[divan::bench(args = [100, 1000, 10000])]
fn parse_config(bencher: Bencher, components: usize) {
    let text = config_text(components);
    bencher.bench(|| {
        upstate::config::Config::parse(black_box(&text), Path::new("bench.toml")).unwrap()
    });
}

#[divan::bench]
fn sketch_add_1440_samples(bencher: Bencher) {
    bencher.bench(|| {
        let mut s = upstate::history::sketch::Sketch::default();
        for i in 0..1440u32 {
            s.add(f64::from(i % 400) + 5.0);
        }
        s
    });
}

#[divan::bench]
fn sketch_merge_90_days_and_p99(bencher: Bencher) {
    let mut day = upstate::history::sketch::Sketch::default();
    for i in 0..1440u32 {
        day.add(f64::from(i % 400) + 5.0);
    }
    bencher.bench(|| {
        let mut all = upstate::history::sketch::Sketch::default();
        for _ in 0..90 {
            all.merge(black_box(&day));
        }
        all.quantile(0.99)
    });
}

#[divan::bench]
fn markdown_postmortem_to_safe_html(bencher: Bencher) {
    let md = "## What happened\nBetween 14:05 and 15:10 UTC about 8% of API requests failed with HTTP 503.\n\n## Root cause\nThe **connection pool** was exhausted after a deploy doubled the workers. <script>alert(1)</script>\n\n- Pool size scales with workers.\n- A probe alerts on pool wait > 100 ms.\n".repeat(3);
    bencher.bench(|| upstate::incident::markdown::to_safe_html(black_box(&md)));
}

/// One `[[component]]` with `keys` unknown keys (issue 15: 100k of them, a 1 MB file, took
/// 52.9 s when blanking the window asked every key range about every byte). The file is
/// invalid, so this measures the time to the errors, which is what an attacker controls.
fn config_with_unknown_keys(keys: usize) -> String {
    let mut text = String::from(
        "[site]\ntitle = \"Bench\"\nbase_url = \"https://status.bench\"\n\n[[component]]\nid = \"web\"\nlabel = \"Web\"\nkind = \"http\"\nurl = \"http://127.0.0.1:9/ok\"\n",
    );
    for i in 0..keys {
        text.push_str(&format!("unknown_{i} = 1\n"));
    }
    text
}

#[divan::bench(args = [1_000, 10_000, 100_000], sample_count = 3, sample_size = 1)]
fn parse_config_unknown_keys(bencher: Bencher, keys: usize) {
    let text = config_with_unknown_keys(keys);
    bencher.bench(|| {
        upstate::config::Config::parse(black_box(&text), Path::new("bench.toml")).unwrap_err()
    });
}

/// A postmortem as `scripts/gen_site.py` writes them (10,000 of these are a cold build's
/// loading): front matter with two updates, three short Markdown sections.
const INCIDENT_FILE: &str = "---
title: \"Upstream queue timeout cache #1044\"
severity: critical
status: resolved
components: [svc-0043, svc-0023, svc-0092]
discovered_at: 2024-01-01T17:13:00Z
resolved_at: 2024-01-01T19:04:00Z
updates:
  - at: 2024-01-01T17:13:00Z
    status: investigating
    message: Memory network backlog pool disk shard region memory timeout pool worker region pool deploy connection.
  - at: 2024-01-01T19:04:00Z
    status: resolved
    message: Upstream worker worker dns index shard worker network memory worker disk dns.
---

## What happened
Connection cache deploy queue cache certificate timeout backlog network worker replica backlog memory connection network backlog connection retry cache region timeout network shard replica queue worker worker backlog connection worker.

## Root cause
Disk database memory certificate connection index database backlog cache database cache certificate memory timeout timeout memory cache disk index timeout disk backlog connection worker retry queue cache network network region database shard replica memory certificate memory latency upstream database dns.

## What we changed
- Latency cache disk deploy deploy retry timeout timeout queue pool.
- Certificate certificate connection network queue retry retry cache worker dns.
";

#[divan::bench]
fn parse_incident_file(bencher: Bencher) {
    let known = ["svc-0043", "svc-0023", "svc-0092"];
    bencher.bench(|| {
        upstate::incident::parse(
            Path::new("incidents/2024-01-01-incident-1044.md"),
            black_box(INCIDENT_FILE),
            &known,
        )
        .unwrap()
    });
}

#[divan::bench]
fn markdown_update_message_to_safe_html(bencher: Bencher) {
    let md = "Memory network backlog pool disk shard region memory timeout pool worker region pool deploy connection.";
    bencher.bench(|| upstate::incident::markdown::to_safe_html(black_box(md)));
}

#[divan::bench]
fn markdown_incident_body_to_safe_html(bencher: Bencher) {
    let body = INCIDENT_FILE.split("---\n").nth(2).unwrap().trim();
    bencher.bench(|| upstate::incident::markdown::to_safe_html(black_box(body)));
}
