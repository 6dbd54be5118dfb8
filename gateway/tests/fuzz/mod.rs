//! A generator-based fuzzer for the request path from text to plan (issue #10, item 7).
//! See docs/fuzzing.md. One job per module:
//!
//! - [`schema_view`]: what the generators read from an API schema;
//! - [`values`]: input values (literals, variables JSON), right and wrong;
//! - [`generator`]: valid documents;
//! - [`mutator`]: near-valid ones (text and variables edits);
//! - [`hostile`]: expensive shapes;
//! - [`case`]: one input from (seed, index), over the demo and fixture supergraphs;
//! - [`chaos_fetcher`]: made-up subgraph answers for executing plans;
//! - [`driver`]: the loop over inputs, with a watchdog, and reproducing one input;
//! - [`fetch_check`]: checks that a plan's subgraph operations are valid GraphQL;
//! - [`harness`]: runs an input (panics caught, time measured) and keeps the report;
//! - [`minimize`]: shrinks a panicking input;
//! - [`supervisor`]: runs the fuzzer in a child process, so a crash still names its input.

pub mod case;
pub mod chaos_fetcher;
pub mod driver;
pub mod fetch_check;
pub mod generator;
pub mod harness;
pub mod hostile;
pub mod minimize;
pub mod mutator;
pub mod schema_view;
pub mod supervisor;
pub mod values;

use std::path::PathBuf;
use std::time::Duration;

use case::Settings;
use generator::Knobs;
use hostile::Shape;

/// The run, as the environment asks for it.
#[derive(Debug, Clone)]
pub struct Config {
    pub seed: u64,
    pub start: u64,
    pub inputs: u64,
    /// Run only this input, printing it (reproduction).
    pub only: Option<u64>,
    /// Inputs slower than this are findings.
    pub bound: Duration,
    pub settings: Settings,
    pub findings_dir: PathBuf,
    /// Also replay the regressions marked `# known:` (open bugs), with `FUZZ_KNOWN=1`.
    pub known_regressions: bool,
}

/// The seed when `FUZZ_SEED` is unset.
pub const DEFAULT_SEED: u64 = 0x5EED_F022;

impl Config {
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let number = |name: &str| {
            var(name).map(|v| {
                v.replace('_', "")
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}"))
            })
        };
        let seed = match var("FUZZ_SEED").as_deref() {
            None => DEFAULT_SEED,
            Some("random") => random_seed(),
            Some(_) => number("FUZZ_SEED").expect("seed"),
        };
        // Debug builds plan about 10× slower than release ones.
        let debug = cfg!(debug_assertions);
        let default_inputs = if debug { 800 } else { 20_000 };
        let default_bound_ms = if debug { 10_000 } else { 1_000 };
        Self {
            seed,
            start: number("FUZZ_START").unwrap_or(0),
            inputs: number("FUZZ_INPUTS").unwrap_or(default_inputs),
            only: number("FUZZ_INDEX"),
            bound: Duration::from_millis(number("FUZZ_TIME_BOUND_MS").unwrap_or(default_bound_ms)),
            settings: Settings {
                knobs: Knobs::default(),
                // The operation limits refuse the sizes that were once too slow, cheaply:
                // every run generates them. `FUZZ_SMALL=1` keeps to the small sizes.
                shape: Shape {
                    known_slow: var("FUZZ_SMALL").is_none_or(|v| v == "0"),
                },
                execute_share: var("FUZZ_EXECUTE_SHARE")
                    .map(|v| v.parse().expect("FUZZ_EXECUTE_SHARE is a number in 0..=1"))
                    .unwrap_or(0.25),
            },
            known_regressions: var("FUZZ_KNOWN").is_some_and(|v| v != "0"),
            findings_dir: var("FUZZ_FINDINGS").map(PathBuf::from).unwrap_or_else(|| {
                PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz-findings")
            }),
        }
    }
}

/// A seed that differs per run: the clock's nanoseconds mixed with the process id.
fn random_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    xxhash_rust::xxh3::xxh3_64(
        &[
            nanos.to_le_bytes(),
            u64::from(std::process::id()).to_le_bytes(),
        ]
        .concat(),
    )
}
