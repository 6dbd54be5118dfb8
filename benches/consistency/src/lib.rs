//! The cache's consistency checker. Two gateway instances share one Redis; writers change two
//! values, through gateway A and straight at the owning services (which publish change
//! events); readers on both instances record every read with its time. Phase by phase, with a
//! fault injected in each, [`history`] turns the records into what a client would have seen:
//! read-your-writes violations on A (must be 0) and how stale B's reads were (must stay under
//! the bound docs/cache.md states).
//!
//! The two values cover both cached paths: a product's price is a root-field answer of the
//! products service (`product(upc:)`), a user's name an entity answer of the accounts service
//! (`_entities` behind `topReviews { author { name } }`).

pub mod history;
mod world;

use std::time::Duration;

use gateway::cache::Mode;
use serde::Serialize;

pub use history::{Distribution, Verdict};
use world::World;

/// How long and how hard the checker runs, and the cache settings it checks.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Each phase: its fault, then recovery.
    pub phase_ms: u64,
    /// How long a partition (and the trim and recreate faults, made behind one) lasts.
    pub partition_ms: u64,
    /// How long Redis stays down after it is killed.
    pub redis_down_ms: u64,
    pub disconnected_max_age_ms: u64,
    pub stream_liveness_ms: u64,
    /// `ttl` mode's lifetime.
    pub ttl_seconds: u64,
    /// Pause between two writes of one value.
    pub write_every_ms: u64,
    /// Pause between two reads of one reader.
    pub read_every_ms: u64,
}

impl Plan {
    /// The form the test command runs (about 30 s): short phases and tight bounds.
    pub fn short() -> Self {
        Self {
            phase_ms: 3_000,
            partition_ms: 1_800,
            redis_down_ms: 800,
            disconnected_max_age_ms: 1_000,
            stream_liveness_ms: 600,
            ttl_seconds: 1,
            write_every_ms: 40,
            read_every_ms: 5,
        }
    }

    /// The full run (about 3 minutes), with the defaults of a production config: partitions
    /// longer than the bound.
    pub fn full() -> Self {
        Self {
            phase_ms: 20_000,
            partition_ms: 12_000,
            redis_down_ms: 3_000,
            disconnected_max_age_ms: 5_000,
            stream_liveness_ms: 3_000,
            ttl_seconds: 5,
            write_every_ms: 25,
            read_every_ms: 2,
        }
    }

    /// The most an `events` entry may be stale by (docs/cache.md, "When Redis goes away").
    pub fn events_bound_ms(&self) -> u64 {
        self.disconnected_max_age_ms + self.stream_liveness_ms
    }

    /// The most a `ttl` entry may be stale by, whatever happens to events.
    pub fn ttl_bound_ms(&self) -> u64 {
        self.ttl_seconds * 1_000
    }
}

/// What happens during a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Fault {
    /// Nothing: the steady state.
    None,
    /// Redis is killed (SIGKILL) and started again empty: the events published meanwhile are
    /// lost, and so is the stream.
    RedisRestart,
    /// B's link to Redis passes nothing, without closing, then heals.
    Partition,
    /// While B is partitioned, the stream is trimmed past everything B read.
    Trim,
    /// While B is partitioned, the stream is deleted (and created again by the next event).
    Recreate,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::None => "steady",
            Fault::RedisRestart => "redis SIGKILL + restart",
            Fault::Partition => "B partitioned from redis",
            Fault::Trim => "stream trimmed past B",
            Fault::Recreate => "stream recreated",
        }
    }
}

/// One phase's verdicts.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    pub mode: &'static str,
    pub fault: Fault,
    pub bound_ms: u64,
    /// The product's price: a root-field answer.
    pub root_field: Verdict,
    /// The user's name: an entity answer.
    pub entity: Verdict,
}

impl PhaseReport {
    /// Whether the cache kept its promise in this phase.
    pub fn holds(&self) -> bool {
        [&self.root_field, &self.entity].iter().all(|v| {
            v.read_your_writes_violations == 0
                && v.failed_reads == 0
                && v.staleness_b.max <= self.bound_ms as f64
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub plan: Plan,
    pub phases: Vec<PhaseReport>,
}

impl Report {
    pub fn holds(&self) -> bool {
        self.phases.iter().all(PhaseReport::holds)
    }

    /// A table for people.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| mode | fault | value | writes | reads on B | stale reads on B | staleness p50 / p99 / max (ms) | visibility lag p50 / p99 / max (ms) | bound (ms) | read-your-writes violations | failed reads |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for phase in &self.phases {
            for (value, verdict) in [("root field", &phase.root_field), ("entity", &phase.entity)] {
                let s = verdict.staleness_b;
                let l = verdict.visibility_lag_b;
                out.push_str(&format!(
                    "| {} | {} | {value} | {} | {} | {} | {:.1} / {:.1} / {:.1} | {:.1} / {:.1} / {:.1} | {} | {} | {} |\n",
                    phase.mode,
                    phase.fault.name(),
                    verdict.writes,
                    verdict.reads_b,
                    verdict.stale_reads_b,
                    s.p50,
                    s.p99,
                    s.max,
                    l.p50,
                    l.p99,
                    l.max,
                    phase.bound_ms,
                    verdict.read_your_writes_violations,
                    verdict.failed_reads,
                ));
            }
        }
        out
    }
}

/// Runs the plan: `events` mode through every fault, then `ttl` mode steady and partitioned.
pub async fn run(plan: &Plan) -> Report {
    let mut phases = Vec::new();
    let events = [
        Fault::None,
        Fault::RedisRestart,
        Fault::Partition,
        Fault::Trim,
        Fault::Recreate,
    ];
    phases.extend(run_mode(plan, Mode::Events, &events, plan.events_bound_ms()).await);
    let ttl = [Fault::None, Fault::Partition];
    phases.extend(run_mode(plan, Mode::Ttl, &ttl, plan.ttl_bound_ms()).await);
    Report {
        plan: plan.clone(),
        phases,
    }
}

async fn run_mode(plan: &Plan, mode: Mode, faults: &[Fault], bound_ms: u64) -> Vec<PhaseReport> {
    let mut world = World::start(plan, mode).await;
    let traffic = world.traffic(plan);
    // Warm both instances before the first phase counts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut windows = Vec::new();
    for fault in faults {
        let from = world.now_ms();
        world.inject(*fault, plan).await;
        let elapsed = world.now_ms() - from;
        tokio::time::sleep(Duration::from_millis(
            plan.phase_ms.saturating_sub(elapsed as u64),
        ))
        .await;
        windows.push((*fault, from, world.now_ms()));
    }
    let [price, name] = traffic.stop().await;
    windows
        .into_iter()
        .map(|(fault, from, to)| PhaseReport {
            mode: match mode {
                Mode::Ttl => "ttl",
                _ => "events",
            },
            fault,
            bound_ms,
            root_field: price.verdict(from, to),
            entity: name.verdict(from, to),
        })
        .collect()
}
