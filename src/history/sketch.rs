//! A mergeable latency sketch with a guaranteed relative error (the DDSketch idea).
//!
//! Each latency `x` falls in bucket `ceil(log_γ x)` with `γ = (1 + α) / (1 − α)`; any quantile is
//! then answered within relative error `α` of the exact value, and two sketches merge by adding
//! bucket counts, so 90 daily sketches give the same 90-day percentiles as one sketch fed every
//! sample. α is 1 %. Sparse buckets keep a day of one component to a few hundred bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Relative accuracy of every quantile.
pub const RELATIVE_ERROR: f64 = 0.01;

fn gamma() -> f64 {
    (1.0 + RELATIVE_ERROR) / (1.0 - RELATIVE_ERROR)
}

/// Latency samples in milliseconds, bucketed.
///
/// On disk it is `{"o": first index, "c": [counts from there on], "z": zero samples}`: latencies
/// fill a contiguous run of buckets, so a dense array is about a third of the size of a map.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Dense", into = "Dense")]
pub struct Sketch {
    /// Bucket index => count. Index `i` holds values in `(γ^(i−1), γ^i]`.
    bins: BTreeMap<i32, u64>,
    /// Samples of 0 ms (a log has no bucket for them).
    zeros: u64,
}

/// The on-disk form of a [`Sketch`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Dense {
    #[serde(default, rename = "o")]
    offset: i32,
    #[serde(default, rename = "c", skip_serializing_if = "Vec::is_empty")]
    counts: Vec<u64>,
    #[serde(default, rename = "z", skip_serializing_if = "is_zero")]
    zeros: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl From<Sketch> for Dense {
    fn from(s: Sketch) -> Self {
        let (Some((&first, _)), Some((&last, _))) =
            (s.bins.first_key_value(), s.bins.last_key_value())
        else {
            return Dense {
                offset: 0,
                counts: Vec::new(),
                zeros: s.zeros,
            };
        };
        let counts = (first..=last)
            .map(|i| s.bins.get(&i).copied().unwrap_or(0))
            .collect();
        Dense {
            offset: first,
            counts,
            zeros: s.zeros,
        }
    }
}

impl From<Dense> for Sketch {
    fn from(d: Dense) -> Self {
        let bins = d
            .counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, c)| {
                (
                    d.offset
                        .saturating_add(i32::try_from(i).unwrap_or(i32::MAX)),
                    *c,
                )
            })
            .collect();
        Sketch {
            bins,
            zeros: d.zeros,
        }
    }
}

impl Sketch {
    /// Adds one sample.
    pub fn add(&mut self, ms: f64) {
        if !(ms.is_finite()) || ms <= 0.0 {
            self.zeros += 1;
            return;
        }
        let index = (ms.ln() / gamma().ln()).ceil() as i32;
        *self.bins.entry(index).or_default() += 1;
    }

    /// Adds every sample of `other`.
    pub fn merge(&mut self, other: &Sketch) {
        self.zeros += other.zeros;
        for (index, count) in &other.bins {
            *self.bins.entry(*index).or_default() += count;
        }
    }

    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.zeros + self.bins.values().sum::<u64>()
    }

    /// The `q`-quantile (0..=1), within [`RELATIVE_ERROR`]; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        // The rank of the q-quantile among `total` sorted samples (0-based, nearest-rank).
        let rank = (q.clamp(0.0, 1.0) * (total - 1) as f64).round() as u64;
        if rank < self.zeros {
            return Some(0.0);
        }
        let mut seen = self.zeros;
        for (index, count) in &self.bins {
            seen += count;
            if seen > rank {
                // The bucket's representative value minimises the worst relative error.
                let g = gamma();
                return Some(2.0 * g.powi(*index) / (1.0 + g));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(sorted: &[f64], q: f64) -> f64 {
        let rank = (q * (sorted.len() - 1) as f64).round() as usize;
        sorted[rank]
    }

    #[test]
    fn merged_daily_sketches_match_exact_percentiles() {
        // 90 days of generated latencies with different shapes per day.
        let mut all = Vec::new();
        let mut merged = Sketch::default();
        let mut seed: u64 = 42;
        for day in 0..90u64 {
            let mut daily = Sketch::default();
            for _ in 0..500 {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (seed >> 11) as f64 / (1u64 << 53) as f64;
                let ms = 5.0 + (day % 7) as f64 * 3.0 + (-u.max(1e-9).ln()) * 40.0;
                daily.add(ms);
                all.push(ms);
            }
            merged.merge(&daily);
        }
        all.sort_by(f64::total_cmp);
        for q in [0.5, 0.95, 0.99] {
            let want = exact(&all, q);
            let got = merged.quantile(q).unwrap();
            let error = (got - want).abs() / want;
            assert!(
                error <= RELATIVE_ERROR,
                "q{q}: got {got}, exact {want}, error {error}"
            );
        }
        assert_eq!(merged.count(), 90 * 500);
    }

    #[test]
    fn round_trips_through_its_dense_form() {
        let mut s = Sketch::default();
        for ms in [0.0, 1.0, 12.0, 12.5, 300.0, 30_000.0] {
            s.add(ms);
        }
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with("{\"o\":"), "{json}");
        let back: Sketch = serde_json::from_str(&json).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn zeros_and_empty() {
        let mut s = Sketch::default();
        assert_eq!(s.quantile(0.5), None);
        s.add(0.0);
        s.add(0.0);
        s.add(10.0);
        assert_eq!(s.quantile(0.0), Some(0.0));
        assert!((s.quantile(1.0).unwrap() - 10.0).abs() / 10.0 <= RELATIVE_ERROR);
    }
}
