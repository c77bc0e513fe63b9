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
