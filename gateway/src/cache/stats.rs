//! Hits, misses and evictions per subgraph, type and level, exposed on `/metrics` in the
//! Prometheus text format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use dashmap::DashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    HitL1,
    HitL2,
    Miss,
    Eviction,
}

#[derive(Debug, Default)]
pub struct Stats {
    counters: DashMap<(String, String, Outcome), AtomicU64>,
}

impl Stats {
    pub fn count(&self, subgraph: &str, type_name: &str, outcome: Outcome) {
        let key = (subgraph.to_string(), type_name.to_string(), outcome);
        if let Some(counter) = self.counters.get(&key) {
            counter.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.counters
            .entry(key)
            .or_default()
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self, subgraph: &str, type_name: &str, outcome: Outcome) -> u64 {
        self.counters
            .get(&(subgraph.to_string(), type_name.to_string(), outcome))
            .map(|c| c.load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// Prometheus text format, sorted for stable output.
    pub fn render(&self, out: &mut String) {
        let mut rows: Vec<((String, String, Outcome), u64)> = self
            .counters
            .iter()
            .map(|e| (e.key().clone(), e.value().load(Ordering::Relaxed)))
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
