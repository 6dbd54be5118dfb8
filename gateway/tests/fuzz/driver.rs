//! The fuzz loop: inputs `start..start + inputs` of one seed, each generated, run and
//! recorded; panicking inputs shrunk; progress printed; a watchdog that names the input and
//! exits when one runs far over the bound (a hang cannot be caught in-thread).

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Config;
use super::case::{self, Target};
use super::harness::{self, Stats, Verdict};
use super::minimize::minimize;
use super::schema_view::SchemaView;

/// Inputs are shrunk with at most this many tries each.
const MINIMIZE_BUDGET: usize = 2_000;
/// Distinct failures shrunk per run (each costs up to the budget).
const SHRINK_MAX: usize = 10;

type SameFailure = Box<dyn Fn(&Verdict) -> bool>;

/// Panics, and valid inputs the planner refused: what happened, and how to tell that a
/// smaller input still does it.
fn worth_shrinking(case: &case::Case, verdict: &Verdict) -> Option<(String, SameFailure)> {
    match verdict {
        Verdict::Panicked(report) => {
            let location = report.location.clone();
            Some((
                format!("panicked at {}: {}", report.location, report.message),
                Box::new(move |v| matches!(v, Verdict::Panicked(r) if r.location == location)),
            ))
        }
        Verdict::Rejected { code, message }
            if case.kind == case::Kind::Valid && code == "QUERY_PLANNING_FAILED" =>
        {
            let wanted = message.clone();
            Some((
                format!("(valid) was not planned: {message}"),
                Box::new(
                    move |v| matches!(v, Verdict::Rejected { message, .. } if *message == wanted),
                ),
            ))
        }
        _ => None,
    }
}

pub fn run(config: &Config, progress_file: Option<&File>) -> Stats {
    let mut targets = case::targets();
    // The schemas outlive the views over them, which the generator reads.
    let supergraphs: Vec<_> = targets.iter().map(|t| t.supergraph.clone()).collect();
    let views: Vec<SchemaView> = supergraphs
        .iter()
        .map(|s| SchemaView::new(s.api_schema()))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut stats = Stats::new(config.seed, config.bound, config.findings_dir.clone());
    let watchdog = Watchdog::start(config);
    let started = Instant::now();
    let mut last_progress = Instant::now();
    let mut shrunk: Vec<String> = Vec::new();
    for index in config.start..config.start + config.inputs {
        let case = case::generate(config.seed, index, &views, &config.settings);
        if let Some(file) = progress_file {
            // Read back by the supervisor when this process dies.
            let _ = file.write_at(&index.to_le_bytes(), 0);
        }
        watchdog.begin(index);
        let target = &mut targets[case.target];
        let outcome = harness::run(target, &runtime, &case);
        watchdog.end();
        stats.record(target, &case, &outcome);
        if let Verdict::Panicked(_) = &outcome.verdict {
            target.reset();
        }
        if let Some((what, same_failure)) = worth_shrinking(&case, &outcome.verdict)
            && shrunk.len() < SHRINK_MAX
            && !shrunk.contains(&what)
        {
            // One of each: the same failure again teaches nothing new.
            shrunk.push(what.clone());
            let small = minimize(target, &runtime, &case, &*same_failure, MINIMIZE_BUDGET);
            println!(
                "input #{index} {what}\n  shrunk to: {}",
                harness::short(&small, 2_000)
            );
            let path = config
                .findings_dir
                .join(format!("seed{}-input{index}.min.graphql", config.seed));
            let header = harness::regression_header(target, &case, &what);
            let _ = std::fs::create_dir_all(&config.findings_dir);
            let _ = std::fs::write(path, format!("{header}{small}\n"));
        }
        if last_progress.elapsed() > Duration::from_secs(30) {
            last_progress = Instant::now();
            let done = index + 1 - config.start;
            println!(
                "fuzz_plan: {done} inputs, {:.0}/s, {} panics, {} over time, slowest {:?}",
                done as f64 / started.elapsed().as_secs_f64(),
                stats.panics.len(),
                stats.over_time.len(),
                stats.slowest.first().map(|s| s.0).unwrap_or_default()
            );
        }
    }
    if let Some(file) = progress_file {
        // Finished: a failure from here on is not an input's.
        let _ = file.write_at(&u64::MAX.to_le_bytes(), 0);
    }
    stats
}

/// Runs only input `index`, printing it and what the gateway made of it; panics are not
/// caught, so they print with a backtrace (`RUST_BACKTRACE=1`).
pub fn reproduce(config: &Config, index: u64) {
    let targets = case::targets();
    let views: Vec<SchemaView> = targets
        .iter()
        .map(|t| SchemaView::new(t.supergraph.api_schema()))
        .collect();
    let case = case::generate(config.seed, index, &views, &config.settings);
    let target: &Target = &targets[case.target];
    let text = case.request.query.as_deref().unwrap_or_default();
    println!(
        "{}{}",
        harness::regression_header(target, &case, "(reproducing)"),
        harness::short(text, 20_000)
    );
    let _ = std::fs::create_dir_all(&config.findings_dir);
    let path = config
        .findings_dir
        .join(format!("seed{}-input{index}.graphql", config.seed));
    let _ = std::fs::write(&path, text);
    println!("(full text in {})", path.display());
    let start = Instant::now();
    let planned = target.gateway.plan(&case.request);
    println!("planning took {:?}", start.elapsed());
    match planned {
        Ok(planned) => println!("plan:\n{}", planned.plan),
        Err(errors) => println!(
            "rejected: {}",
            serde_json::to_string_pretty(&errors).unwrap_or_default()
        ),
    }
}

/// Exits the process, naming the input, when one input runs over `hard_limit`.
struct Watchdog {
    current: Arc<Mutex<Option<(u64, Instant)>>>,
}

impl Watchdog {
    fn start(config: &Config) -> Self {
        let current: Arc<Mutex<Option<(u64, Instant)>>> = Arc::default();
        let hard_limit = (config.bound * 20).max(Duration::from_secs(30));
        let watched = current.clone();
        let (seed, shown) = (config.seed, config.bound);
        std::thread::spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let running = *watched.lock().expect("watchdog lock");
                if let Some((index, since)) = running
                    && since.elapsed() > hard_limit
                {
                    println!(
                        "fuzz_plan: input #{index} still running after {:?} (bound {shown:?}); \
                         reproduce with FUZZ_SEED={seed} FUZZ_INDEX={index}",
                        since.elapsed()
                    );
                    std::process::exit(3);
                }
            }
        });
        Self { current }
    }

    fn begin(&self, index: u64) {
        *self.current.lock().expect("watchdog lock") = Some((index, Instant::now()));
    }

    fn end(&self) {
        *self.current.lock().expect("watchdog lock") = None;
    }
}
