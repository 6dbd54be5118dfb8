//! Hits, misses and evictions per subgraph, type and level, exposed on `/metrics` in the
//! Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    HitL1,
    HitL2,
    /// A stale entry served (stale-while-revalidate, stale-if-error).
    Stale,
    Miss,
    Eviction,
}

/// Counters by a hash of (subgraph, type, outcome), so counting on the hot path allocates
/// nothing; each counter keeps its labels for rendering.
#[derive(Debug, Default)]
pub struct Stats {
    counters: DashMap<u64, Counter, ahash::RandomState>,
}

#[derive(Debug)]
struct Counter {
    subgraph: String,
    type_name: String,
    outcome: Outcome,
    value: AtomicU64,
}

fn counter_id(subgraph: &str, type_name: &str, outcome: Outcome) -> u64 {
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    for part in [subgraph, type_name] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.update(&[outcome as u8]);
    hasher.digest()
}

impl Stats {
    pub fn count(&self, subgraph: &str, type_name: &str, outcome: Outcome) {
        let id = counter_id(subgraph, type_name, outcome);
        if let Some(counter) = self.counters.get(&id) {
            counter.value.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.counters
            .entry(id)
            .or_insert_with(|| Counter {
                subgraph: subgraph.to_string(),
                type_name: type_name.to_string(),
                outcome,
                value: AtomicU64::new(0),
            })
            .value
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, subgraph: &str, type_name: &str, outcome: Outcome) -> u64 {
        self.counters
            .get(&counter_id(subgraph, type_name, outcome))
            .map(|c| c.value.load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// Prometheus text format, sorted for stable output.
    pub fn render(&self, out: &mut String) {
        let mut rows: Vec<((String, String, Outcome), u64)> = self
            .counters
            .iter()
            .map(|c| {
                (
                    (c.subgraph.clone(), c.type_name.clone(), c.outcome),
                    c.value.load(Ordering::Relaxed),
                )
            })
            .collect();
        rows.sort();
        let _ = writeln!(
            out,
            "# HELP gateway_cache_requests_total Cache lookups by subgraph, type and result."
        );
        let _ = writeln!(out, "# TYPE gateway_cache_requests_total counter");
        for ((subgraph, ty, outcome), value) in rows.iter().filter(|r| r.0.2 != Outcome::Eviction) {
            let result = match outcome {
                Outcome::HitL1 => "hit_l1",
                Outcome::HitL2 => "hit_l2",
                Outcome::Stale => "stale",
                _ => "miss",
            };
            let _ = writeln!(
                out,
                "gateway_cache_requests_total{{subgraph=\"{subgraph}\",type=\"{ty}\",result=\"{result}\"}} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP gateway_cache_invalidations_total Invalidations received by subgraph and type."
        );
        let _ = writeln!(out, "# TYPE gateway_cache_invalidations_total counter");
        for ((subgraph, ty, _), value) in rows.iter().filter(|r| r.0.2 == Outcome::Eviction) {
            let _ = writeln!(
                out,
                "gateway_cache_invalidations_total{{subgraph=\"{subgraph}\",type=\"{ty}\"}} {value}"
            );
        }
    }
}
